package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestCrossOriginGuard(t *testing.T) {
	tests := []struct {
		name         string
		method       string
		path         string
		secFetchSite string
		origin       string
		wantRefused  bool
	}{
		{"cross-site POST", http.MethodPost, "/ew/runs/delete", "cross-site", "https://evil.example", true},
		{"same-site POST from a sibling", http.MethodPost, "/ew/runs/delete", "same-site", "https://other.dash.example", true},
		{"cross-site DELETE", http.MethodDelete, "/ew/runs/delete", "cross-site", "", true},
		{"same-origin POST", http.MethodPost, "/ew/runs/delete", "same-origin", "http://dash.example", false},
		{"typed-in navigation POST", http.MethodPost, "/ew/runs/delete", "none", "", false},
		{"cross-site GET", http.MethodGet, "/ew/runs", "cross-site", "https://evil.example", false},
		{"cross-site HEAD", http.MethodHead, "/ew/runs", "cross-site", "https://evil.example", false},
		{"older browser, foreign Origin", http.MethodPost, "/ew/runs/delete", "", "https://evil.example", true},
		{"older browser, our Origin", http.MethodPost, "/ew/runs/delete", "", "http://dash.example", false},
		{"no browser headers (a script)", http.MethodPost, "/ew/runs/delete", "", "", false},
		{"bypassed webhook path", http.MethodPost, "/ew/webhooks/extend", "cross-site", "https://extend.example", false},
	}
	e := newCatchingEcho()
	e.Use(CrossOriginGuard("/ew/webhooks/"))
	h := func(c echo.Context) error { return c.String(http.StatusOK, "handled") }
	e.Any("/ew/*", h)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://dash.example"+tt.path, nil)
			if tt.secFetchSite != "" {
				req.Header.Set("Sec-Fetch-Site", tt.secFetchSite)
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			rec, err := e.serve(req)
			if !tt.wantRefused {
				if err != nil || rec.Code != http.StatusOK {
					t.Fatalf("refused: %d %v", rec.Code, err)
				}
				return
			}
			refusal := refusalOf(err)
			if refusal == nil {
				t.Fatalf("error %v (status %d) is no *Refusal", err, rec.Code)
			}
			if refusal.Status != http.StatusForbidden || refusal.Category != "cross-site" || refusal.Err == nil {
				t.Errorf("refusal %+v, want a 403 cross-site refusal with its cause", refusal)
			}
			if rec.Code != http.StatusForbidden || rec.Body.String() == "handled" {
				t.Errorf("status %d body %q: the handler ran", rec.Code, rec.Body.String())
			}
		})
	}
}
