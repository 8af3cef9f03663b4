package handlers

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/views"
)

// stateChanging lists every POST that changes something in Extend, with a
// form that would otherwise succeed.
func stateChanging(runID string) map[string]url.Values {
	return map[string]url.Values{
		"runs/" + runID + "/rerun?ws=" + demoWS:  nil,
		"runs/" + runID + "/delete?ws=" + demoWS: {views.ConfirmField: {"1"}},
		"runs/new?ws=" + demoWS:                  {views.FieldInput: {views.InputURL}, views.FieldFileURL: {"https://example.com/a.pdf"}},
		"runs/new/detect?ws=" + demoWS:           {views.FieldInput: {views.InputURL}, views.FieldFileURL: {"https://example.com/a.pdf"}},
	}
}

func TestReadOnlyRefusesEveryChange(t *testing.T) {
	env := seededEnv(t, envOptions{identity: middleware.IdentityConfig{ReadOnly: true}})
	run := findRun(t, env, extendapi.StatusProcessed)
	for path, form := range stateChanging(run.ID) {
		if r := env.post(path, form); r.StatusCode != http.StatusForbidden || !strings.Contains(errorText(r), "read-only") {
			t.Errorf("POST %s in read-only mode: %d %s", path, r.StatusCode, errorText(r))
		}
	}
	if _, err := env.extend(demoKey, demoWS).GetEditRun(context.Background(), run.ID); err != nil {
		t.Fatal("the run was deleted in read-only mode")
	}
	d := env.get("runs/" + run.ID + "?ws=" + demoWS).doc(t)
	if testid(d, "action-rerun").Length()+testid(d, "action-delete").Length() != 0 || testid(d, "read-only-banner").Length() != 1 {
		t.Error("read-only page offers actions or lacks the banner")
	}
	// Looking is still allowed: download and reveal.
	if r := env.get("runs/" + run.ID + "/download?ws=" + demoWS); r.StatusCode != http.StatusFound {
		t.Errorf("download in read-only mode: %d", r.StatusCode)
	}
}

// proxyEnv trusts loopback as the SSO proxy, with roles from groups.
func proxyEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnv(t, envOptions{seed: true, identity: middleware.IdentityConfig{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		IdentityHeader: "X-Forwarded-Email", GroupsHeader: "X-Forwarded-Groups",
		AdminGroups: []string{"ops"}, ViewerGroups: []string{"audit"},
	}})
}

func TestViewerRoleRefusedAdminAllowed(t *testing.T) {
	env := proxyEnv(t)
	env.headers.Set("X-Forwarded-Email", "viewer@example.com")
	env.headers.Set("X-Forwarded-Groups", "audit")
	env.connect(demoKey, demoWS)
	run := findRun(t, env, extendapi.StatusProcessed)
	for path, form := range stateChanging(run.ID) {
		if r := env.post(path, form); r.StatusCode != http.StatusForbidden || !strings.Contains(errorText(r), "viewer") {
			t.Errorf("viewer POST %s: %d %s", path, r.StatusCode, errorText(r))
		}
	}
	d := env.get("runs/" + run.ID + "?ws=" + demoWS).doc(t)
	if testid(d, "action-rerun").Length() != 0 || testid(d, "user").First().Text() != "viewer@example.com" {
		t.Error("the viewer's page offers re-run or does not name the user")
	}
	// A viewer still reveals (looking), and it is audited under their name.
	secret := secretsOf(run)
	for field := range secret {
		if field == "instructions" {
			continue
		}
		r := env.post("runs/"+run.ID+"/reveal?ws="+demoWS, url.Values{views.ParamField: {revealValuePrefix + field}})
		if r.StatusCode != http.StatusSeeOther {
			t.Errorf("viewer reveal: %d", r.StatusCode)
		}
		break
	}

	// An admin of the same proxy acts. (Same cookie, other identity: the
	// session ends, so the admin connects anew.)
	env.headers.Set("X-Forwarded-Email", "admin@example.com")
	env.headers.Set("X-Forwarded-Groups", "ops")
	if r := env.get("runs?ws=" + demoWS); r.StatusCode != http.StatusForbidden {
		t.Errorf("another identity on the viewer's cookie reached the viewer's workspace: %d", r.StatusCode)
	}
	env.connect(demoKey, demoWS)
	if r := env.post("runs/"+run.ID+"/rerun?ws="+demoWS, nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("admin rerun: %d %s", r.StatusCode, errorText(r))
	}
	entries := testid(env.get("audit?action=reveal").doc(t), "audit-row")
	if entries.Length() != 1 || !strings.Contains(entries.Text(), "viewer@example.com") {
		t.Errorf("reveal audit rows: %q", entries.Text())
	}
	// Without the proxy's identity nothing is served.
	env.headers.Del("X-Forwarded-Email")
	if r := env.get("runs"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("request without identity: %d", r.StatusCode)
	}
	if r := env.get("healthz"); r.StatusCode != http.StatusOK {
		t.Errorf("health probe behind the proxy check: %d", r.StatusCode)
	}
}

