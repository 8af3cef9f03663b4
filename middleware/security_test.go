package middleware

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestSecurityHeadersHSTSDecision(t *testing.T) {
	cfg := IdentityConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	e := echo.New()
	mw := SecurityHeaders("'none'", cfg.IsHTTPS)
	h := mw(func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	tests := []struct {
		name, remote, proto string
		tls                 bool
		want                bool
	}{
		{"direct TLS", "192.0.2.1:5000", "", true, true},
		{"trusted proxy says https", "10.1.2.3:5000", "https", false, true},
		{"trusted proxy says http", "10.1.2.3:5000", "http", false, false},
		{"untrusted says https", "192.0.2.1:5000", "https", false, false},
		{"mapped IPv6 of a trusted proxy", "[::ffff:10.1.2.3]:5000", "https", false, true},
		{"plain http", "192.0.2.1:5000", "", false, false},
	}
	for _, tt := range tests {
		target := "http://editwatch.example/"
		if tt.tls {
			target = "https://editwatch.example/"
		}
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.RemoteAddr = tt.remote
		if tt.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tt.proto)
		}
		rec := httptest.NewRecorder()
		if err := h(e.NewContext(req, rec)); err != nil {
			t.Fatal(err)
		}
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tt.want {
			t.Errorf("%s: HSTS %v, want %v", tt.name, got, tt.want)
		}
	}
}
