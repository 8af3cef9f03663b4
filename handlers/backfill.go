package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// Audit actions of the live half.
const (
	auditLiveEnable       = "live-updates-enable"
	auditEndpointAdd      = "webhook-endpoint-add"
	auditServiceKeySet    = "service-key-set"
	auditServiceKeyRevoke = "service-key-revoke"
	auditSync             = "history-sync"
)

// afterConnect runs once a key was checked with a live call and stored:
// the grant is decided anew for this key (a grant of an earlier key of
// the same workspace does not carry over), and history is synced.
func (a *dashboard) afterConnect(c echo.Context, conn connection, cl *extendapi.Client) {
	if a.Live == nil {
		return
	}
	forgetGrant(c, conn.Tenant)
	ok, err := a.grantAfterLiveCall(c, conn, cl)
	if err != nil {
		a.Logger.WarnContext(c.Request().Context(), "history: grant check at connect", "request_id", middleware.RequestIDOf(c), "err", err)
	}
	if ok {
		if _, err := a.Backfills.Start(c.Request().Context(), conn.Connection, conn.SessionID); err != nil {
			a.Logger.WarnContext(c.Request().Context(), "history: sync at connect not started", "request_id", middleware.RequestIDOf(c), "err", err)
		}
	}
}

// startSync is POST /settings/sync: the "Sync history" button.
func (a *dashboard) startSync(c echo.Context) error {
	conn, cl, err := a.workspaceClient(c)
	if errors.Is(err, errNoConnection) {
		return a.toConnect(c)
	}
	if err != nil {
		return err
	}
	if err := a.ensureGrant(c, conn, cl); err != nil {
		return err
	}
	msg := "History sync started."
	started, err := a.Backfills.Start(c.Request().Context(), conn.Connection, conn.SessionID)
	if err != nil {
		return err
	}
	if !started {
		msg = "History sync is already running."
	} else if err := a.audit(c, auditSync, conn.Tenant, conn.Ref(), "sync history"); err != nil {
		return err
	}
	if err := a.setFlash(c, views.FlashSuccess, msg); err != nil {
		return err
	}
	return redirect(c, views.SettingsURL(a.BasePath, conn.Ref()))
}

// syncProgress is GET /settings/sync: the progress partial, polled while
// a backfill runs.
func (a *dashboard) syncProgress(c echo.Context) error {
	conn, err := a.workspace(c)
	if errors.Is(err, errNoConnection) {
		return a.toConnect(c)
	}
	if err != nil {
		return err
	}
	if !granted(c, conn.Tenant) {
		return &PageError{Status: http.StatusForbidden, Heading: "History not available", Category: "not granted",
			Explanation: "Open the workspace's settings page first."}
	}
	view, err := a.syncView(c, conn)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, views.SyncProgress(a.plainBase(c, ""), conn.Ref(), view))
}

// syncView is the latest backfill's progress with the tenant's sync time.
func (a *dashboard) syncView(c echo.Context, conn connection) (views.SyncView, error) {
	p, _, err := a.Backfills.Progress(c.Request().Context(), conn.Tenant)
	if err != nil {
		return views.SyncView{}, err
	}
	view := views.SyncView{Running: p.Running, Pages: p.Pages, Seen: p.Seen, New: p.New, Started: p.Started,
		Finished: p.Finished, Outcome: p.Outcome, Failed: p.Failed}
	t, err := a.Store.GetTenant(c.Request().Context(), conn.Tenant)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return view, err
	default:
		view.SyncedAt = t.SyncedAt
	}
	return view, nil
}