func TestCrossSiteAndMissingTokenRefused(t *testing.T) {
	env := seededEnv(t, envOptions{})
	run := findRun(t, env, extendapi.StatusFailed)
	path := "runs/" + run.ID + "/delete?ws=" + demoWS
	form := func() url.Values { return url.Values{views.ConfirmField: {"1"}} }
	tests := []struct {
		name   string
		header http.Header
		token  string // "" sends none; "cookie" the real one
	}{
		{"cross-site fetch metadata", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, "cookie"},
		{"foreign origin", http.Header{"Origin": {"https://evil.example"}}, "cookie"},
		{"missing token", nil, ""},
		{"wrong token", nil, "not-the-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form()
			switch tt.token {
			case "cookie":
				f.Set(views.CSRFField, env.csrf())
			case "":
				f.Set(views.CSRFField, "")
			default:
				f.Set(views.CSRFField, tt.token)
			}
			if tt.token == "" {
				f.Del(views.CSRFField)
			}
			req, _ := http.NewRequest(http.MethodPost, env.url(path), strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header[k] = v
			}
			r := env.do(req)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403: %s", r.StatusCode, errorText(r))
			}
		})
	}
	if _, err := env.extend(demoKey, demoWS).GetEditRun(context.Background(), run.ID); err != nil {
		t.Fatal("a refused request deleted the run")
	}
	// A same-origin browser request passes on Sec-Fetch-Site alone.
	req, _ := http.NewRequest(http.MethodPost, env.url(path), strings.NewReader(form().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if r := env.do(req); r.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin delete: %d %s", r.StatusCode, errorText(r))
	}
}

func TestEverythingLivesUnderTheBasePath(t *testing.T) {
	env := seededEnv(t, envOptions{sandboxMode: true})
	run := findRun(t, env, extendapi.StatusProcessed)
	pages := []string{"connect", "runs?ws=" + demoWS, "runs/" + run.ID + "?ws=" + demoWS, "runs/new?ws=" + demoWS,
		"audit", "runs/edr_missing?ws=" + demoWS}
	for _, p := range pages {
		r := env.get(p)
		d := r.doc(t)
		d.Find("[href], [src], [action], [hx-get], [hx-post], [formaction]").Each(func(_ int, s *goquery.Selection) {
			for _, attr := range []string{"href", "src", "action", "hx-get", "hx-post", "formaction"} {
				if v, ok := s.Attr(attr); ok && v != "" && !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, testBase) {
					t.Errorf("%s: %s=%q is outside %s", p, attr, v, testBase)
				}
			}
		})
		for _, ck := range r.Cookies() {
			if ck.Path != "/ew" {
				t.Errorf("%s: cookie %s has path %q", p, ck.Name, ck.Path)
			}
		}
		if testid(d, "sandbox-banner").Length() != 1 {
			t.Errorf("%s: no sandbox banner", p)
		}
	}
	// Assets are served under it with long cache headers.
	css := env.app.Assets.URL("app.css")
	r := env.get(css)
	if !strings.HasPrefix(css, testBase+"static/") || r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("asset %s: %d %q", css, r.StatusCode, r.Header.Get("Cache-Control"))
	}
	if r := env.get("/runs"); r.StatusCode != http.StatusNotFound {
		t.Errorf("/runs outside the base path: %d", r.StatusCode)
	}
}

