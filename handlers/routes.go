// Package handlers holds Editwatch's pages: each parses input, calls the
// service it needs (the Extend client, the store, the monitor or the
// upstream services), builds a view model and renders it. Routes lists
// every route in one place; the layers in front of them live in
// middleware.
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

// Request body limits of the form routes. The webhook receiver's own
// limit is webhookBodyLimit (webhook.go); routes not listed get
// middleware.DefaultFormLimit.
const (
	// connectBodyLimit: the key, the workspace ID, the deployment, the
	// CSRF token and a next= path.
	connectBodyLimit = 16 << 10
	// actionBodyLimit: reveal, re-run, delete, disconnect and sign-out forms carry a
	// few hidden fields.
	actionBodyLimit = 16 << 10
	// formBodyLimit is what every other form may send.
	formBodyLimit = middleware.DefaultFormLimit
)

// routes installs the middleware, the error handler and every route of the
// dashboard on e, all under app.BasePath, grouped as open, session and
// webhook routes.
//
// Middleware order: request ID, compression (its finish must come after
// everything written, error pages included), request metrics, access log,
// panic recovery, security headers (CSP nonce), identity (open paths excepted),
// rate limit per identity, body limit of the route (before anything reads
// a body), cross-origin guard, session, ended-session notice, CSRF token.
// The act check is per route.
func routes(e *echo.Echo, app *dashboard) {
	e.HTTPErrorHandler = app.ErrorHandler
	bodies := middleware.NewBodyLimits(app.isOpenPath)
	openRequest := func(c echo.Context) bool { return app.isOpenPath(c.Request().URL.Path) }
	e.Use(middleware.RequestID(),
		middleware.Compress(app.BasePath+"_sandbox/", app.BasePath+"static/", app.BasePath+views.RouteDownload,
			app.BasePath+views.RouteRunFile))
	if app.Metrics != nil {
		e.Use(app.Metrics.Middleware())
	}
	e.Use(middleware.AccessLog(app.Logger, app.quietRequest),
		middleware.Recover(app.Logger),
		middleware.SecurityHeaders(app.FrameAncestors, app.Identity.IsHTTPS),
		middleware.Identify(app.Identity, app.isOpenPath),
		middleware.LimitRate(middleware.RateLimitOptions{
			Limits: app.RateLimits, Now: app.Now, Exempt: app.rateExempt,
			ConnectRoute: app.path(views.RouteConnect), ByProxyIdentity: app.Identity.HeaderMode(), Sessions: app.Sessions,
		}),
		bodies.Middleware(),
		middleware.Unless(openRequest, middleware.CrossOriginGuard()),
		middleware.Unless(openRequest, app.Sessions.LoadSession()),
		app.Sessions.EndedSessions(middleware.EndedSessionOptions{ConnectPath: app.path(views.RouteConnect),
			ReturnPath: app.returnPath, NextParam: views.ParamNext}),
		app.csrf.Middleware())

	base := strings.TrimSuffix(app.BasePath, "/")
	if base != "" {
		e.GET(base, func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, app.BasePath) })
	}
	g := e.Group(base)

	// Open: probes, assets, the embedded sandbox. No identity, session or
	// CSRF token (isOpenPath).
	g.GET("/healthz", app.Health.Live)
	g.GET("/readyz", app.Health.Ready)
	g.GET("/static/*", echo.WrapHandler(app.Assets))
	g.HEAD("/static/*", echo.WrapHandler(app.Assets))
	if app.Sandbox != nil && app.Sandbox.Handler != nil {
		g.Any("/_sandbox/*", echo.WrapHandler(app.guardSandbox(http.StripPrefix(app.BasePath+"_sandbox", app.Sandbox.Handler))))
	}

	// Session: the pages, behind identity, session and CSRF token.
	upload := app.MaxUpload + uploadSlack
	g.GET("/"+views.RouteConnect, app.connectForm)
	bodies.Form(g.POST("/"+views.RouteConnect, app.connect), connectBodyLimit, "The connect form")
	bodies.Form(g.POST("/"+views.RouteDisconnect, app.disconnect), actionBodyLimit, "The disconnect form")
	bodies.Form(g.POST("/"+views.RouteSignOut, app.signOut), actionBodyLimit, "The sign-out form")
	g.GET("/"+views.RouteSignOut, app.signedOut)

	g.GET("/", app.overview)
	g.GET("/"+views.RouteRuns, app.runsList)
	g.GET("/"+views.RouteNewRun, app.newRunPage)
	bodies.Raw(g.POST("/"+views.RouteNewRun, app.createRun, app.requireAct), upload, "An upload")
	bodies.Raw(g.POST("/"+views.RouteDetect, app.detectFields, app.requireAct), upload, "An upload")
	g.GET("/"+views.RouteRun, app.runPage)
	g.GET("/"+views.RouteRunRow, app.runRow)
	g.GET("/"+views.RouteRunStatus, app.runStatus)
	g.GET("/"+views.RouteDownload, app.download)
	g.GET("/"+views.RouteRunFile, app.runFile)
	g.GET("/"+views.RouteFile, app.uploadedFile)
	bodies.Form(g.POST("/"+views.RouteReveal, app.reveal), actionBodyLimit, "The reveal form")
	bodies.Form(g.POST("/"+views.RouteRevealAll, app.revealAll), actionBodyLimit, "The reveal-all form")
	bodies.Form(g.POST("/"+views.RouteRerun, app.rerun, app.requireAct), actionBodyLimit, "The re-run form")
	bodies.Form(g.POST("/"+views.RouteDelete, app.deleteRun, app.requireAct), actionBodyLimit, "The delete form")
	bodies.Form(g.POST("/"+views.RouteRunGone, app.markRunGone, app.requireAct), actionBodyLimit, "The mark-gone form")
	bodies.Form(g.POST("/"+views.RouteDismiss, app.dismissStuckRun, app.requireAct), actionBodyLimit, "The dismiss form")
	bodies.Form(g.POST("/"+views.RouteRunsBulk, app.runsBulk, app.requireAct), formBodyLimit, "The bulk form")

	g.GET("/"+views.RouteFailures, app.failures)
	g.POST("/"+views.RouteFailuresRerun, app.failuresRerun, app.requireAct)
	g.GET("/"+views.RouteJob, app.jobProgress)
	g.POST("/"+views.RouteJobResume, app.resumeJob, app.requireAct)
	g.GET("/"+views.RouteLegacyRerunJob, app.legacyJobProgress)
	// A progress page open since before the move posts its resume form here.
	g.POST("/"+views.RouteLegacyRerunJobResume, app.resumeJob, app.requireAct)
	g.GET("/"+views.RouteExportCSV, app.exportCSV)
	g.GET("/"+views.RouteExportNDJSON, app.exportNDJSON)
	g.GET("/"+views.RouteAudit, app.auditLog)
	if app.Alerts != nil {
		g.GET("/"+views.RouteAlerts, app.alertsPage)
		bodies.Form(g.POST("/"+views.RouteAlertsSilence, app.silenceAlert, app.requireAct), actionBodyLimit, "The silence form")
		bodies.Form(g.POST("/"+views.RouteAlertsTest, app.testAlert, app.requireAct), actionBodyLimit, "The test form")
		g.POST("/"+views.RouteAlertRules, app.saveAlertRule, app.requireAct)
		bodies.Form(g.POST("/"+views.RouteAlertRuleChange, app.changeAlertRule, app.requireAct), actionBodyLimit, "The rule form")
		g.POST("/"+views.RouteAlertChannels, app.saveAlertChannel, app.requireAct)
		bodies.Form(g.POST("/"+views.RouteAlertChannelsDelete, app.deleteAlertChannel, app.requireAct), actionBodyLimit, "The channel form")
	}

	if app.Live == nil {
		return
	}
	// Live updates and the settings that feed them; forms get the default
	// form body limit.
	g.GET("/"+views.RouteEvents, app.events)
	g.GET("/"+views.RouteSettings, app.settingsPage)
	g.POST("/"+views.RouteSettingsLive, app.enableLiveUpdates, app.requireAct)
	g.POST("/"+views.RouteSettingsEndpoints, app.addPastedEndpoint, app.requireAct)
	g.POST("/"+views.RouteServiceKey, app.setServiceKey, app.requireAct)
	g.POST("/"+views.RouteServiceKeyRevoke, app.revokeServiceKey, app.requireAct)
	g.GET("/"+views.RouteDeliveries, app.deliveriesPage)
	g.POST("/"+views.RouteSync, app.startSync)
	g.GET("/"+views.RouteSync, app.syncProgress)

	// Webhook: Extend's deliveries, authenticated by their signature alone.
	g.POST("/"+routeWebhook, app.receiveWebhook)
}

