package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// More context keys (see security.go for the first ones).
const (
	ctxRequestID   = "ew.request_id"
	ctxSession     = "ew.session"
	ctxConnections = "ew.connections"
	ctxConnection  = "ew.connection"
	ctxCSRF        = "ew.csrf"
)

// HeaderRequestID carries our request ID on every response.
const HeaderRequestID = "X-Request-Id"

// csrfCookieName names the CSRF cookie (double-submit token).
const csrfCookieName = "editwatch_csrf"

// RequestID gives every request an ID of ours (never the client's, which
// could be anything) and sends it back in X-Request-Id.
func RequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			b := make([]byte, 10)
			_, _ = rand.Read(b)
			id := "ew_" + hex.EncodeToString(b)
			c.Set(ctxRequestID, id)
			c.Response().Header().Set(HeaderRequestID, id)
			return next(c)
		}
	}
}

func requestIDOf(c echo.Context) string {
	s, _ := c.Get(ctxRequestID).(string)
	return s
}

// recoverPanics turns a panic into a clean 500 page; the stack goes to the
// log, never to the page.
func (a *App) recoverPanics() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			a.Logger.ErrorContext(c.Request().Context(), "panic in handler", "request_id", requestIDOf(c),
				"path", c.Request().URL.Path, "err", err.Error(), "stack", string(stack))
			return fmt.Errorf("panic: %w", err)
		},
		StackSize: 8 << 10,
	})
}

// accessLog writes one line per request: method, path (never the query,
// which could hold anything), status, duration.
func (a *App) accessLog() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // the error handler writes the page now, so the status is known
			}
			level := slog.LevelInfo
			if a.isOpenPath(c.Request().URL.Path) || c.Request().Header.Get("HX-Request") != "" {
				// Probes, assets and htmx polling would drown the rest.
				level = slog.LevelDebug
			}
			a.Logger.Log(c.Request().Context(), level, "request", "request_id", requestIDOf(c),
				"method", c.Request().Method, "path", c.Request().URL.Path,
				"status", c.Response().Status, "duration_ms", time.Since(start).Milliseconds())
			return nil
		}
	}
}

// isOpenPath: health probes, assets, the embedded sandbox and the webhook
// receiver need no identity, session or CSRF token.
func (a *App) isOpenPath(p string) bool {
	rest, ok := strings.CutPrefix(p, a.BasePath)
	if !ok {
		return false
	}
	return rest == "healthz" || rest == "readyz" || strings.HasPrefix(rest, "static/") || strings.HasPrefix(rest, "_sandbox/") ||
		a.isWebhookPath(p)
}

// loadSession loads the request's server-side session once.
func (a *App) loadSession() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if a.isOpenPath(c.Request().URL.Path) {
				return next(c)
			}
			sess, err := a.Sessions.Get(c.Request(), a.Sessions.cookieName)
			if err != nil {
				return fmt.Errorf("load session: %w", err)
			}
			c.Set(ctxSession, sess)
			return next(c)
		}
	}
}

func sessionOf(c echo.Context) *sessions.Session {
	s, _ := c.Get(ctxSession).(*sessions.Session)
	return s
}

// isHTTPS reports whether the browser reached us over https: directly, or
// through a trusted proxy that says so.
func (a *App) isHTTPS(r *http.Request) bool { return a.Identity.IsHTTPS(r) }

// uploadRoute names the multipart routes that check their CSRF token
// themselves while streaming (see newrun_upload.go).
func (a *App) uploadRoute(c echo.Context) bool {
	p := c.Path()
	return c.Request().Method == http.MethodPost &&
		(strings.HasSuffix(p, "/runs/new") || strings.HasSuffix(p, "/runs/new/detect"))
}

// csrf is Echo's CSRF middleware (double-submit cookie), with the cookie's
// Secure flag following the request's scheme. Refusals are 403 pages.
func (a *App) csrf() echo.MiddlewareFunc {
	build := func(secure bool) echo.MiddlewareFunc {
		return middleware.CSRFWithConfig(middleware.CSRFConfig{
			Skipper:        func(c echo.Context) bool { return a.isOpenPath(c.Request().URL.Path) || a.uploadRoute(c) },
			TokenLookup:    "form:_csrf,header:X-CSRF-Token",
			ContextKey:     ctxCSRF,
			CookieName:     csrfCookieName,
			CookiePath:     cookiePath(a.BasePath),
			CookieSecure:   secure,
			CookieHTTPOnly: true,
			CookieSameSite: http.SameSiteLaxMode,
			CookieMaxAge:   int((12 * time.Hour).Seconds()),
			ErrorHandler: func(err error, c echo.Context) error {
				return &PageError{Status: http.StatusForbidden, Heading: "Form expired or forged", Category: "csrf",
					Explanation: "The form's security token is missing or does not match. Go back, reload the page and submit it again.", Err: err}
			},
		})
	}
	plain, secure := build(false), build(true)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		hp, hs := plain(next), secure(next)
		return func(c echo.Context) error {
			a.unmaskCSRF(c) // pages carry masked tokens (BREACH): see csrfmask.go
			if a.isHTTPS(c.Request()) {
				return hs(c)
			}
			return hp(c)
		}
	}
}

// csrfToken is the token forms carry. Echo skips the token (and its
// cookie) for browsers whose Sec-Fetch-Site proves the request same-origin;
// forms still get a real one, so clients without that header can post.
func (a *App) csrfToken(c echo.Context) string {
	if t, _ := c.Get(ctxCSRF).(string); t != "" && t != middleware.CSRFUsingSecFetchSite {
		return t
	}
	if ck, err := c.Cookie(csrfCookieName); err == nil && ck.Value != "" {
		c.Set(ctxCSRF, ck.Value)
		return ck.Value
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	c.SetCookie(&http.Cookie{
		Name: csrfCookieName, Value: token, Path: cookiePath(a.BasePath),
		Expires:  time.Now().Add(12 * time.Hour),
		Secure:   a.isHTTPS(c.Request()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	c.Set(ctxCSRF, token)
	return token
}

// limitBody caps the request body; a larger one is refused with 413
// before a handler reads it, or fails the read when it lied about its size.
func limitBody(limit int64, what string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > limit {
				return &PageError{Status: http.StatusRequestEntityTooLarge, Heading: "Too large", Category: "too large",
					Explanation: fmt.Sprintf("%s may be at most %s; this one is %s.", what, formatSize(limit), formatSize(r.ContentLength))}
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
			return next(c)
		}
	}
}

// requireAct refuses state-changing routes to viewers and in read-only
// mode, whatever the page showed.
func (a *App) requireAct(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !identityOf(c).CanAct {
			return errCannotAct(a.Identity.ReadOnly)
		}
		return next(c)
	}
}

func formatSize(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}
