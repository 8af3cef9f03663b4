package handlers

import (
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Request body limits, one per route. They are enforced before any
// middleware reads a body (the CSRF check reads the form), so a large body
// is refused with 413 instead of being parsed.
const (
	// connectBodyLimit: the key, the workspace ID, the deployment, the
	// CSRF token and a next= path.
	connectBodyLimit = 16 << 10
	// actionBodyLimit: reveal, re-run, delete and disconnect forms carry a
	// few hidden fields.
	actionBodyLimit = 16 << 10
)

// The webhook receiver's own limit is WebhookBodyLimit (webhook.go): open
// paths that are not listed here are left to their handler.

// bodyLimit is one route's cap. Forms are parsed here, within the cap, so
// an oversized chunked form is a 413 too; raw bodies (uploads streamed to
// Extend, webhooks) are only capped and left to their handler.
type bodyLimit struct {
	limit int64
	what  string
	form  bool
}

// bodyLimits maps routes ("POST /ew/connect") to their limit. Routes fills
// it while registering; it is read-only once serving.
type bodyLimits struct {
	app    *App
	routes map[string]bodyLimit
}

func newBodyLimits(app *App) *bodyLimits {
	return &bodyLimits{app: app, routes: map[string]bodyLimit{}}
}

// form caps a form route and parses its form within the cap.
func (b *bodyLimits) form(r *echo.Route, limit int64, what string) {
	b.routes[r.Method+" "+r.Path] = bodyLimit{limit: limit, what: what, form: true}
}

// raw caps a route whose handler reads the body itself.
func (b *bodyLimits) raw(r *echo.Route, limit int64, what string) {
	b.routes[r.Method+" "+r.Path] = bodyLimit{limit: limit, what: what}
}

// of is the limit of the request's route. Routes not listed get
// formBodyLimit (unknown paths and methods too), except open paths: the
// embedded sandbox and the webhook receiver read their bodies with their
// own limits, and nothing reads a body before them.
func (b *bodyLimits) of(c echo.Context) (bodyLimit, bool) {
	if l, ok := b.routes[c.Request().Method+" "+c.Path()]; ok {
		return l, true
	}
	if b.app.isOpenPath(c.Request().URL.Path) {
		return bodyLimit{}, false
	}
	return bodyLimit{limit: formBodyLimit, what: "A form", form: true}, true
}

// middleware applies each route's limit.
func (b *bodyLimits) middleware() echo.MiddlewareFunc {
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
			return &PageError{Status: http.StatusRequestEntityTooLarge, Heading: "Too large", Category: "too large",
				Explanation: fmt.Sprintf("%s may be at most %s; this one is larger.", l.what, formatSize(l.limit)), Err: err}
		case err != nil:
			return &PageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Category: "bad request",
				Explanation: "The form could not be read; reload the page and submit it again.", Err: err}
		}
		return next(c)
	}
}
