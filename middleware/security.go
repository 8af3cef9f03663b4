package middleware

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// SecurityHeaders sets, on every response, a Content-Security-Policy with a
// fresh nonce (for the one inline script that sets the theme before paint),
// frame-ancestors from configuration, nosniff and a referrer policy.
// worker-src 'self' is for PDF.js's worker in the document view; the
// worker's own policy comes with its script (static/pdfjs.go). HSTS is
// sent only when the request arrived over https, as a trusted proxy says.
func SecurityHeaders(frameAncestors string, isHTTPS func(*http.Request) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			nonce := newNonce()
			c.Set(ctxNonce, nonce)
			h := c.Response().Header()
			h.Set("Content-Security-Policy", fmt.Sprintf(
				"default-src 'self'; script-src 'self' 'nonce-%s'; style-src 'self'; img-src 'self' data:; "+
					"font-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors %s",
				nonce, frameAncestors))
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "same-origin")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
			if frameAncestors == "'none'" {
				h.Set("X-Frame-Options", "DENY")
			}
			if isHTTPS != nil && isHTTPS(c.Request()) {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			return next(c)
		}
	}
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawStdEncoding.EncodeToString(b)
}

// NonceOf returns the CSP nonce of this request.
func NonceOf(c echo.Context) string {
	s, _ := c.Get(ctxNonce).(string)
	return s
}

// CrossOriginGuard refuses state-changing cross-origin browser requests
// (Sec-Fetch-Site / Origin) with 403, before the token check runs. Paths in
// bypass (the webhook receiver) rely on their own signature instead.
func CrossOriginGuard(bypass ...string) echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	for _, p := range bypass {
		cop.AddInsecureBypassPattern(p)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := cop.Check(c.Request()); err != nil {
				return &Refusal{Status: http.StatusForbidden, Heading: "Cross-site request refused", Category: "cross-site",
					Explanation: "This form was sent from another site. Submit it from Editwatch itself.", Err: err}
			}
			return next(c)
		}
	}
}
