package static

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// The built CSS is committed and embedded; a checkout without it would serve
// unstyled pages, so its absence must fail the build's tests.
func TestBuiltCSSIsCommitted(t *testing.T) {
	body, err := embedded.ReadFile("dist/app.css")
	if err != nil {
		t.Fatalf("static/dist/app.css is not embedded (run scripts/build-assets.sh): %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		t.Fatal("static/dist/app.css is empty (run scripts/build-assets.sh)")
	}
	// A real Tailwind build of our templates, not a placeholder.
	for _, want := range []string{".btn-primary", ".sr-only", ".htmx-request", ":is(.dark *)"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("static/dist/app.css lacks %q: rebuild it with scripts/build-assets.sh", want)
		}
	}
}

func TestVendoredScriptsAreEmbedded(t *testing.T) {
	for _, file := range []string{"vendor/htmx.min.js", "vendor/sse.js", "js/app.js", "img/favicon.svg"} {
		body, err := embedded.ReadFile(file)
		if err != nil || len(body) == 0 {
			t.Errorf("%s missing or empty: %v", file, err)
		}
	}
}

// Our script runs under a CSP without 'unsafe-eval' and without inline
// styles: it must not use eval-like calls or write style attributes.
func TestAppScriptAvoidsEvalAndInlineStyles(t *testing.T) {
	body, err := embedded.ReadFile("js/app.js")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := regexp.MustCompile(`\beval\(|new Function\(|setAttribute\('style'|\.style\.|innerHTML|hx-on|setTimeout\('|setInterval\('`)
	if m := forbidden.FindString(string(body)); m != "" {
		t.Errorf("app.js uses %q, which the CSP forbids", m)
	}
}

func TestURLHashesEmbeddedAssets(t *testing.T) {
	tests := []struct {
		basePath string
		name     string
		want     *regexp.Regexp
	}{
		{"/", "app.css", regexp.MustCompile(`^/static/app\.[0-9a-f]{8}\.css$`)},
		{"", "htmx.min.js", regexp.MustCompile(`^/static/htmx\.min\.[0-9a-f]{8}\.js$`)},
		{"/ops/editwatch", "sse.js", regexp.MustCompile(`^/ops/editwatch/static/sse\.[0-9a-f]{8}\.js$`)},
		{"ops/", "app.js", regexp.MustCompile(`^/ops/static/app\.[0-9a-f]{8}\.js$`)},
		{"/", "favicon.svg", regexp.MustCompile(`^/static/favicon\.[0-9a-f]{8}\.svg$`)},
		{"/", "nope.css", regexp.MustCompile(`^/static/nope\.css$`)},
	}
	for _, tt := range tests {
		t.Run(tt.basePath+tt.name, func(t *testing.T) {
			a, err := New(tt.basePath)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.URL(tt.name); !tt.want.MatchString(got) {
				t.Errorf("URL(%q) = %q, want match %s", tt.name, got, tt.want)
			}
		})
	}
}

