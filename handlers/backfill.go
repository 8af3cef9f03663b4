package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// backfillPageSize is the page size asked of Extend while walking its list.
const backfillPageSize = 100

// Audit actions of the live half.
const (
	auditLiveEnable       = "live-updates-enable"
	auditEndpointAdd      = "webhook-endpoint-add"
	auditServiceKeySet    = "service-key-set"
	auditServiceKeyRevoke = "service-key-revoke"
	auditServiceKeyUse    = "service-key-use"
	auditSync             = "history-sync"
)

// backfills tracks one backfill per tenant in this process.
type backfills struct {
	mu sync.Mutex
	m  map[string]*backfillState
}

type backfillState struct {
	mu   sync.Mutex
	view views.SyncView
}

func (s *backfillState) snapshot() views.SyncView {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.view
}

func (s *backfillState) update(fn func(v *views.SyncView)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.view)
}

// progress is the tenant's latest backfill in this process, if any.
func (b *backfills) progress(tenant string) (views.SyncView, bool) {
	b.mu.Lock()
	st := b.m[tenant]
	b.mu.Unlock()
	if st == nil {
		return views.SyncView{}, false
	}
	return st.snapshot(), true
}

// startBackfill walks Extend's list for the connection's tenant in the
// background, with the key of the session that asked (and the workspace's
// service key once that session is gone, when there is one). It reports
// false when one is already running for the tenant.
func (a *App) startBackfill(conn connection, sessionID string) bool {
	b := &a.Live.backfills
	b.mu.Lock()
	if st := b.m[conn.Tenant]; st != nil && st.snapshot().Running {
		b.mu.Unlock()
		return false
	}
	st := &backfillState{view: views.SyncView{Running: true, Started: a.Now()}}
	b.m[conn.Tenant] = st
	b.mu.Unlock()
	a.Live.Background(func(ctx context.Context) { a.runBackfill(ctx, conn, sessionID, st) })
	return true
}

// runBackfill walks the list newest first: on the first sync of a tenant
// down to the configured depth (or the end), later until a whole page is
// already known. Calls go through the key's limiter, so the walk stays
// within the workspace's rate budget. A completed walk marks the tenant
// synced.
func (a *App) runBackfill(ctx context.Context, conn connection, sessionID string, st *backfillState) {
	finish := func(outcome string, failed bool) {
		st.update(func(v *views.SyncView) {
			v.Running, v.Finished, v.Outcome, v.Failed = false, a.Now(), outcome, failed
		})
		if failed {
			a.Logger.WarnContext(ctx, "history sync ended early", "tenant", conn.Tenant, "outcome", outcome)
		}
	}
	firstSync := true
	if t, err := a.Store.GetTenant(ctx, conn.Tenant); err == nil {
		firstSync = t.SyncedAt.IsZero()
	}
	var (
		key   backgroundKey
		token string
		seen  int
	)
	for {
		var err error
		if key, err = a.nextBackgroundKey(ctx, conn, sessionID, key, "history sync continued after its person logged out"); err != nil {
			finish(err.Error(), true)
			return
		}
		cl, err := a.backgroundClient(conn, key)
		if err != nil {
			finish("failed: "+err.Error(), true)
			return
		}
		page, err := cl.ListEditRuns(ctx, extendapi.ListEditRunsParams{SortBy: extendapi.SortByCreatedAt, SortDir: extendapi.SortDesc,
			MaxPageSize: backfillPageSize, NextPageToken: token})
		if err != nil {
			finish("failed: "+err.Error(), true)
			return
		}
		changes, err := a.Live.Monitor.IngestMany(ctx, conn.Tenant, store.ViaBackfill, page.Data)
		if err != nil {
			finish("failed: "+err.Error(), true)
			return
		}
		created := 0
		for _, ch := range changes {
			if ch.Created() {
				created++
			}
		}
		seen += len(page.Data)
		st.update(func(v *views.SyncView) { v.Pages++; v.Seen += len(page.Data); v.New += created })
		outcome := ""
		switch {
		case page.NextPageToken == "":
			outcome = "completed: reached the oldest run"
		case !firstSync && created == 0 && len(page.Data) > 0:
			outcome = "completed: reached runs history already had"
		case seen >= a.Live.BackfillDepth:
			outcome = fmt.Sprintf("completed: reached the configured depth of %d runs", a.Live.BackfillDepth)
		}
		if outcome != "" {
			if err := a.Store.MarkTenantSynced(ctx, conn.Tenant, a.Now()); err != nil {
				finish("failed: "+err.Error(), true)
				return
			}
			finish(outcome, false)
			return
		}
		token = page.NextPageToken
	}
}

// afterConnect runs once a key was checked with a live call and stored:
// the grant is decided anew for this key (a grant of an earlier key of
// the same workspace does not carry over), and history is synced.
func (a *App) afterConnect(c echo.Context, conn connection, cl *extendapi.Client) {
	if a.Live == nil {
		return
	}
	forgetGrant(c, conn.Tenant)
	ok, err := a.grantAfterLiveCall(c, conn, cl)
	if err != nil {
		a.Logger.WarnContext(c.Request().Context(), "history: grant check at connect", "request_id", middleware.RequestIDOf(c), "err", err)
	}
	if ok {
		a.startBackfill(conn, conn.SessionID)
	}
}

// startSync is POST /settings/sync: the "Sync history" button.
func (a *App) startSync(c echo.Context) error {
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
	if !a.startBackfill(conn, conn.SessionID) {
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
func (a *App) syncProgress(c echo.Context) error {
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
func (a *App) syncView(c echo.Context, conn connection) (views.SyncView, error) {
	view, _ := a.Live.backfills.progress(conn.Tenant)
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