func TestConnectPagePrefillsTheSandboxKeyOnlyInSandboxMode(t *testing.T) {
	sb := newTestEnv(t, envOptions{sandboxMode: true})
	d := sb.get("connect").doc(t)
	if testid(d, "connect-key").AttrOr("value", "") != demoKey || testid(d, "connect-workspace").AttrOr("value", "") != demoWS {
		t.Error("sandbox mode does not prefill the demo key and workspace")
	}
	plain := newTestEnv(t, envOptions{})
	if v := testid(plain.get("connect").doc(t), "connect-key").AttrOr("value", ""); v != "" {
		t.Errorf("outside sandbox mode the key field holds %q", v)
	}
}

func TestExtendErrorsBecomePages(t *testing.T) {
	env := seededEnv(t, envOptions{noRetry: true})
	tests := []struct {
		name       string
		faults     sandbox.Faults
		wantStatus int
		wantText   string
	}{
		{"rate limited", sandbox.Faults{Rate429: 1}, http.StatusTooManyRequests, "Try again in 1 s"},
		{"server error", sandbox.Faults{Rate5xx: 1}, http.StatusBadGateway, "server error (500)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.sb.SetFaults(tt.faults)
			defer env.sb.SetFaults(sandbox.Faults{})
			r := env.get("runs?ws=" + demoWS)
			if r.StatusCode != tt.wantStatus || !strings.Contains(errorText(r), tt.wantText) {
				t.Errorf("%d %s", r.StatusCode, errorText(r))
			}
			if testid(r.doc(t), "extend-request-id").Text() == "" {
				t.Error("no Extend request ID")
			}
		})
	}
	// Extend unreachable after connecting: the page names the host.
	down := newTestEnv(t, envOptions{noRetry: true})
	down.connect(demoKey, demoWS)
	down.sbServer.Close()
	r := down.get("runs?ws=" + demoWS)
	host := strings.TrimPrefix(down.sbURL, "http://")
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(errorText(r), "cannot reach "+host) {
		t.Errorf("unreachable Extend: %d %s", r.StatusCode, errorText(r))
	}
}

func TestPanicBecomesACleanPage(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.echo.GET("/ew/boom", func(echo.Context) error { panic("secret internals") })
	r := env.get("boom")
	if r.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d", r.StatusCode)
	}
	if strings.Contains(r.body, "secret internals") || strings.Contains(r.body, "goroutine") || strings.Contains(r.body, ".go:") {
		t.Error("the page shows the panic or a stack")
	}
	d := r.doc(t)
	if testid(d, "our-request-id").Text() != r.Header.Get(middleware.HeaderRequestID) || r.Header.Get(middleware.HeaderRequestID) == "" {
		t.Error("the 500 page lacks our request ID")
	}
	if !strings.Contains(env.logs.String(), "secret internals") {
		t.Error("the panic was not logged")
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "nonce-") {
		t.Errorf("error page CSP %q", csp)
	}
}

func TestRootBasePath(t *testing.T) {
	env := newTestEnv(t, envOptions{basePath: "/", seed: true})
	env.connect(demoKey, demoWS)
	r := env.get("runs?ws=" + demoWS + "&size=5")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("runs at /: %d %s", r.StatusCode, errorText(r))
	}
	href := testid(r.doc(t), "run-link").First().AttrOr("href", "")
	if !strings.HasPrefix(href, "/runs/edr_") {
		t.Errorf("run link %q", href)
	}
	if page := env.get(href); page.StatusCode != http.StatusOK {
		t.Errorf("run page at /: %d", page.StatusCode)
	}
	for _, ck := range r.Cookies() {
		if ck.Path != "/" {
			t.Errorf("cookie %s path %q", ck.Name, ck.Path)
		}
	}
}
