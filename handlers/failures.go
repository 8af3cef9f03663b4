package handlers

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// Failure groups' bounds.
const (
	failureExamples  = 5
	sparklineBuckets = 48
	// maxBulkRerun is the most runs one "Re-run these" starts again (the
	// newest of the group); the confirmation says so when it cuts.
	maxBulkRerun = views.MaxBulkRuns
)

// failures is GET /failures: failed runs of a range grouped by reason.
func (a *dashboard) failures(c echo.Context) error {
	conn, tenant, err := a.historyWorkspace(c)
	if err != nil || tenant == "" {
		return err
	}
	hs, err := a.historyStateOf(c, tenant)
	if err != nil {
		return err
	}
	now := a.Now()
	rng := parseTimeRange(c.QueryParams(), now, views.RangeWeek, true)
	groups, err := a.failureGroups(c, tenant, conn.Ref(), rng)
	if err != nil {
		return err
	}
	b, err := a.base(c, "Failures", views.NavFailures)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, views.FailuresView(views.FailuresPage{Base: b, Range: rng, History: hs.note(), Groups: groups}))
}

// failureGroups reads the rollups of the range, exact to its edges
// (counts, sparkline), the oldest run of each reason's first hour (first
// seen) and a few newest runs of each reason (examples, last seen): the
// cost follows the range and the number of reasons, not history.
func (a *dashboard) failureGroups(c echo.Context, tenant, ws string, rng views.TimeRange) ([]views.FailureGroup, error) {
	ctx := c.Request().Context()
	step := store.RollupBucket
	if hours := rng.End.Sub(rng.Start) / store.RollupBucket; hours > store.MaxSeriesPoints-2 {
		step = (hours/(store.MaxSeriesPoints-2) + 1) * store.RollupBucket
	}
	series, err := a.Store.RunSeries(ctx, store.SeriesQuery{Tenant: tenant, From: rng.Start, To: rng.End, Step: step})
	if err != nil {
		return nil, err
	}
	sparkLabel := "Failures with this reason over " + rng.LabelIn(TimeZoneOf(c.Request()))
	var groups []views.FailureGroup
	for reason, n := range series.Total.Failures {
		if n <= 0 {
			continue
		}
		g := views.FailureGroup{Reason: reason, Count: n,
			RunsURL: views.RunsURL(a.BasePath, ws, views.RunsFilter{Status: store.StatusFailed, Reason: reasonFilter(reason), Range: rng}, "")}
		if rerunnable(reason) {
			g.RerunURL = views.FailuresRerunURL(a.BasePath, ws, reason, rng)
		}
		g.Meaning, g.Action = views.FailureExplanation(reason)
		per := make([]int64, len(series.Points))
		for i, pt := range series.Points {
			per[i] = pt.Failures[reason]
			if per[i] > 0 && g.FirstSeen.IsZero() {
				// The oldest run of the first step that has one: a step's
				// runs at most.
				first, err := a.Store.OldestRunAt(ctx, store.RunFilter{Tenant: tenant, Status: store.StatusFailed,
					FailureReason: reasonFilter(reason), From: pt.Start, To: pt.End})
				if err != nil {
					return nil, err
				}
				g.FirstSeen = first
			}
		}
		g.Spark = views.Sparkline{Values: rebin(per, sparklineBuckets), Label: sparkLabel}
		examples, err := a.failedRuns(c, tenant, reason, rng, failureExamples)
		if err != nil {
			return nil, err
		}
		for _, r := range examples {
			g.Examples = append(g.Examples, views.FailureExample{ID: r.RunID, FileName: r.FileName, Message: r.FailureMessage,
				At: r.At, URL: views.RunURL(a.BasePath, ws, r.RunID)})
		}
		if len(examples) > 0 {
			g.LastSeen = examples[0].At
		}
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(x, y views.FailureGroup) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Reason, y.Reason))
	})
	return groups, nil
}

// reasonFilter is the runs list's reason filter of a failure group: the
// reason, or "none given" for the runs that failed without one.
func reasonFilter(reason string) string {
	if reason == "" {
		return store.FailureReasonNone
	}
	return reason
}

