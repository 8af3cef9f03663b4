package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
)

// Context keys the layers set and the accessors below read.
const (
	ctxRequestID = "ew.request_id"
	ctxNonce     = "ew.nonce"
	ctxIdentity  = "ew.identity"
	ctxSession   = "ew.session"
	ctxCSRF      = "ew.csrf"
	ctxEnded     = "ew.ended"
)

// HeaderRequestID carries our request ID on every response.
const HeaderRequestID = "X-Request-Id"

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

// RequestIDOf is the ID RequestID gave the request.
func RequestIDOf(c echo.Context) string {
	s, _ := c.Get(ctxRequestID).(string)
	return s
}

// Recover turns a panic into an error (which the error handler renders as
// a clean 500 page); the stack goes to the log, never to the page.
func Recover(logger *slog.Logger) echo.MiddlewareFunc {
	return echomw.RecoverWithConfig(echomw.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			logger.ErrorContext(c.Request().Context(), "panic in handler", "request_id", RequestIDOf(c),
				"path", c.Request().URL.Path, "err", err.Error(), "stack", string(stack))
			return fmt.Errorf("panic: %w", err)
		},
		StackSize: 8 << 10,
	})
}

// AccessLog writes one line per request: method, path (never the query,
// which could hold anything), status, duration. Requests quiet reports
// (probes, assets, htmx polling, which would drown the rest) are logged
// at debug level.
func AccessLog(logger *slog.Logger, quiet func(c echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // the error handler writes the page now, so the status is known
			}
			level := slog.LevelInfo
			if quiet != nil && quiet(c) {
				level = slog.LevelDebug
			}
			logger.Log(c.Request().Context(), level, "request", "request_id", RequestIDOf(c),
				"method", c.Request().Method, "path", c.Request().URL.Path,
				"status", c.Response().Status, "duration_ms", time.Since(start).Milliseconds())
			return nil
		}
	}
}

// Unless applies mw to every request except those skip reports (the open
// paths: probes, assets, the embedded sandbox, the webhook receiver).
func Unless(skip func(c echo.Context) bool, mw echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		guarded := mw(next)
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			return guarded(c)
		}
	}
}
