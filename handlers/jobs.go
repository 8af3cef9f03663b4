package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// jobProgress is GET /jobs/:job: the progress of a bulk re-run (with
// each new run's status as history records it) or of a bulk delete, for
// the session and workspace that started it only, on any replica.
func (a *dashboard) jobProgress(c echo.Context) error {
	conn, job, err := a.ownJob(c)
	if err != nil || job.ID == "" {
		return err
	}
	page := rerunJobPage(job, conn.Ref())
	page.StatusURL = views.JobURL(a.BasePath, conn.Ref(), job.ID)
	page.BackURL = views.FailuresURL(a.BasePath, conn.Ref(), views.TimeRange{})
	title := "Re-run progress"
	if job.Delete {
		page.BackURL = views.RunsURL(a.BasePath, conn.Ref(), views.RunsFilter{}, "")
		title = "Delete progress"
	}
	if page.CreatedStatus, err = a.createdStatuses(c, conn.Tenant, job.Created); err != nil {
		return err
	}
	if job.Finished && job.Pending > 0 {
		page.ResumeURL = views.JobResumeURL(a.BasePath, conn.Ref(), job.ID)
	}
	if c.Request().Header.Get("HX-Request") != "" {
		page.Base = a.plainBase(c, "")
		return a.render(c, http.StatusOK, views.RerunProgress(page))
	}
	nav := views.NavFailures
	if job.Delete {
		nav = views.NavRuns
	}
	if page.Base, err = a.base(c, title, nav); err != nil {
		return err
	}
	return a.render(c, http.StatusOK, views.RerunJobView(page))
}

// resumeJob is POST /jobs/:job/resume: go on with a job that stopped,
// from the runs it had not started. The runs that were in flight when it
// stopped stay unknown: they may have spent credits.
func (a *dashboard) resumeJob(c echo.Context) error {
	conn, job, err := a.ownJob(c)
	if err != nil || job.ID == "" {
		return err
	}
	back := views.JobURL(a.BasePath, conn.Ref(), job.ID)
	resumed, running, nothingLeft := "Re-run resumed: starting the runs it had not started.",
		"This re-run is still running.", "This re-run has no runs left to start."
	if job.Delete {
		resumed, running, nothingLeft = "Delete resumed: deleting the runs it had not reached.",
			"This delete is still running.", "This delete has no runs left to reach."
	}
	kind, msg := views.FlashSuccess, resumed
	switch {
	case !job.Finished:
		kind, msg = views.FlashInfo, running
	case job.Pending == 0:
		kind, msg = views.FlashInfo, nothingLeft
	default:
		_, err := a.Reruns.Resume(c.Request().Context(), job.ID)
		if errors.Is(err, store.ErrJobRunning) {
			kind, msg = views.FlashInfo, running
		} else if err != nil {
			return err
		}
	}
	if kind == views.FlashSuccess {
		action, what := store.AuditRerun, "bulk re-run "
		if job.Delete {
			action, what = store.AuditDelete, "bulk delete "
		}
		if err := a.audit(c, action, conn.Tenant, jobTarget(job.Reason), what+job.ID+" resumed"); err != nil {
			return err
		}
	}
	if err := a.setFlash(c, kind, msg); err != nil {
		return err
	}
	return redirect(c, back)
}

// legacyJobProgress is GET /failures/rerun/:job, where job pages lived
// before delete jobs shared them: a link shared then leads, for good, to
// the job's page now.
func (a *dashboard) legacyJobProgress(c echo.Context) error {
	to := views.JobURL(a.BasePath, "", c.Param("job"))
	if q := c.Request().URL.RawQuery; q != "" {
		to += "?" + q
	}
	return c.Redirect(http.StatusMovedPermanently, to)
}

// ownJob is the job named in the URL when it belongs to this session
// and workspace; a zero status with a nil error when the page was already
// answered (no history for the workspace).
func (a *dashboard) ownJob(c echo.Context) (connection, upstream.RerunStatus, error) {
	conn, tenant, err := a.historyWorkspace(c)
	if err != nil || tenant == "" {
		return conn, upstream.RerunStatus{}, err
	}
	sid := ""
	if sess := middleware.SessionOf(c); sess != nil {
		sid = middleware.SessionID(sess)
	}
	job, err := a.Reruns.Status(c.Request().Context(), c.Param("job"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (job.Tenant != tenant || job.SessionID != sid)) {
		return conn, upstream.RerunStatus{}, &PageError{Status: http.StatusNotFound, Heading: "Bulk action not found", Category: "not found",
			Explanation: "This bulk re-run or delete is not known here: it belongs to another session, or it is older than Editwatch keeps jobs."}
	}
	if err != nil {
		return conn, upstream.RerunStatus{}, err
	}
	return conn, job, nil
}

// jobTarget names a bulk job's runs in the audit log, as its start did.
func jobTarget(reason string) string {
	switch reason {
	case "":
		return "selected runs"
	case store.FailureReasonNone:
		return "no reason given"
	}
	return reason
}

// rerunJobPage is a job's progress as its page shows it, in workspace ws.
func rerunJobPage(job upstream.RerunStatus, ws string) views.RerunJobPage {
	p := job.RerunProgress
	// A failure group's job carries its reason (store.FailureReasonNone
	// for the group with none); a selection in the runs list, none.
	reason := job.Reason
	if reason == store.FailureReasonNone {
		reason = ""
	}
	page := views.RerunJobPage{ID: job.ID, Reason: reason, Selection: job.Reason == "", Total: job.Total, Done: p.Done, Created: p.Created,
		Delete: job.Delete, Deleted: p.Deleted, Gone: p.Gone, Finished: p.Finished, ServiceKey: p.ServiceKey, Workspace: ws, Pending: p.Pending}
	for _, f := range p.Failed {
		page.Failed = append(page.Failed, views.RerunFailure{RunID: f.RunID, Error: rerunErrorText(f.Err, ws)})
	}
	if p.Stopped != nil {
		page.Stopped = rerunErrorText(p.Stopped, ws)
		if job.Delete && errors.Is(p.Stopped, upstream.ErrStoppedAtLogout) {
			page.Stopped = "Stopped: the person who started this delete logged out (or disconnected the workspace), and the workspace has no service key to go on with. The runs not yet reached were left as they are."
		}
	}
	return page
}

// createdStatuses reads the status history records for each run a bulk
// re-run started; a run history has not seen yet has none.
func (a *dashboard) createdStatuses(c echo.Context, tenant string, ids []string) (map[string]string, error) {
	runs, err := a.Store.GetRuns(c.Request().Context(), tenant, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(runs))
	for id, snap := range runs {
		if snap.Deleted() {
			out[id] = "deleted"
		} else {
			out[id] = snap.Status
		}
	}
	return out, nil
}

// rerunErrorText is what the progress page says about a run that was not
// started again, or about why the job stopped.
func rerunErrorText(err error, ws string) string {
	if errors.Is(err, upstream.ErrStoppedAtLogout) {
		return "Stopped: the person who started this re-run logged out (or disconnected the workspace), and the workspace has no service key to go on with. The runs not yet started were left as they are."
	}
	var re upstream.RerunError
	if errors.As(err, &re) {
		return string(re)
	}
	pe := describeError(err, errRunContext{workspace: ws}, "Extend")
	if pe.Explanation != "" && pe.Category != "internal" {
		return pe.Heading + ": " + pe.Explanation
	}
	return err.Error()
}
