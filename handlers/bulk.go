package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// bulkPlan is what a bulk action would do, for its confirmation: a plain
// value a test can check without HTTP.
type bulkPlan struct {
	runs    []store.RunSnapshot
	credits float64
	noUsage int
	// failAgain counts the runs per reason that fails again unchanged.
	failAgain map[string]int
}

// planBulk sums up runs: the credits of their last recorded usage, and
// the runs that failed for a reason a re-run meets again.
func planBulk(runs []store.RunSnapshot) bulkPlan {
	p := bulkPlan{runs: runs, failAgain: map[string]int{}}
	for _, r := range runs {
		if r.Credits != nil {
			p.credits += *r.Credits
		} else {
			p.noUsage++
		}
		if r.Status == store.StatusFailed && views.FailsAgain(r.FailureReason) {
			p.failAgain[r.FailureReason]++
		}
	}
	return p
}

func (p bulkPlan) failAgainCount() int {
	n := 0
	for _, c := range p.failAgain {
		n += c
	}
	return n
}

// failAgainWhy is "CORRUPT_FILE: 3 · FILE_TYPE_NOT_SUPPORTED: 1".
func (p bulkPlan) failAgainWhy() string {
	var parts []string
	for _, reason := range slices.Sorted(maps.Keys(p.failAgain)) {
		parts = append(parts, fmt.Sprintf("%s: %d", reason, p.failAgain[reason]))
	}
	return strings.Join(parts, " · ")
}

// ids are the runs to act on, leaving out those that will fail again when
// asked.
func (p bulkPlan) ids(skipFailing bool) []string {
	var out []string
	for _, r := range p.runs {
		if skipFailing && r.Status == store.StatusFailed && views.FailsAgain(r.FailureReason) {
			continue
		}
		out = append(out, r.RunID)
	}
	return out
}

// runsBulk is POST /runs/bulk: a bulk re-run or delete of the selected
// runs (or of every run matching the list's filter), confirmed first with
// its count (and for a re-run its estimated credits and the runs that will
// fail again). Confirmed, it is a job in the jobs table, like the failure
// groups' re-run: at most views.MaxBulkRuns runs, within the rate budget,
// one audit entry per run, and a progress page any replica serves.
func (a *dashboard) runsBulk(c echo.Context) error {
	conn, tenant, err := a.historyWorkspace(c)
	if err != nil || tenant == "" {
		return err
	}
	if a.Reruns == nil {
		return &PageError{Status: http.StatusServiceUnavailable, Heading: "Bulk actions are not available", Category: "unavailable",
			Explanation: "This Editwatch runs without background jobs, so it cannot run bulk actions."}
	}
	rq := parseRunsQuery(c.QueryParams())
	rq.Filter.Range = parseTimeRange(c.QueryParams(), a.Now(), "", false)
	back := views.RunsURL(a.BasePath, conn.Ref(), rq.Filter, "")
	action := c.FormValue(views.FieldBulkAction)
	if action != views.BulkRerun && action != views.BulkDelete {
		return &PageError{Status: http.StatusBadRequest, Heading: "Unknown bulk action", Category: "bad request",
			Explanation: "The runs list offers re-running or deleting the selected runs; go back and choose one."}
	}
	deleting := action == views.BulkDelete
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	all := form.Get(views.FieldBulkAll) == "1"
	runs, capped, err := a.bulkSelection(c, tenant, rq, all, form[views.FieldBulkRun])
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		if err := a.setFlash(c, views.FlashInfo, "Select the runs first: tick their boxes, or “Select all matching the filter”."); err != nil {
			return err
		}
		return redirect(c, back)
	}
	plan := planBulk(runs)
	if form.Get(views.ConfirmField) != "1" {
		title := "Re-run runs"
		if deleting {
			title = "Delete runs"
		}
		b, err := a.base(c, title, views.NavRuns)
		if err != nil {
			return err
		}
		hidden := []views.HiddenField{{Name: views.FieldBulkAction, Value: action}}
		if all {
			hidden = append(hidden, views.HiddenField{Name: views.FieldBulkAll, Value: "1"})
		} else {
			for _, r := range runs {
				hidden = append(hidden, views.HiddenField{Name: views.FieldBulkRun, Value: r.RunID})
			}
		}
		return a.render(c, http.StatusOK, views.BulkConfirmView(views.BulkConfirmPage{
			Base: b, Action: action, Count: len(runs), Capped: capped, Credits: plan.credits, NoUsage: plan.noUsage,
			FailAgain: plan.failAgainCount(), FailAgainWhy: plan.failAgainWhy(),
			ActionURL: views.RunsBulkURL(a.BasePath, conn.Ref(), rq.Filter), CancelURL: back, Hidden: hidden,
		}))
	}
	if deleting {
		job, err := a.startBulkJob(c, conn, tenant, "", jobTarget(""), plan.ids(false), true)
		if err != nil {
			return err
		}
		return redirect(c, views.JobURL(a.BasePath, conn.Ref(), job.ID()))
	}
	ids := plan.ids(form.Get(views.FieldSkipFailing) == "1")
	if len(ids) == 0 {
		if err := a.setFlash(c, views.FlashInfo, "Nothing to re-run: every selected run would fail again unchanged."); err != nil {
			return err
		}
		return redirect(c, back)
	}
	job, err := a.startBulkJob(c, conn, tenant, "", jobTarget(""), ids, false)
	if err != nil {
		return err
	}
	return redirect(c, views.JobURL(a.BasePath, conn.Ref(), job.ID()))
}