// failedRuns lists up to n of the newest failed runs of a reason ("" or
// store.FailureReasonNone: none given) in the range.
func (a *dashboard) failedRuns(c echo.Context, tenant, reason string, rng views.TimeRange, n int) ([]store.RunSnapshot, error) {
	f := store.RunFilter{Tenant: tenant, Status: store.StatusFailed, FailureReason: reasonFilter(reason), From: rng.Start, To: rng.End,
		Limit: min(n, store.MaxRunLimit)}
	var out []store.RunSnapshot
	for r, err := range a.Store.RunsSeq(c.Request().Context(), f) {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		if len(out) >= n {
			break
		}
	}
	return out, nil
}

// rebin sums counts into at most n buckets of equal width.
func rebin(values []int64, n int) []int64 {
	if len(values) <= n {
		return values
	}
	out := make([]int64, n)
	for i, v := range values {
		out[i*n/len(values)] += v
	}
	return out
}

// failuresRerun is POST /failures/rerun?reason=…: without confirmed=1 it
// answers a confirmation naming how many runs; with it, it starts a
// background job and sends the person to its progress page.
func (a *dashboard) failuresRerun(c echo.Context) error {
	conn, tenant, err := a.historyWorkspace(c)
	if err != nil || tenant == "" {
		return err
	}
	q := c.QueryParams()
	reason := clipField(q.Get(views.ParamReason))
	if reason == store.FailureReasonNone {
		reason = ""
	}
	rng := parseTimeRange(q, a.Now(), views.RangeWeek, true)
	runs, err := a.failedRuns(c, tenant, reason, rng, maxBulkRerun+1)
	if err != nil {
		return err
	}
	more := len(runs) > maxBulkRerun
	if more {
		runs = runs[:maxBulkRerun]
	}
	// The job keeps the group's reason, store.FailureReasonNone for the
	// group with none; jobTarget names it in flashes and the audit log.
	jobReason := cmp.Or(reason, store.FailureReasonNone)
	label := jobTarget(jobReason)
	back := views.FailuresURL(a.BasePath, conn.Ref(), rng)
	if !rerunnable(reason) {
		if err := a.setFlash(c, views.FlashError, notRerunnable); err != nil {
			return err
		}
		return redirect(c, back)
	}
	if len(runs) == 0 {
		if err := a.setFlash(c, views.FlashInfo, "No failed runs with reason "+label+" in this period: nothing to re-run."); err != nil {
			return err
		}
		return redirect(c, back)
	}
	plan := planBulk(runs)
	if c.FormValue(views.ConfirmField) != "1" {
		// The same confirmation as the runs list's bulk re-run: count,
		// estimated credits, and the runs that will fail again.
		b, err := a.base(c, "Re-run failed runs", views.NavFailures)
		if err != nil {
			return err
		}
		return a.render(c, http.StatusOK, views.BulkConfirmView(views.BulkConfirmPage{
			Base: b, Action: views.BulkRerun, Count: len(runs), Capped: more, Credits: plan.credits, NoUsage: plan.noUsage,
			FailAgain: plan.failAgainCount(), FailAgainWhy: plan.failAgainWhy(),
			ActionURL: views.FailuresRerunURL(a.BasePath, conn.Ref(), reason, rng), CancelURL: back,
		}))
	}
	ids := plan.ids(c.FormValue(views.FieldSkipFailing) == "1")
	if len(ids) == 0 {
		if err := a.setFlash(c, views.FlashInfo, "Nothing re-run: the runs with "+label+" would fail again unchanged. "+
			"Fix the file (or give its password) and start new runs."); err != nil {
			return err
		}
		return redirect(c, back)
	}
	job, err := a.startBulkJob(c, conn, tenant, jobReason, label, ids, false)
	if err != nil {
		return err
	}
	return redirect(c, views.JobURL(a.BasePath, conn.Ref(), job.ID()))
}

// rerunnable reports whether runs that failed with reason can be started
// again with their original file: a file URL Extend could not download
// never became a file.
func rerunnable(reason string) bool {
	return reason != string(extendapi.ReasonUnableToDownloadFile)
}

const notRerunnable = "These runs cannot be re-run: Extend could not download their file URL, so there is no file to start them with again. Start new runs with the file."
