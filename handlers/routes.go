// Package handlers holds Editwatch's Echo handlers: each parses input, calls
// one thing (the Extend client, the store or the monitor), builds a view
// model and renders it. Routes lists every route in one place.
package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// uploadSlack is what a multipart upload may carry besides the file: the
// schema, instructions and the other fields.
const uploadSlack = 2 << 20

// Routes installs the middleware, the error handler and every route of the
// dashboard on e, all under app.BasePath.
//
// Middleware order: request ID, compression (its finish must come after
// everything written, error pages included), access log, panic recovery, security
// headers (CSP nonce), identity (open paths excepted), rate limit per
// identity, body limit of the route (before anything reads a body),
// cross-origin guard, session, ended-session notice, CSRF token. The act
// check is per route.
func Routes(e *echo.Echo, app *App) {
	e.HTTPErrorHandler = app.ErrorHandler
	bodies := newBodyLimits(app)
	e.Use(RequestID(),
		middleware.Compress(app.BasePath+"_sandbox/", app.BasePath+"static/", app.BasePath+views.RouteDownload),
		app.httpMetrics(), app.accessLog(), app.recoverPanics(),
		SecurityHeaders(app.FrameAncestors, app.isHTTPS),
		IdentityMiddleware(app.Identity, app.isOpenPath),
		app.rateLimit(newIdentityLimiter(app.RateLimits, app.Now)),
		bodies.middleware(),
		skipOpen(app, CrossOriginGuard()),
		app.loadSession(), app.explainEndedSession(), app.csrf())

	base := strings.TrimSuffix(app.BasePath, "/")
	if base != "" {
		e.GET(base, func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, app.BasePath) })
	}
	g := e.Group(base)

	// Open: probes, assets, the embedded sandbox.
	g.GET("/healthz", app.Health.Live)
	g.GET("/readyz", app.Health.Ready)
	g.GET("/static/*", echo.WrapHandler(app.Assets))
	g.HEAD("/static/*", echo.WrapHandler(app.Assets))
	if app.Sandbox != nil && app.Sandbox.Handler != nil {
		g.Any("/_sandbox/*", echo.WrapHandler(http.StripPrefix(app.BasePath+"_sandbox", app.Sandbox.Handler)))
	}

	upload := app.MaxUpload + uploadSlack

	g.GET("/"+views.RouteConnect, app.connectForm)
	bodies.form(g.POST("/"+views.RouteConnect, app.connect), connectBodyLimit, "The connect form")
	bodies.form(g.POST("/"+views.RouteDisconnect, app.disconnect), actionBodyLimit, "The disconnect form")

	g.GET("/"+views.RouteRuns, app.runsList)
	g.GET("/"+views.RouteNewRun, app.newRunPage)
	bodies.raw(g.POST("/"+views.RouteNewRun, app.createRun, app.requireAct), upload, "An upload")
	bodies.raw(g.POST("/"+views.RouteDetect, app.detectFields, app.requireAct), upload, "An upload")
	g.GET("/"+views.RouteRun, app.runPage)
	g.GET("/"+views.RouteRunRow, app.runRow)
	g.GET("/"+views.RouteRunStatus, app.runStatus)
	g.GET("/"+views.RouteDownload, app.download)
	bodies.form(g.POST("/"+views.RouteReveal, app.reveal), actionBodyLimit, "The reveal form")
	bodies.form(g.POST("/"+views.RouteRerun, app.rerun, app.requireAct), actionBodyLimit, "The re-run form")
	bodies.form(g.POST("/"+views.RouteDelete, app.deleteRun, app.requireAct), actionBodyLimit, "The delete form")

	g.GET("/"+views.RouteAudit, app.auditLog)

	registerPulseRoutes(g, app)
	registerHistoryRoutes(g, app)
}

// skipOpen applies mw except on open paths (the sandbox takes POSTs from
// the dashboard itself and from API clients).
func skipOpen(app *App, mw echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		guarded := mw(next)
		return func(c echo.Context) error {
			if app.isOpenPath(c.Request().URL.Path) {
				return next(c)
			}
			return guarded(c)
		}
	}
}