func TestHashFollowsContent(t *testing.T) {
	one := fstest.MapFS{"dist/app.css": {Data: []byte("a{}")}}
	two := fstest.MapFS{"dist/app.css": {Data: []byte("b{}")}}
	a1, err := newFromFS(one, "/")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := newFromFS(two, "/")
	if err != nil {
		t.Fatal(err)
	}
	again, err := newFromFS(one, "/")
	if err != nil {
		t.Fatal(err)
	}
	if a1.URL("app.css") == a2.URL("app.css") {
		t.Errorf("different content, same URL %q", a1.URL("app.css"))
	}
	if a1.URL("app.css") != again.URL("app.css") {
		t.Errorf("same content, different URLs %q and %q", a1.URL("app.css"), again.URL("app.css"))
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		basePath string
		want     error
	}{
		{"missing css", fstest.MapFS{"js/app.js": {Data: []byte("1")}}, "/", ErrMissingAsset},
		{"empty css", fstest.MapFS{"dist/app.css": {Data: []byte(" \n")}}, "/", ErrMissingAsset},
		{"duplicate names", fstest.MapFS{
			"dist/app.css": {Data: []byte("a{}")},
			"img/app.css":  {Data: []byte("b{}")},
		}, "/", ErrDuplicateName},
		{"query in base path", fstest.MapFS{"dist/app.css": {Data: []byte("a{}")}}, "/x?y", ErrBadBasePath},
		{"dot dot in base path", fstest.MapFS{"dist/app.css": {Data: []byte("a{}")}}, "/a/../b", ErrBadBasePath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newFromFS(tt.fsys, tt.basePath)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestServeHTTP(t *testing.T) {
	a, err := New("/ew/")
	if err != nil {
		t.Fatal(err)
	}
	cssURL := a.URL("app.css")
	jsURL := a.URL("htmx.min.js")
	staleURL := "/ew/static/app.00000000.css"
	css, _ := embedded.ReadFile("dist/app.css")

	type want struct {
		Status      int
		ContentType string
		Cache       string
		Nosniff     string
	}
	tests := []struct {
		name   string
		method string
		path   string
		want   want
		body   []byte
	}{
		{"hashed css", http.MethodGet, cssURL, want{200, "text/css; charset=utf-8", cacheImmutable, "nosniff"}, css},
		{"hashed js", http.MethodGet, jsURL, want{200, "text/javascript; charset=utf-8", cacheImmutable, "nosniff"}, nil},
		{"head", http.MethodHead, cssURL, want{200, "text/css; charset=utf-8", cacheImmutable, "nosniff"}, []byte{}},
		{"plain name revalidates", http.MethodGet, "/ew/static/app.css", want{200, "text/css; charset=utf-8", cacheRevalidate, "nosniff"}, css},
		{"stale hash revalidates", http.MethodGet, staleURL, want{200, "text/css; charset=utf-8", cacheRevalidate, "nosniff"}, css},
		{"svg", http.MethodGet, a.URL("favicon.svg"), want{200, "image/svg+xml", cacheImmutable, "nosniff"}, nil},
		{"unknown", http.MethodGet, "/ew/static/evil.js", want{404, "text/plain; charset=utf-8", "", "nosniff"}, nil},
		{"directory path", http.MethodGet, "/ew/static/dist/app.css", want{404, "text/plain; charset=utf-8", "", "nosniff"}, nil},
		{"outside prefix", http.MethodGet, "/static/app.css", want{404, "text/plain; charset=utf-8", "", "nosniff"}, nil},
		{"post", http.MethodPost, cssURL, want{405, "text/plain; charset=utf-8", "", "nosniff"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			res := rec.Result()
			got := want{res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), res.Header.Get("X-Content-Type-Options")}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", tt.method, tt.path, diff)
			}
			if tt.body != nil {
				body, _ := io.ReadAll(res.Body)
				if string(body) != string(tt.body) {
					t.Errorf("body: got %d bytes, want %d", len(body), len(tt.body))
				}
			}
		})
	}
}

func TestServeHTTPConditionalGet(t *testing.T) {
	a, err := New("/")
	if err != nil {
		t.Fatal(err)
	}
	first := httptest.NewRecorder()
	a.ServeHTTP(first, httptest.NewRequest(http.MethodGet, a.URL("app.js"), nil))
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest(http.MethodGet, a.URL("app.js"), nil)
	req.Header.Set("If-None-Match", etag)
	second := httptest.NewRecorder()
	a.ServeHTTP(second, req)
	if second.Code != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", second.Code)
	}
}

func TestNamesAndPrefix(t *testing.T) {
	a, err := New("/x")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Prefix(); got != "/x/static/" {
		t.Errorf("Prefix() = %q", got)
	}
	want := []string{"app.css", "app.js", "docview.js", "docviewopen.js", "favicon.svg", "htmx.min.js", "sse.js"}
	if diff := cmp.Diff(want, a.Names()); diff != "" {
		t.Errorf("Names() (-want +got):\n%s", diff)
	}
}

func TestStripHash(t *testing.T) {
	tests := map[string]string{
		"app.0123abcd.css":      "app.css",
		"htmx.min.deadbeef.js":  "htmx.min.js",
		"app.css":               "app.css",
		"htmx.min.js":           "htmx.min.js",
		"app.zzzzzzzz.css":      "app.zzzzzzzz.css",
		"app.0123abcd0.css":     "app.0123abcd0.css",
		"noext":                 "noext",
		".0123abcd.css":         ".css",
		"weird.name.01234567.x": "weird.name.x",
	}
	for in, want := range tests {
		if got := stripHash(in); got != want {
			t.Errorf("stripHash(%q) = %q, want %q", in, got, want)
		}
	}
}
