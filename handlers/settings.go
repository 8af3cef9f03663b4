package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// extendEndpointIDPattern is what Extend's endpoint IDs look like.
var extendEndpointIDPattern = regexp.MustCompile(`^wh_[A-Za-z0-9_-]{1,128}$`)

// maxSecretLength bounds a pasted signing secret or service key.
const maxSecretLength = 512

// settingsTarget resolves the workspace of a settings route and makes
// sure the session is granted its history.
func (a *dashboard) settingsTarget(c echo.Context) (connection, *extendapi.Client, error) {
	conn, cl, err := a.workspaceClient(c)
	if err != nil {
		return conn, cl, err
	}
	return conn, cl, a.ensureGrant(c, conn, cl)
}

// settingsPage is GET /settings?ws=.
func (a *dashboard) settingsPage(c echo.Context) error {
	conn, _, err := a.settingsTarget(c)
	if errors.Is(err, errNoConnection) {
		return a.toConnect(c)
	}
	if err != nil {
		return err
	}
	return a.renderSettings(c, conn, "")
}

func (a *dashboard) renderSettings(c echo.Context, conn connection, pastedURL string) error {
	ctx := c.Request().Context()
	b, err := a.base(c, "Settings", views.NavSettings)
	if err != nil {
		return err
	}
	page := views.SettingsPage{Base: b, Workspace: conn.Ref(), Tenant: conn.Tenant, Sandbox: a.Sandbox != nil,
		PastedURL: pastedURL, DeliveriesURL: views.DeliveriesURL(a.BasePath, conn.Ref(), 0)}
	if a.Live.PublicURL != "" {
		page.PublicURL = a.webhookURL("…")
	}
	eps, err := a.Store.ListWebhookEndpoints(ctx, conn.Tenant)
	if err != nil {
		return err
	}
	for _, e := range eps {
		page.Endpoints = append(page.Endpoints, views.WebhookEndpointView{ID: e.ID, ExtendID: e.ExtendID, URL: e.URL,
			Origin: e.Origin, Status: e.Status, SecretHints: e.SecretHints, CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt,
			LastDeliveryAt: e.LastDeliveryAt})
	}
	t, err := a.Store.GetTenant(ctx, conn.Tenant)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case t.ServiceKeyFingerprint != "":
		page.ServiceKey = &views.ServiceKeyView{Fingerprint: t.ServiceKeyFingerprint, SetBy: t.ServiceKeySetBy, SetAt: t.ServiceKeySetAt}
	}
	if page.Sync, err = a.syncView(c, conn); err != nil {
		return err
	}
	if page.HistorySince, err = a.Store.HistorySince(ctx, conn.Tenant); err != nil {
		return err
	}
	return a.render(c, http.StatusOK, views.SettingsView(page))
}

// webhookURL is where Extend delivers to an endpoint: --public-url, plus
// the base path when the public URL names only the host.
func (a *dashboard) webhookURL(endpointID string) string {
	base := strings.TrimRight(a.Live.PublicURL, "/")
	if u, err := url.Parse(base); err == nil && (u.Path == "" || u.Path == "/") {
		base += strings.TrimSuffix(a.BasePath, "/")
	}
	return views.WebhookURL(base, endpointID)
}

// actorOf names who acts, for endpoint and service-key records.
func actorOf(c echo.Context) string {
	if u := middleware.IdentityOf(c).User; u != "" {
		return u
	}
	return store.AuditActorSingleUser
}

