package handlers

import (
	"strings"

	"github.com/editwatch/editwatch/views"
)

// The webhook receiver's path: Extend posts to <base>webhooks/extend/<endpoint>.
const (
	routeWebhookPrefix = views.RouteWebhookPrefix
	routeWebhook       = routeWebhookPrefix + ":endpoint"
)

// isWebhookPath: deliveries from Extend carry no session, no CSRF token
// and no identity; their signature is their authentication.
func (a *dashboard) isWebhookPath(p string) bool {
	rest, ok := strings.CutPrefix(p, a.BasePath)
	return ok && strings.HasPrefix(rest, routeWebhookPrefix)
}
