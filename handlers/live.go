package handlers

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/views"
)

// registerPulseRoutes adds the routes of the live half when it is wired.
func registerPulseRoutes(g *echo.Group, app *App) {
	if app.Live == nil {
		return
	}
	g.POST("/"+routeWebhook, app.receiveWebhook)
	g.GET("/"+views.RouteEvents, app.events)
	// Forms get the default form body limit of the body-limit middleware.
	g.GET("/"+views.RouteSettings, app.settingsPage)
	g.POST("/"+views.RouteSettingsLive, app.enableLiveUpdates, app.requireAct)
	g.POST("/"+views.RouteSettingsEndpoints, app.addPastedEndpoint, app.requireAct)
	g.POST("/"+views.RouteServiceKey, app.setServiceKey, app.requireAct)
	g.POST("/"+views.RouteServiceKeyRevoke, app.revokeServiceKey, app.requireAct)
	g.GET("/"+views.RouteDeliveries, app.deliveriesPage)
	g.POST("/"+views.RouteSync, app.startSync)
	g.GET("/"+views.RouteSync, app.syncProgress)
}

// The webhook receiver's path: Extend posts to <base>webhooks/extend/<endpoint>.
const (
	routeWebhookPrefix = views.RouteWebhookPrefix
	routeWebhook       = routeWebhookPrefix + ":endpoint"
)

// isWebhookPath: deliveries from Extend carry no session, no CSRF token
// and no identity; their signature is their authentication.
func (a *App) isWebhookPath(p string) bool {
	rest, ok := strings.CutPrefix(p, a.BasePath)
	return ok && strings.HasPrefix(rest, routeWebhookPrefix)
}