// bulkSelection reads the selected runs from history: the IDs ticked, or
// every run matching the filter, newest first, at most views.MaxBulkRuns
// (capped says the selection had more). Runs history does not know (or
// marks deleted) are left out.
func (a *dashboard) bulkSelection(c echo.Context, tenant string, rq runsQuery, all bool, ids []string) ([]store.RunSnapshot, bool, error) {
	ctx := c.Request().Context()
	var runs []store.RunSnapshot
	if all {
		threshold, err := a.Store.StuckThreshold(ctx, tenant, a.Now())
		if err != nil {
			return nil, false, err
		}
		f := historyFilter(tenant, rq.Filter, threshold, a.Now())
		f.Limit = store.MaxRunLimit
		for r, err := range a.Store.RunsSeq(ctx, f) {
			if err != nil {
				return nil, false, err
			}
			if len(runs) == views.MaxBulkRuns {
				return runs, true, nil
			}
			runs = append(runs, r)
		}
		return runs, false, nil
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !runIDPattern.MatchString(id) {
			continue
		}
		seen[id] = true
		if len(runs) == views.MaxBulkRuns {
			return runs, true, nil
		}
		r, err := a.Store.GetRun(ctx, tenant, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if !r.Deleted() {
			runs = append(runs, r)
		}
	}
	slices.SortStableFunc(runs, func(x, y store.RunSnapshot) int { return cmp.Compare(y.At.UnixMilli(), x.At.UnixMilli()) })
	return runs, false, nil
}

// startBulkJob audits and starts a bulk re-run (or, deleting, a bulk
// delete) of ids as the request's person; reason names the failure group
// ("" for a selection), label what the audit entry calls the runs.
func (a *dashboard) startBulkJob(c echo.Context, conn connection, tenant, reason, label string, ids []string, deleting bool) (*upstream.RerunJob, error) {
	sid := ""
	if sess := middleware.SessionOf(c); sess != nil {
		sid = middleware.SessionID(sess)
	}
	actor := middleware.IdentityOf(c).User
	if actor == "" {
		actor = store.AuditActorSingleUser
	}
	action, what := store.AuditRerun, "bulk re-run of "
	if deleting {
		action, what = store.AuditDelete, "bulk delete of "
	}
	if err := a.audit(c, action, tenant, label, what+views.RunsCount(len(ids))+" started"); err != nil {
		return nil, err
	}
	return a.Reruns.Start(c.Request().Context(), upstream.RerunSpec{
		Conn: conn.Connection, SessionID: sid, Actor: actor, RequestID: middleware.RequestIDOf(c), Reason: reason,
		RunIDs: ids, Started: a.Now(), Delete: deleting,
	})
}

// recordBulkDeleted is the bulk delete's upstream.RerunOptions.OnDeleted:
// history records the run gone (a tombstone, published to live pages),
// and this process forgets its presigned file URLs.
func (a *dashboard) recordBulkDeleted(ctx context.Context, tenant, runID string) error {
	a.presigned.dropRun(tenant, runID)
	if a.Live == nil {
		return nil
	}
	_, err := a.Live.Monitor.RecordDeleted(ctx, tenant, runID)
	return err
}
