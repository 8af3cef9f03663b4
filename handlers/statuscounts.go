package handlers

import (
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// chipCountCap bounds the rows one status chip counts when a filter other
// than the period narrows the list: beyond it the chip says "10,000+".
// A variable so tests can reach it with a small history.
var chipCountCap = 10_000

// statusCounts are the chips above the runs list: for each status, the
// number of runs the list shows when that status is chosen and every
// other filter kept (the chip links there). With only a period, they come
// from the rollups, exactly; with a search, source or reason, from a
// count that stops at chipCountCap, shown as "at least" when it stops.
func (a *dashboard) statusCounts(c echo.Context, tenant, ws string, f views.RunsFilter, threshold time.Duration, now time.Time) ([]views.StatusCount, error) {
	ctx := c.Request().Context()
	// A chip's list: the status chosen, every other filter kept.
	only := func(status string) views.RunsFilter {
		g := f
		g.Status, g.Stuck = status, false
		return g
	}
	statuses := []string{"", store.StatusProcessing, store.StatusProcessed, store.StatusFailed}
	out := make([]views.StatusCount, 0, len(statuses))
	for _, st := range statuses {
		out = append(out, views.StatusCount{Status: st, URL: views.RunsURL(a.BasePath, ws, only(st), ""), Active: !f.Stuck && f.Status == st, Exact: true})
	}
	if f.Source == "" && f.FileNameContains == "" && f.RunIDPrefix == "" && f.Reason == "" {
		counts, err := a.Store.CountRuns(ctx, tenant, f.Range.Start, f.Range.End)
		if err != nil {
			return nil, err
		}
		out[0].Count = counts.Total
		for i := 1; i < len(out); i++ {
			out[i].Count = counts.ByStatus[out[i].Status]
		}
		return out, nil
	}
	for i := range out {
		n, exact, err := a.Store.CountMatching(ctx, historyFilter(tenant, only(out[i].Status), threshold, now), chipCountCap)
		if err != nil {
			return nil, err
		}
		out[i].Count, out[i].Exact = n, exact
	}
	return out, nil
}

// reasonChoices are the failure-reason filter's options: no reason given,
// Extend's documented reasons, then any other reason history has seen (and
// the chosen one, so the filter always shows what it filters by).
func (a *dashboard) reasonChoices(c echo.Context, tenant, chosen string) ([]views.ReasonChoice, error) {
	seen, err := a.Store.FailureReasonsSeen(c.Request().Context(), tenant)
	if err != nil {
		return nil, err
	}
	out := []views.ReasonChoice{{Value: store.FailureReasonNone, Label: "No reason given"}}
	listed := map[string]bool{store.FailureReasonNone: true, "": true}
	for _, r := range extendapi.FailureReasons {
		out = append(out, views.ReasonChoice{Value: string(r), Label: string(r)})
		listed[string(r)] = true
	}
	for _, r := range append(seen, chosen) {
		if !listed[r] {
			out = append(out, views.ReasonChoice{Value: r, Label: r + " (seen in history)"})
			listed[r] = true
		}
	}
	return out, nil
}
