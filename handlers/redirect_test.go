package handlers

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// hostileTargets must never survive safeRedirect under base "/ew/" or "/".
var hostileTargets = []string{
	"", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil", "\\/evil.example",
	"https://evil.example", "HTTPS://evil.example/ew/", "http:/ew/runs", "https:evil.example", "//evil.example/ew/",
	"javascript:alert(1)", "JavaScript:alert(document.domain)", "data:text/html,<script>alert(1)</script>",
	"%2f%2fevil.example", "/%2f%2fevil.example", "/%2F%2Fevil.example", "/%5Cevil.example", "/%5cevil.example",
	"/%252f%252fevil.example", "/%25252f%25252fevil.example", "/%2525252f%2525252fevil.example",
	"/ew/%5C%5Cevil", "/ew/%255c", "/ew/\\evil",
	"\t//evil.example", " //evil.example", "/\t/evil.example", "/ew/\n", "/ew/\r\nSet-Cookie: x=1", "/ew/\x00",
	"/ew/%0d%0aLocation:%20//evil", "/ew/%00", "/ew/%7f",
	"/ew/../evil", "/ew/./runs", "/ew/runs/..", "/ew/%2e%2e/evil", "/ew/.%2E/evil", "/ew/%252e%252e/evil",
	"/ew/%zz", "/ew/é", "/ew/ x", "/ew/\x7f",
	"/ew/" + strings.Repeat("a", maxRedirectLength),
}

func TestSafeRedirect(t *testing.T) {
	for _, base := range []string{"/ew/", "/"} {
		allowed := []string{
			base, base + "runs?ws=ws_demo", base + "runs/edr_1?ws=ws_demo#filled-values-title",
			base + "runs?q=a%20b&status=FAILED", base + "audit?since=2024-01-01&until=2024-02-01",
			base + "runs/edr_x/download?ws=key_0123abcd", base + "runs?next=%2F%2Fevil.example",
			base + "runs/edr%2D1?ws=ws_demo",
		}
		for _, target := range allowed {
			if got := safeRedirect(base, target); got != target {
				t.Errorf("safeRedirect(%q, %q) = %q, want it kept", base, target, got)
			}
		}
		for _, target := range hostileTargets {
			if got := safeRedirect(base, target); got != base {
				t.Errorf("safeRedirect(%q, %q) = %q, want the base path", base, target, got)
			}
		}
	}
	// Under a base path, the rest of the site is refused too.
	for _, target := range []string{"/", "/ew", "/other/", "/ewx/"} {
		if got := safeRedirect("/ew/", target); got != "/ew/" {
			t.Errorf("safeRedirect(/ew/, %q) = %q", target, got)
		}
	}
	// A broken base path (config always normalizes it) still cannot be
	// turned into another origin.
	for _, base := range []string{"//evil.example/", "/\\evil/", "", "ew/", "/ew", "/ew/../", "/%2f/"} {
		for _, target := range append([]string{base + "x"}, hostileTargets...) {
			checkSameSite(t, "/", target, safeRedirect(base, target))
		}
	}
}

// FuzzSafeRedirect: whatever comes in, what goes out is a path under the
// base path that no decoding turns into another origin.
func FuzzSafeRedirect(f *testing.F) {
	for _, s := range hostileTargets {
		f.Add(s)
	}
	f.Add("/ew/runs/edr_1?ws=ws_demo#filled-values-title")
	f.Add("/runs?ws=ws_demo")
	f.Fuzz(func(t *testing.T, target string) {
		for _, base := range []string{"/ew/", "/"} {
			got := safeRedirect(base, target)
			checkSameSite(t, base, target, got)
		}
	})
}

func checkSameSite(t *testing.T, base, target, got string) {
	t.Helper()
	if got != base && got != target {
		t.Fatalf("safeRedirect(%q, %q) = %q: neither the target nor the base path", base, target, got)
	}
	if !strings.HasPrefix(got, base) {
		t.Fatalf("safeRedirect(%q, %q) = %q: not under the base path", base, target, got)
	}
	if strings.ContainsAny(got, "\\\t\r\n\x00") {
		t.Fatalf("safeRedirect(%q, %q) = %q: backslash or control character", base, target, got)
	}
	u, err := url.Parse(got)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		t.Fatalf("safeRedirect(%q, %q) = %q: parses as %#v, %v", base, target, got, u, err)
	}
	site, _ := url.Parse("https://editwatch.example" + base)
	if r := site.ResolveReference(u); r.Host != "editwatch.example" || r.Scheme != "https" {
		t.Fatalf("safeRedirect(%q, %q) = %q resolves to %s", base, target, got, r)
	}
	p := u.EscapedPath()
	for range maxUnescapeRounds + 1 {
		if strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
			t.Fatalf("safeRedirect(%q, %q) = %q: decodes to %q", base, target, got, p)
		}
		next, err := url.PathUnescape(p)
		if err != nil || next == p {
			break
		}
		p = next
	}
}

