package middleware

import (
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"
)

// DefaultFormLimit bounds every POST that no route lists.
const DefaultFormLimit = 1 << 20

// bodyLimit is one route's cap. Forms are parsed here, within the cap, so
// an oversized chunked form is a 413 too; raw bodies (uploads streamed to
// Extend, webhooks) are only capped and left to their handler.
type bodyLimit struct {
	limit int64
	what  string
	form  bool
}

// BodyLimits maps routes ("POST /ew/connect") to their request body
// limit. They are enforced before any layer reads a body (the CSRF check
// reads the form), so a large body is refused with 413 instead of being
// parsed. Routes are listed while they are registered; the map is
// read-only once serving.
type BodyLimits struct {
	open   func(path string) bool
	routes map[string]bodyLimit
}

// NewBodyLimits returns an empty set of limits. Paths open reports (the
// embedded sandbox, the webhook receiver) read their bodies with their own
// limits and are left alone unless listed.
func NewBodyLimits(open func(path string) bool) *BodyLimits {
	if open == nil {
		open = func(string) bool { return false }
	}
	return &BodyLimits{open: open, routes: map[string]bodyLimit{}}
}

// Form caps a form route and parses its form within the cap; what names
// the body in the refusal ("The connect form").
func (b *BodyLimits) Form(r *echo.Route, limit int64, what string) {
	b.routes[r.Method+" "+r.Path] = bodyLimit{limit: limit, what: what, form: true}
}

// Raw caps a route whose handler reads the body itself.
func (b *BodyLimits) Raw(r *echo.Route, limit int64, what string) {
	b.routes[r.Method+" "+r.Path] = bodyLimit{limit: limit, what: what}
}

// of is the limit of the request's route. Routes not listed get
// DefaultFormLimit (unknown paths and methods too), except open paths:
// nothing reads a body before their handlers.
func (b *BodyLimits) of(c echo.Context) (bodyLimit, bool) {
	if l, ok := b.routes[c.Request().Method+" "+c.Path()]; ok {
		return l, true
	}
	if b.open(c.Request().URL.Path) {
		return bodyLimit{}, false
	}
	return bodyLimit{limit: DefaultFormLimit, what: "A form", form: true}, true
}

// Middleware applies each route's limit.
func (b *BodyLimits) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			l, ok := b.of(c)
			if !ok {
				return next(c)
			}
			h := next
			if l.form {
				h = parseFormWithin(l, next)
			}
			return limitBody(l.limit, l.what)(h)(c)
		}
	}
}

// parseFormWithin reads a form body now, under the cap limitBody put on
// it, so exceeding the cap is a 413 rather than a form that reads as empty.
func parseFormWithin(l bodyLimit, next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
			return next(c)
		}
		mediaType, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
		var err error
		switch mediaType {
		case echo.MIMEApplicationForm:
			err = r.ParseForm()
		case echo.MIMEMultipartForm:
			// Everything fits in memory: the body is capped far below.
			err = r.ParseMultipartForm(l.limit)
		default:
			return next(c)
		}
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return &Refusal{Status: http.StatusRequestEntityTooLarge, Heading: "Too large", Category: "too large",
				Explanation: fmt.Sprintf("%s may be at most %s; this one is larger.", l.what, FormatSize(l.limit)), Err: err}
		case err != nil:
			return &Refusal{Status: http.StatusBadRequest, Heading: "Unreadable form", Category: "bad request",
				Explanation: "The form could not be read; reload the page and submit it again.", Err: err}
		}
		return next(c)
	}
}

// limitBody caps the request body; a larger one is refused with 413
// before a handler reads it, or fails the read when it lied about its size.
func limitBody(limit int64, what string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > limit {
				return &Refusal{Status: http.StatusRequestEntityTooLarge, Heading: "Too large", Category: "too large",
					Explanation: fmt.Sprintf("%s may be at most %s; this one is %s.", what, FormatSize(limit), FormatSize(r.ContentLength))}
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
			return next(c)
		}
	}
}