// enableLiveUpdates is POST /settings/live: register an endpoint with
// Extend using the person's key. The row exists first (its ID is in the
// URL); the signing secret, shown by Extend once, is sealed at once.
func (a *dashboard) enableLiveUpdates(c echo.Context) error {
	conn, cl, err := a.settingsTarget(c)
	if err != nil {
		return err
	}
	back := views.SettingsURL(a.BasePath, conn.Ref())
	if a.Live.PublicURL == "" {
		if err := a.setFlash(c, views.FlashWarning, "Live updates need --public-url: the address at which Extend reaches this dashboard."); err != nil {
			return err
		}
		return redirect(c, back)
	}
	ctx := c.Request().Context()
	id, err := store.NewWebhookEndpointID()
	if err != nil {
		return err
	}
	hookURL := a.webhookURL(id)
	if _, err := a.Store.CreateWebhookEndpointWithID(ctx, id, store.NewWebhookEndpoint{Tenant: conn.Tenant, URL: hookURL,
		Origin: store.EndpointRegistered, Status: store.EndpointPending, CreatedBy: actorOf(c)}); err != nil {
		return err
	}
	ep, err := cl.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: hookURL, Name: "Editwatch live updates",
		EnabledEvents: upstream.WebhookEvents})
	if err != nil {
		if derr := a.Store.DeleteWebhookEndpoint(ctx, id); derr != nil {
			a.Logger.WarnContext(ctx, "remove unregistered endpoint", "endpoint", id, "err", derr)
		}
		return err
	}
	if err := a.Store.SetWebhookSecrets(ctx, id, []string{ep.SigningSecret}); err != nil {
		return err
	}
	if err := a.Store.UpdateWebhookEndpoint(ctx, id, ep.ID, "", orDefault(ep.Status, store.EndpointEnabled)); err != nil {
		return err
	}
	if err := a.audit(c, auditLiveEnable, conn.Tenant, id, "registered "+ep.ID+" for "+strings.Join(upstream.WebhookEvents, ", ")); err != nil {
		return err
	}
	if err := a.setFlash(c, views.FlashSuccess, "Live updates enabled: Extend now tells Editwatch when runs finish."); err != nil {
		return err
	}
	return redirect(c, back)
}

// addPastedEndpoint is POST /settings/endpoints: an endpoint made in
// Extend's dashboard, by its signing secret. The page then shows the URL
// to set on it.
func (a *dashboard) addPastedEndpoint(c echo.Context) error {
	conn, _, err := a.settingsTarget(c)
	if err != nil {
		return err
	}
	secret := strings.TrimSpace(c.FormValue(views.FieldWebhookSecret))
	extendID := strings.TrimSpace(c.FormValue(views.FieldWebhookExtendID))
	bad := ""
	switch {
	case secret == "" || len(secret) > maxSecretLength || strings.ContainsAny(secret, " \t\r\n"):
		bad = "Paste the endpoint's signing secret, as Extend's dashboard shows it."
	case extendID != "" && !extendEndpointIDPattern.MatchString(extendID):
		bad = "Extend's endpoint IDs look like wh_…; leave the field empty if you do not have it."
	}
	if bad != "" {
		if err := a.setFlash(c, views.FlashError, bad); err != nil {
			return err
		}
		return redirect(c, views.SettingsURL(a.BasePath, conn.Ref()))
	}
	ctx := c.Request().Context()
	id, err := store.NewWebhookEndpointID()
	if err != nil {
		return err
	}
	hookURL := views.WebhookURL(c.Scheme()+"://"+c.Request().Host+a.BasePath, id)
	if a.Live.PublicURL != "" {
		hookURL = a.webhookURL(id)
	}
	if _, err := a.Store.CreateWebhookEndpointWithID(ctx, id, store.NewWebhookEndpoint{Tenant: conn.Tenant, ExtendID: extendID,
		URL: hookURL, Origin: store.EndpointPasted, Status: store.EndpointEnabled, Secrets: []string{secret}, CreatedBy: actorOf(c)}); err != nil {
		return err
	}
	if err := a.audit(c, auditEndpointAdd, conn.Tenant, id, "endpoint made in Extend's dashboard "+extendID); err != nil {
		return err
	}
	return a.renderSettings(c, conn, hookURL)
}

