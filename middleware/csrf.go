package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
)

// CSRFCookieName names the CSRF cookie (double-submit token).
const CSRFCookieName = "editwatch_csrf"

// csrfLifetime is how long a CSRF cookie lives.
const csrfLifetime = 12 * time.Hour

// CSRFFormField is the default of CSRFOptions.FormField.
const CSRFFormField = "_csrf"

// CSRFOptions configure NewCSRF.
type CSRFOptions struct {
	// BasePath scopes the cookie ("/" or "/sub/").
	BasePath string
	// IsHTTPS reports whether the browser reached us over https, so the
	// cookie's Secure flag follows the request's scheme.
	IsHTTPS func(*http.Request) bool
	// FormField is the form field that carries the token (the pages pass
	// views.CSRFField); default CSRFFormField.
	FormField string
	// Skip names requests that carry no token to check: open paths, and
	// uploads, which check their token themselves while streaming.
	Skip func(c echo.Context) bool
}

// CSRF checks and hands out the double-submit tokens every state-changing
// request must carry.
type CSRF struct {
	opts CSRFOptions
}

// NewCSRF returns the CSRF layer; a nil IsHTTPS trusts r.TLS alone.
func NewCSRF(opts CSRFOptions) *CSRF {
	if opts.IsHTTPS == nil {
		opts.IsHTTPS = func(r *http.Request) bool { return r.TLS != nil }
	}
	if opts.Skip == nil {
		opts.Skip = func(echo.Context) bool { return false }
	}
	if opts.FormField == "" {
		opts.FormField = CSRFFormField
	}
	return &CSRF{opts: opts}
}

// Middleware is Echo's CSRF middleware (double-submit cookie), with the
// cookie's Secure flag following the request's scheme. Refusals are 403
// Refusals.
func (x *CSRF) Middleware() echo.MiddlewareFunc {
	build := func(secure bool) echo.MiddlewareFunc {
		return echomw.CSRFWithConfig(echomw.CSRFConfig{
			Skipper:        x.opts.Skip,
			TokenLookup:    "form:" + x.opts.FormField + ",header:" + echo.HeaderXCSRFToken,
			ContextKey:     ctxCSRF,
			CookieName:     CSRFCookieName,
			CookiePath:     cookiePath(x.opts.BasePath),
			CookieSecure:   secure,
			CookieHTTPOnly: true,
			CookieSameSite: http.SameSiteLaxMode,
			CookieMaxAge:   int(csrfLifetime.Seconds()),
			ErrorHandler: func(err error, c echo.Context) error {
				return CSRFRefusal(err)
			},
		})
	}
	plain, secure := build(false), build(true)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		hp, hs := plain(next), secure(next)
		return func(c echo.Context) error {
			x.unmask(c)
			if x.opts.IsHTTPS(c.Request()) {
				return hs(c)
			}
			return hp(c)
		}
	}
}

// unmask lets Echo's check (which compares plain tokens with the cookie)
// accept the masked tokens pages carry (MaskCSRFToken): a form field or
// X-CSRF-Token header holding a masked copy of the cookie's token is
// turned back into the token. It runs only where that check does: unsafe
// methods on requests Skip does not name.
func (x *CSRF) unmask(c echo.Context) {
	r := c.Request()
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return
	}
	if x.opts.Skip(c) {
		return
	}
	if ck, err := r.Cookie(CSRFCookieName); err == nil {
		UnmaskSubmittedCSRF(r, ck.Value, x.opts.FormField, echo.HeaderXCSRFToken)
	}
}

// CSRFRefusal is the 403 for a missing or wrong token.
func CSRFRefusal(err error) *Refusal {
	return &Refusal{Status: http.StatusForbidden, Heading: "Form expired or forged", Category: "csrf",
		Explanation: "The form's security token is missing or does not match. Go back, reload the page and submit it again.", Err: err}
}

// Token is the token forms carry. Echo skips the token (and its cookie)
// for browsers whose Sec-Fetch-Site proves the request same-origin; forms
// still get a real one, so clients without that header can post.
func (x *CSRF) Token(c echo.Context) string {
	if t, _ := c.Get(ctxCSRF).(string); t != "" && t != echomw.CSRFUsingSecFetchSite {
		return t
	}
	if ck, err := c.Cookie(CSRFCookieName); err == nil && ck.Value != "" {
		c.Set(ctxCSRF, ck.Value)
		return ck.Value
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	c.SetCookie(&http.Cookie{
		Name: CSRFCookieName, Value: token, Path: cookiePath(x.opts.BasePath),
		Expires:  time.Now().Add(csrfLifetime),
		Secure:   x.opts.IsHTTPS(c.Request()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	c.Set(ctxCSRF, token)
	return token
}

// TokenCheck verifies the CSRF token of a request whose handler reads the
// body itself (a streamed upload: the token field may come after the
// file), so the middleware cannot check it first.
type TokenCheck struct {
	cookie   string
	verified bool
}

// NewTokenCheck starts the check of r: a request the browser itself says
// is same-origin (the cross-origin guard already refused cross-site ones)
// or whose X-CSRF-Token header matches passes at once.
func NewTokenCheck(r *http.Request) *TokenCheck {
	t := &TokenCheck{}
	if ck, err := r.Cookie(CSRFCookieName); err == nil {
		t.cookie = ck.Value
	}
	site := r.Header.Get("Sec-Fetch-Site")
	t.verified = site == "same-origin" || site == "none"
	t.Offer(r.Header.Get(echo.HeaderXCSRFToken))
	return t
}

// Offer checks a token the request sent (a form field).
func (t *TokenCheck) Offer(sent string) {
	if CSRFTokenMatches(t.cookie, sent) { // masked or plain
		t.verified = true
	}
}

// Verified reports whether the request proved it came from our pages.
func (t *TokenCheck) Verified() bool { return t.verified }
