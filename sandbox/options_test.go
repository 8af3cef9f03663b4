package sandbox

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOptionsValidation(t *testing.T) {
	for name, opts := range map[string]Options{
		"negative credits":   {Credits: -1},
		"negative rate":      {RateLimit: -2},
		"fault rate above 1": {Faults: Faults{Rate5xx: 1.5}},
		"bad public URL":     {PublicURL: "ftp://x"},
		"bad workspace key":  {APIKeys: map[string]string{"k": "ws one"}},
		"bad seed workspace": {SeedWorkspace: "a/b"},
	} {
		if srv, err := New(opts); !errors.Is(err, ErrInvalidOption) {
			if srv != nil {
				srv.Close()
			}
			t.Errorf("%s: New = %v, want ErrInvalidOption", name, err)
		}
	}
}

// TestRouting: unknown paths are 404 and known paths with another method
// 405, both with the error body; the mount prefix shapes presigned URLs.
func TestRouting(t *testing.T) {
	ts := startSandbox(t, Options{BasePath: "/_sandbox/"})
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/nope", 404},
		{http.MethodPut, "/edit_runs", 405},
		{http.MethodPatch, "/webhook_endpoints/wh_1", 405},
		{http.MethodGet, "/_sandbox/health", 200},
	} {
		resp, body := ts.raw(tt.method, tt.path, authHeaders(testKeyA), nil)
		if resp.StatusCode != tt.want || (tt.want != 200 && !strings.Contains(string(body), `"requestId":"req_`)) {
			t.Errorf("%s %s: %d %s, want %d with an error body", tt.method, tt.path, resp.StatusCode, body, tt.want)
		}
	}
	c := ts.api(testKeyA, "")
	f := uploadFile(t, c, "a.pdf", demoForm(t, "").PDF, "")
	got, err := c.GetFile(t.Context(), f.ID)
	if err != nil || !strings.HasPrefix(got.PresignedURL, ts.http.URL+"/_sandbox/_sandbox/blobs/") {
		t.Fatalf("presigned URL under BasePath: %q, %v", got.PresignedURL, err)
	}
	mounted := http.StripPrefix("/_sandbox", ts.srv)
	req, _ := http.NewRequest(http.MethodGet, "/_sandbox"+strings.TrimPrefix(got.PresignedURL, ts.http.URL+"/_sandbox"), nil)
	rec := httptest.NewRecorder()
	mounted.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("the presigned URL through the mount prefix: %d", rec.Code)
	}
}
