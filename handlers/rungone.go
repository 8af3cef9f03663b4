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

// runGoneInExtend is the page of a run Extend answers 404 for. When
// history recorded the run (it was deleted in Extend, or is past Extend's
// retention), the page shows what history knows, says why the live data
// is missing, and offers to mark the run gone; otherwise it is the plain
// "Run not found".
func (a *dashboard) runGoneInExtend(c echo.Context, conn connection, id string, cause error) error {
	if !granted(c, conn.Tenant) {
		return cause
	}
	snap, err := a.Store.GetRun(c.Request().Context(), conn.Tenant, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.Logger.WarnContext(c.Request().Context(), "run page: read history", "request_id", middleware.RequestIDOf(c), "err", err)
		}
		return cause
	}
	pe := describeError(cause, errRunContext{runID: id, workspace: conn.Ref()}, hostOf(a.baseURLOf(conn)))
	pe.Heading = "Extend no longer has run " + id
	pe.Recorded = recordedRunFacts(snap)
	if snap.Deleted() {
		pe.Explanation = "Extend answers 404 for this run, and Editwatch's history already marks it gone. " +
			"What history recorded is below; the filled values and the edited PDF were never kept by Editwatch."
		return pe
	}
	pe.Explanation = "Extend answers 404 for this run: it was deleted (in Extend's dashboard, through its API, or by another tool), " +
		"or it is older than Extend keeps runs. Editwatch's history still lists it; what it recorded is below. " +
		"The filled values and the edited PDF live only in Extend, so they cannot be shown. " +
		"Mark it gone to take it off the lists of live runs; the mark is written to the audit log."
	if a.Live != nil && middleware.IdentityOf(c).CanAct {
		pe.MarkGoneURL = views.RunGoneURL(a.BasePath, conn.Ref(), id)
	}
	return pe
}

// markRunGone is POST /runs/:id/gone: history records that Extend no
// longer has the run, after Extend confirms it with a 404, and the audit
// log says who did it.
func (a *dashboard) markRunGone(c echo.Context) error {
	conn, cl, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	_, err = cl.GetEditRun(ctx, id)
	if err == nil {
		return &PageError{Status: http.StatusConflict, Heading: "Extend still has this run", Category: "conflict",
			Explanation: "Extend answered for run " + id + " again, so it is not gone: open its page."}
	}
	if !errors.Is(err, extendapi.ErrNotFound) {
		return err
	}
	if a.Live == nil || !granted(c, conn.Tenant) {
		return &PageError{Status: http.StatusNotFound, Heading: "Run not found", Category: "not found",
			Explanation: "Editwatch's history has no run " + id + " in workspace " + conn.Ref() + "."}
	}
	if _, err := a.Store.GetRun(ctx, conn.Tenant, id); err != nil {
		return err
	}
	if _, err := a.Live.Monitor.RecordDeleted(ctx, conn.Tenant, id); err != nil {
		return err
	}
	a.presigned.dropRun(conn.Tenant, id)
	if err := a.audit(c, store.AuditMarkGone, conn.Tenant, id, "marked gone: Extend answers 404"); err != nil {
		return err
	}
	if err := a.setFlash(c, views.FlashSuccess, "Run "+id+" is marked gone in history."); err != nil {
		return err
	}
	return redirect(c, views.RunsURL(a.BasePath, conn.Ref(), views.RunsFilter{}, ""))
}

// dismissStuckRun is POST /runs/:id/dismiss: a person looked at a stuck
// run and takes it off the stuck-runs list (and its count). The run stays
// in history and in the list; the audit log says who dismissed it.
func (a *dashboard) dismissStuckRun(c echo.Context) error {
	conn, _, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	if !granted(c, conn.Tenant) {
		return &PageError{Status: http.StatusForbidden, Heading: "History is not open to your key", Category: "not granted",
			Explanation: "Stuck runs come from Editwatch's history of workspace " + conn.Ref() + ", which your key has not been proven to read. Open the runs list first."}
	}
	ctx := c.Request().Context()
	snap, err := a.Store.GetRun(ctx, conn.Tenant, id)
	if err != nil {
		return err
	}
	if snap.Status != store.StatusProcessing {
		return &PageError{Status: http.StatusConflict, Heading: "Run " + id + " is not stuck", Category: "conflict",
			Explanation: "History records it as " + snap.Status + ": it finished, so there is nothing to dismiss."}
	}
	if err := a.Store.DismissRun(ctx, conn.Tenant, id); err != nil {
		return err
	}
	if err := a.audit(c, store.AuditDismiss, conn.Tenant, id, "dismissed from the stuck-runs list"); err != nil {
		return err
	}
	if err := a.setFlash(c, views.FlashSuccess, "Run "+id+" is off the stuck-runs list."); err != nil {
		return err
	}
	return redirect(c, views.RunsURL(a.BasePath, conn.Ref(), views.RunsFilter{Stuck: true}, ""))
}