// TestConnectComesBackToNext: a shared run link opened without the
// workspace connected offers connecting it, and connecting lands on the
// run, while a hostile next= lands on the runs list.
func TestConnectComesBackToNext(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true})
	run := findRun(t, env, extendapi.StatusProcessed)
	runURL := views.RunURL(testBase, demoWS, run.ID)

	r := env.get(strings.TrimPrefix(runURL, testBase))
	link, ok := testid(r.doc(t), "error-connect-workspace").Attr("href")
	if r.StatusCode != http.StatusForbidden || !ok {
		t.Fatalf("shared link without connection: %d, connect link %v: %s", r.StatusCode, ok, errorText(r))
	}
	if want := views.ConnectURLNext(testBase, demoWS, runURL); link != want {
		t.Fatalf("connect link %q, want %q", link, want)
	}
	page := env.get(link).doc(t)
	next, _ := page.Find(`form[data-testid="connect-form"] input[name="` + views.ParamNext + `"]`).Attr("value")
	if next != runURL {
		t.Fatalf("connect form carries next=%q, want %q", next, runURL)
	}
	// A refused key keeps the way back.
	r = env.post("connect", url.Values{views.FieldAPIKey: {"sk_wrong_0123456789"}, views.FieldWorkspaceID: {demoWS}, views.ParamNext: {next}})
	if kept, _ := r.doc(t).Find(`input[name="` + views.ParamNext + `"]`).Attr("value"); r.StatusCode != http.StatusUnprocessableEntity || kept != runURL {
		t.Fatalf("refused connect: %d, next kept as %q", r.StatusCode, kept)
	}
	r = env.post("connect", url.Values{views.FieldAPIKey: {demoKey}, views.FieldWorkspaceID: {demoWS}, views.ParamNext: {next}})
	if r.StatusCode != http.StatusSeeOther || location(t, r) != runURL {
		t.Fatalf("connect with next: %d to %q, want 303 to %q", r.StatusCode, r.Header.Get("Location"), runURL)
	}
	if r := env.get(strings.TrimPrefix(runURL, testBase)); r.StatusCode != http.StatusOK {
		t.Fatalf("the run after connecting: %d %s", r.StatusCode, errorText(r))
	}

	// Hostile values: the form does not carry them, connecting ignores them.
	for _, hostile := range []string{"//evil.example", "/\\evil.example", "https://evil.example", "/%2f%2fevil", "javascript:alert(1)", "/%5Cevil"} {
		page := env.get("connect?" + url.Values{views.ParamNext: {hostile}}.Encode())
		if n := page.doc(t).Find(`input[name="` + views.ParamNext + `"]`).Length(); n != 0 || strings.Contains(page.body, "evil") {
			t.Errorf("connect page with next=%q: %d next fields, mentions evil: %v", hostile, n, strings.Contains(page.body, "evil"))
		}
	}
	for _, hostile := range []string{"//evil.example", "/\\evil.example", "https://evil.example", "/ew/%2e%2e/%2f%2fevil"} {
		r := env.post("connect", url.Values{views.FieldAPIKey: {demoKey}, views.FieldWorkspaceID: {demoWS}, views.ParamNext: {hostile}})
		if want := views.RunsURL(testBase, demoWS, views.RunsFilter{}, ""); r.StatusCode != http.StatusSeeOther || location(t, r) != want {
			t.Errorf("connect with next=%q: %d to %q, want 303 to %q", hostile, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
}

// TestNotConnectedPagesComeBack: a page that needs a connection sends a
// session without any to the connect page with next= itself; the home
// page, where connecting leads anyway, does not.
func TestNotConnectedPagesComeBack(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	tests := []struct{ path, want string }{
		{"runs?status=FAILED", views.ConnectURLNext(testBase, "", testBase+"runs?status=FAILED")},
		{"runs/new", views.ConnectURLNext(testBase, "", testBase+"runs/new")},
		{"", views.ConnectURL(testBase, "")},
	}
	for _, tt := range tests {
		if got := location(t, env.get(tt.path)); got != tt.want {
			t.Errorf("GET %q redirects to %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestForwardedPrefixIgnored: no header of the proxy (X-Forwarded-Prefix,
// -Host, Referer) decides where redirects and links go; the configured base
// path does.
func TestForwardedPrefixIgnored(t *testing.T) {
	env := newTestEnv(t, envOptions{identity: middleware.IdentityConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	env.headers.Set("X-Forwarded-Prefix", "//evil.example")
	env.headers.Set("X-Forwarded-Host", "evil.example")
	env.headers.Set("Referer", "https://evil.example/ew/")
	for _, p := range []string{"", "runs", "runs?ws=ws_x", "connect", "nowhere"} {
		r := env.get(p)
		if loc := r.Header.Get("Location"); loc != "" && !strings.HasPrefix(loc, testBase) {
			t.Errorf("GET %q redirects to %q", p, loc)
		}
		if strings.Contains(r.body, "evil.example") {
			t.Errorf("GET %q: the page holds the forwarded prefix", p)
		}
	}
	// The base-path redirect itself.
	req, _ := http.NewRequest(http.MethodGet, env.url("/ew"), nil)
	if r := env.do(req); r.Header.Get("Location") != testBase {
		t.Errorf("GET /ew redirects to %q", r.Header.Get("Location"))
	}
}