// isOpenPath: health probes, assets, the embedded sandbox and the webhook
// receiver need no identity, session or CSRF token.
func (a *dashboard) isOpenPath(p string) bool {
	rest, ok := strings.CutPrefix(p, a.BasePath)
	if !ok {
		return false
	}
	return rest == "healthz" || rest == "readyz" || strings.HasPrefix(rest, "static/") || strings.HasPrefix(rest, "_sandbox/") ||
		a.isWebhookPath(p)
}

// quietRequest: probes, assets and htmx polling would drown the access
// log; they are logged at debug level.
func (a *dashboard) quietRequest(c echo.Context) bool {
	return a.isOpenPath(c.Request().URL.Path) || c.Request().Header.Get("HX-Request") != ""
}

// rateExempt names paths that take no rate-limit token: the open paths.
func (a *dashboard) rateExempt(p string) bool {
	if a.isOpenPath(p) {
		return true
	}
	rest, _ := strings.CutPrefix(p, a.BasePath)
	return strings.HasPrefix(rest, "webhooks/")
}

// uploadRoute names the multipart routes that check their CSRF token
// themselves while streaming (see newrun_upload.go).
func uploadRoute(c echo.Context) bool {
	p := c.Path()
	return c.Request().Method == http.MethodPost &&
		(strings.HasSuffix(p, "/"+views.RouteNewRun) || strings.HasSuffix(p, "/"+views.RouteDetect))
}

// requireAct refuses state-changing routes to viewers and in read-only
// mode, whatever the page showed.
func (a *dashboard) requireAct(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !middleware.IdentityOf(c).CanAct {
			return errCannotAct(a.Identity.ReadOnly)
		}
		return next(c)
	}
}
