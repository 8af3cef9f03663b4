package handlers

import (
	"errors"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// runIDPattern is what a run ID may look like in our URLs: Extend's are
// "edr_" and base62; anything else never reaches the client.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// runTarget reads the run ID and resolves the workspace and its client.
func (a *dashboard) runTarget(c echo.Context) (connection, *extendapi.Client, string, error) {
	id := c.Param("id")
	// The connection is resolved first, so even the 404 of a malformed ID
	// renders with the person's connected header.
	conn, cl, err := a.workspaceClient(c)
	if errors.Is(err, errNoConnection) {
		err = &PageError{Status: http.StatusForbidden, Heading: "No workspace connected", Category: "not connected",
			Explanation: "Connect the workspace this run belongs to, then open the link again."}
	}
	if err == nil && !runIDPattern.MatchString(id) {
		err = &PageError{Status: http.StatusNotFound, Heading: "Run not found", Category: "not found",
			Explanation: "That is not a run ID: Extend's look like edr_xK9mLPqRtN3vS8wF5hB2cQ."}
	}
	return conn, cl, id, err
}

// runPage is GET /runs/:id.
func (a *dashboard) runPage(c echo.Context) error {
	conn, cl, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	run, err := cl.GetEditRun(c.Request().Context(), id)
	if err != nil {
		return a.runUnavailable(c, conn, id, err)
	}
	a.ingest(c, conn, cl, store.ViaRun, *run)
	b, err := a.base(c, "Run "+id, views.NavRuns)
	if err != nil {
		return err
	}
	revealed, err := a.revealedKeys(c, conn.Ref(), id)
	if err != nil {
		return err
	}
	page, err := runPageModel(*run, conn.Ref(), revealed)
	if err != nil {
		return err
	}
	page.Base = b
	page.DocView = a.docViewModel(*run, conn.Ref())
	page.Lineage = a.runLineage(c, conn, id)
	return a.render(c, http.StatusOK, views.RunView(page))
}

// runStatus is GET /runs/:id/status, the timer fallback of the status
// panel while the page's event stream is down. A finished run's panel
// says so and asks for a reload; nothing reloads by itself. A run deleted
// meanwhile reloads the page (its not-found page).
func (a *dashboard) runStatus(c echo.Context) error {
	conn, cl, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	run, err := cl.GetEditRun(c.Request().Context(), id)
	if errors.Is(err, extendapi.ErrNotFound) {
		a.ingestGone(c, conn, id)
	}
	if errors.Is(err, extendapi.ErrNotFound) && c.Request().Header.Get("HX-Request") != "" {
		c.Response().Header().Set("HX-Refresh", "true")
		return c.NoContent(http.StatusOK)
	}
	if err != nil {
		return err
	}
	a.ingest(c, conn, cl, store.ViaRun, *run)
	page, err := runPageModel(*run, conn.Ref(), nil)
	if err != nil {
		return err
	}
	page.Base = a.plainBase(c, "")
	// The panel replaces itself in place; the page's other cards (values,
	// timings, actions) wait for the person's reload.
	page.LiveFinished = run.Status != extendapi.StatusProcessing && c.Request().Header.Get("HX-Request") != ""
	if page.LiveFinished {
		return a.render(c, http.StatusOK, statusPanelWithBadge(page))
	}
	return a.render(c, http.StatusOK, views.RunStatusPanel(page))
}

// runUnavailable is the error of a run page that Extend failed to answer
// for a while (5xx, timeout, rate limit): the error page then also shows
// what history last recorded of the run, when the session may read the
// tenant's history. Filled values are never stored, so the page cannot
// stand in for Extend's.
func (a *dashboard) runUnavailable(c echo.Context, conn connection, id string, cause error) error {
	if errors.Is(cause, extendapi.ErrNotFound) {
		return a.runGoneInExtend(c, conn, id, cause)
	}
	if !transientUpstream(cause) || !granted(c, conn.Tenant) {
		return cause
	}
	snap, err := a.Store.GetRun(c.Request().Context(), conn.Tenant, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.Logger.WarnContext(c.Request().Context(), "run page: read history", "request_id", middleware.RequestIDOf(c), "err", err)
		}
		return cause
	}
	if snap.Deleted() {
		return cause
	}
	pe := describeError(cause, errRunContext{runID: id, workspace: conn.Ref()}, hostOf(a.baseURLOf(conn)))
	pe.Recorded = recordedRunFacts(snap)
	return pe
}

// recordedRunFacts lists what history knows of a run, for an error page.
func recordedRunFacts(r store.RunSnapshot) []views.RecordedFact {
	const layout = "2006-01-02 15:04:05 UTC"
	status := r.Status
	if r.FailureReason != "" {
		status += " (" + r.FailureReason + ")"
	}
	facts := []views.RecordedFact{{Label: "Status", Value: status}}
	if r.FileName != "" {
		facts = append(facts, views.RecordedFact{Label: "File", Value: r.FileName})
	}
	if !r.CreatedAt.IsZero() {
		facts = append(facts, views.RecordedFact{Label: "Created", Value: r.CreatedAt.UTC().Format(layout)})
	}
	seen := r.LastSeenAt.UTC().Format(layout)
	if r.SeenVia != "" {
		seen += " (" + r.SeenVia + ")"
	}
	return append(facts, views.RecordedFact{Label: "Last seen", Value: seen})
}