// setServiceKey is POST /settings/service-key: only a key that reaches
// this workspace (a live call under its header) and can read its stored
// history (the grant rule) is kept.
func (a *dashboard) setServiceKey(c echo.Context) error {
	conn, _, err := a.settingsTarget(c)
	if err != nil {
		return err
	}
	back := views.SettingsURL(a.BasePath, conn.Ref())
	fail := func(msg string) error {
		if err := a.setFlash(c, views.FlashError, msg); err != nil {
			return err
		}
		return redirect(c, back)
	}
	key := strings.TrimSpace(c.FormValue(views.FieldServiceKey))
	if key == "" || len(key) > maxSecretLength {
		return fail("Enter the service key: an API key of this workspace.")
	}
	if conn.WorkspaceID == "" && a.Connector.KeyRef(key) != conn.Ref() {
		return fail("This workspace was connected without a workspace ID, so it is named by its key: the service key must be that same key.")
	}
	ctx := c.Request().Context()
	scl, err := a.Connector.ConnectionClient(key, conn.Connection)
	if err != nil {
		return fail("That is not a usable API key.")
	}
	if _, err := scl.ListEditRuns(ctx, extendapi.ListEditRunsParams{MaxPageSize: 1}); err != nil {
		if msg, ok := connectFailure(err, conn.WorkspaceID, hostOf(a.baseURLOf(conn))); ok {
			return fail("The service key was not kept: " + msg)
		}
		return err
	}
	decision, err := upstream.DecideGrant(ctx, a.Store, conn.Tenant, scl.GetEditRun)
	if decision != upstream.GrantAllowed {
		if err != nil {
			return err
		}
		return fail("The service key was not kept: it cannot read this workspace's stored runs.")
	}
	fp, err := a.Store.SetServiceKey(ctx, conn.Tenant, key, actorOf(c))
	if err != nil {
		return err
	}
	if err := a.audit(c, auditServiceKeySet, conn.Tenant, fp, "service key set"); err != nil {
		return err
	}
	if err := a.setFlash(c, views.FlashSuccess, "Service key "+fp+" kept, encrypted. Every use is audited."); err != nil {
		return err
	}
	return redirect(c, back)
}

// revokeServiceKey is POST /settings/service-key/revoke.
func (a *dashboard) revokeServiceKey(c echo.Context) error {
	conn, _, err := a.settingsTarget(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err := a.Store.GetTenant(ctx, conn.Tenant)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	msg := "The workspace had no service key."
	switch err := a.Store.RevokeServiceKey(ctx, conn.Tenant); {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		msg = "Service key " + t.ServiceKeyFingerprint + " revoked: it is deleted from the server."
		if err := a.audit(c, auditServiceKeyRevoke, conn.Tenant, t.ServiceKeyFingerprint, "service key revoked"); err != nil {
			return err
		}
	}
	if err := a.setFlash(c, views.FlashSuccess, msg); err != nil {
		return err
	}
	return redirect(c, views.SettingsURL(a.BasePath, conn.Ref()))
}

// deliveriesPage is GET /settings/deliveries?ws=: what arrived at the
// workspace's endpoints, newest first.
func (a *dashboard) deliveriesPage(c echo.Context) error {
	conn, _, err := a.settingsTarget(c)
	if errors.Is(err, errNoConnection) {
		return a.toConnect(c)
	}
	if err != nil {
		return err
	}
	before, _ := strconv.ParseInt(c.QueryParam(views.ParamBefore), 10, 64)
	events, next, err := a.Store.ListWebhookEvents(c.Request().Context(), store.WebhookEventFilter{Tenant: conn.Tenant, Before: max(before, 0)})
	if err != nil {
		return err
	}
	b, err := a.base(c, "Webhook deliveries", views.NavSettings)
	if err != nil {
		return err
	}
	page := views.DeliveriesPage{Base: b, Workspace: conn.Ref()}
	for _, e := range events {
		page.Deliveries = append(page.Deliveries, views.DeliveryView{ID: e.ID, EndpointID: e.EndpointID, EventID: e.EventID,
			EventType: e.EventType, RunID: e.RunID, ReceivedAt: e.ReceivedAt, Verified: e.Verified, Error: e.Error,
			Deliveries: e.Deliveries, AppliedAt: e.AppliedAt, Outcome: e.Outcome})
	}
	if next > 0 {
		page.NextURL = views.DeliveriesURL(a.BasePath, conn.Ref(), next)
	}
	if before > 0 {
		page.FirstURL = views.DeliveriesURL(a.BasePath, conn.Ref(), 0)
	}
	return a.render(c, http.StatusOK, views.DeliveriesView(page))
}
