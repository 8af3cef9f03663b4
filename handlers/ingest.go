package handlers

import (
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
)

// ingest hands runs a page just read from Extend (with the connection's
// key, under its workspace header) to history, under the connection's
// tenant once the session is granted it. History is a by-product of the
// page: a failure here is logged, never shown.
func (a *dashboard) ingest(c echo.Context, conn connection, cl *extendapi.Client, via string, runs ...extendapi.EditRun) {
	if a.Live == nil || len(runs) == 0 {
		return
	}
	ctx := c.Request().Context()
	ok, err := a.grantAfterLiveCall(c, conn, cl)
	if err != nil {
		a.Logger.WarnContext(ctx, "history: grant check failed", "request_id", middleware.RequestIDOf(c), "tenant", conn.Tenant, "err", err)
	}
	if !ok {
		return
	}
	if _, err := a.Live.Monitor.IngestMany(ctx, conn.Tenant, via, runs); err != nil {
		a.Logger.WarnContext(ctx, "history: ingest failed", "request_id", middleware.RequestIDOf(c), "tenant", conn.Tenant, "err", err)
	}
}

// ingestGone records that Extend answered 404 for a run history knows
// (deleted elsewhere), under a granted tenant.
func (a *dashboard) ingestGone(c echo.Context, conn connection, runID string) {
	if a.Live == nil || !granted(c, conn.Tenant) {
		return
	}
	ctx := c.Request().Context()
	if _, err := a.Store.GetRun(ctx, conn.Tenant, runID); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.Logger.WarnContext(ctx, "history: look up run", "request_id", middleware.RequestIDOf(c), "err", err)
		}
		return
	}
	if _, err := a.Live.Monitor.RecordDeleted(ctx, conn.Tenant, runID); err != nil {
		a.Logger.WarnContext(ctx, "history: record deletion", "request_id", middleware.RequestIDOf(c), "err", err)
	}
}
