package handlers

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// rawGet fetches p with env's cookies and exactly the Accept-Encoding given
// (none when empty): the default transport would offer gzip itself and
// decode the answer silently. The body is read as sent, undecoded.
func (env *testEnv) rawGet(t *testing.T, p, acceptEncoding string, header http.Header) (*http.Response, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.url(p), nil)
	for k, v := range header {
		req.Header[k] = v
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	client := &http.Client{Jar: env.client.Jar, Transport: &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", p, err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Type") == "text/event-stream" {
		return res, 0 // never ends: the headers are the answer
	}
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", p, err)
	}
	return res, int(n)
}

// What a browser gets, by kind of response and Accept-Encoding: static
// files, pages, fragments and the export in brotli or gzip as offered;
// event streams and PDFs never compressed.
func TestResponsesAreCompressedByKind(t *testing.T) {
	env := seededEnv(t, envOptions{sandboxMode: true})
	attachLive(t, env, nil)
	run := findRun(t, env, extendapi.StatusProcessed)
	download := env.get("runs/" + run.ID + "/download?ws=" + demoWS)
	pdf := download.Header.Get("Location")
	if download.StatusCode != http.StatusFound && download.StatusCode != http.StatusSeeOther || pdf == "" {
		t.Fatalf("download: %d %s", download.StatusCode, errorText(download))
	}
	const (
		brGzip = "gzip, deflate, br"
		gzip   = "gzip"
		none   = ""
	)
	sse := http.Header{"Accept": {"text/event-stream"}}
	tests := []struct {
		name           string
		path           string
		header         http.Header
		acceptEncoding string
		want           string
	}{
		{"asset", env.app.Assets.URL("htmx.min.js"), nil, brGzip, "br"},
		{"asset", env.app.Assets.URL("htmx.min.js"), nil, gzip, "gzip"},
		{"asset", env.app.Assets.URL("htmx.min.js"), nil, none, ""},
		{"page", "runs?ws=" + demoWS, nil, brGzip, "br"},
		{"page", "runs?ws=" + demoWS, nil, gzip, "gzip"},
		{"page", "runs?ws=" + demoWS, nil, none, ""},
		{"overview", "?ws=" + demoWS, nil, brGzip, "br"},
		{"htmx swap of the list", "runs?ws=" + demoWS, http.Header{"HX-Request": {"true"}}, brGzip, "br"},
		{"small fragment (under 1 KB)", "runs/" + run.ID + "/status?ws=" + demoWS, http.Header{"HX-Request": {"true"}}, brGzip, ""},
		{"export", views.RouteExportCSV + "?ws=" + demoWS, nil, brGzip, "br"},
		{"export", views.RouteExportNDJSON + "?ws=" + demoWS, nil, gzip, "gzip"},
		{"export", views.RouteExportCSV + "?ws=" + demoWS, nil, none, ""},
		{"event stream", views.RouteEvents + "?ws=" + demoWS, sse, brGzip, ""},
		{"pdf", pdf, nil, brGzip, ""},
		{"pdf range", pdf, http.Header{"Range": {"bytes=0-99"}}, brGzip, ""},
		{"pdf", views.RunFileURL(testBase, demoWS, run.ID, views.FileEdited), nil, brGzip, ""},
		{"pdf range", views.RunFileURL(testBase, demoWS, run.ID, views.FileInput), http.Header{"Range": {"bytes=0-99"}}, brGzip, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.acceptEncoding, func(t *testing.T) {
			res, n := env.rawGet(t, tt.path, tt.acceptEncoding, tt.header)
			if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusPartialContent {
				t.Fatalf("GET %s: %d", tt.path, res.StatusCode)
			}
			if got := res.Header.Get("Content-Encoding"); got != tt.want {
				t.Errorf("GET %s with Accept-Encoding %q: Content-Encoding %q, want %q", tt.path, tt.acceptEncoding, got, tt.want)
			}
			if tt.want != "" && !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Accept-Encoding") {
				t.Errorf("GET %s compressed without Vary: Accept-Encoding", tt.path)
			}
			switch tt.name {
			case "pdf":
				if ct := res.Header.Get("Content-Type"); ct != "application/pdf" || n == 0 {
					t.Errorf("PDF: %q, %d bytes", ct, n)
				}
			case "pdf range":
				if res.StatusCode != http.StatusPartialContent || n != 100 {
					t.Errorf("range of the PDF: %d, %d bytes; want 206 with 100 bytes", res.StatusCode, n)
				}
			}
		})
	}
}

// BREACH: a page that reflects input must not carry the CSRF token's bytes
// the same way twice. Each response masks it anew; a form posted with any
// of them, or with the cookie's plain token, is accepted; a mask of
// another token is refused.
func TestCSRFTokenIsMaskedPerResponse(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	tokenOf := func() string {
		t.Helper()
		page := env.get("connect")
		token, ok := page.doc(t).Find(`input[name="` + views.CSRFField + `"]`).First().Attr("value")
		if page.StatusCode != http.StatusOK || !ok || token == "" {
			t.Fatalf("connect page: %d, no CSRF field", page.StatusCode)
		}
		return token
	}
	first, second := tokenOf(), tokenOf()
	cookie := env.csrf()
	if first == second {
		t.Errorf("two responses carry the same CSRF token bytes %q", first)
	}
	for _, token := range []string{first, second} {
		if strings.Contains(token, cookie) {
			t.Errorf("page token %q shows the cookie's token", token)
		}
		if got, ok := middleware.UnmaskCSRFToken(token); !ok || got != cookie {
			t.Errorf("page token %q does not unmask to the cookie's token", token)
		}
	}

	connect := url.Values{views.FieldAPIKey: {demoKey}, views.FieldWorkspaceID: {demoWS}}
	forged := middleware.MaskCSRFToken(strings.Repeat("x", len(cookie)))
	tests := []struct {
		name   string
		field  string // the form's _csrf, none when empty
		header string // X-CSRF-Token, as htmx sends it
		want   int
	}{
		{"first page's token", first, "", http.StatusSeeOther},
		{"second page's token", second, "", http.StatusSeeOther},
		{"masked header", "", first, http.StatusSeeOther},
		{"plain token", cookie, "", http.StatusSeeOther},
		{"mask of another token", forged, "", http.StatusForbidden},
		{"forged header", "", forged, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range connect {
				form[k] = v
			}
			if tt.field != "" {
				form.Set(views.CSRFField, tt.field)
			}
			req, _ := http.NewRequest(http.MethodPost, env.url("connect"), strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.header != "" {
				req.Header.Set("X-CSRF-Token", tt.header)
			}
			if r := env.do(req); r.StatusCode != tt.want {
				t.Errorf("POST connect: %d, want %d: %s", r.StatusCode, tt.want, errorText(r))
			}
		})
	}
}

// The new-run upload checks its token itself while it streams; a masked
// token passes there too.
func TestNewRunAcceptsMaskedToken(t *testing.T) {
	env := seededEnv(t, envOptions{})
	masked := middleware.MaskCSRFToken(env.csrf())
	tests := []struct {
		name  string
		token string
		csrf  bool // refused as forged
	}{
		{"masked", masked, false},
		{"forged", middleware.MaskCSRFToken("not the cookie's token"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.post(views.RouteNewRun+"?ws="+demoWS, url.Values{views.CSRFField: {tt.token}})
			refused := r.StatusCode == http.StatusForbidden && strings.Contains(errorText(r), "Form expired or forged")
			if refused != tt.csrf {
				t.Errorf("POST %s with a %s token: %d %s", views.RouteNewRun, tt.name, r.StatusCode, errorText(r))
			}
		})
	}
}
