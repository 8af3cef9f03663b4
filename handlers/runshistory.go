package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// noteSyncing is the runs list's note while the tenant's history is not
// synced yet.
const noteNotGranted = "This list reads from Extend with your key. Editwatch's stored history of this workspace is not open to your key (it could not read one of the workspace's stored runs), so the period, run-ID and failure-reason filters and the counts are not available."

const noteSyncing = "History is still syncing: this list reads from Extend, so the period, run-ID and failure-reason filters and the counts appear once it is synced."

// historyListing is the runs list's model before the rows: from history
// (synced, rows included), or the frame of a list read from Extend.
type historyListing struct {
	// tenant is set when the session may read the tenant's history.
	tenant    string
	ws        string
	synced    bool
	page      views.RunsPage
	threshold time.Duration
	now       time.Time
}

// isStuck reports whether a row has been processing past the threshold.
func (hl historyListing) isStuck(item views.RunListItem) bool {
	return item.Status == store.StatusProcessing && !item.CreatedAt.IsZero() && hl.now.Sub(item.CreatedAt) > hl.threshold
}

// historyList builds the runs list from history once the tenant's history
// is synced; otherwise it returns the page frame (note, stuck runs,
// exports) for the caller to fill from Extend.
func (a *dashboard) historyList(c echo.Context, conn connection, cl *extendapi.Client, rq runsQuery) (historyListing, error) {
	// A session not granted the tenant still sees what its own key lists
	// live from Extend, but nothing of the stored history.
	tenant, err := a.historyTenant(c, conn, cl)
	granted := err == nil
	if err != nil && !errors.Is(err, errNotGranted) {
		return historyListing{}, err
	}
	var hs historyState
	if granted {
		if hs, err = a.historyStateOf(c, tenant); err != nil {
			return historyListing{}, err
		}
	}
	ws := conn.Ref()
	hl := historyListing{synced: hs.Synced, now: a.Now(), ws: ws}
	if !hl.synced {
		rq.Filter.Range, rq.Filter.Reason, rq.Filter.RunIDPrefix, rq.Filter.Stuck = views.TimeRange{}, "", "", false
	}
	var stuck views.StuckRuns
	if granted {
		if stuck, err = a.stuckRuns(c, tenant, ws, hl.now); err != nil {
			return historyListing{}, err
		}
	}
	hl.threshold = stuck.Threshold
	b, err := a.base(c, "Runs", views.NavRuns)
	if err != nil {
		return historyListing{}, err
	}
	hl.page = views.RunsPage{Base: b, Filter: rq.Filter, FromHistory: hl.synced, Stuck: stuck,
		ExportCSV:    views.ExportURL(a.BasePath, ws, rq.Filter, "csv"),
		ExportNDJSON: views.ExportURL(a.BasePath, ws, rq.Filter, "ndjson")}
	if !granted {
		hl.page.Note = noteNotGranted
		return hl, nil
	}
	hl.tenant = tenant
	if !hl.synced {
		hl.page.Note = noteSyncing
		return hl, nil
	}
	ctx := c.Request().Context()
	f := historyFilter(tenant, rq.Filter, hl.threshold, hl.now)
	f.Limit, f.Cursor = rq.pageSize(), rq.Cursor
	list, err := a.Store.ListRuns(ctx, f)
	if errors.Is(err, store.ErrInvalidCursor) {
		return historyListing{}, &PageError{Status: http.StatusBadRequest, Heading: "This page link is not valid", Category: "invalid input",
			Explanation: "The link's page position was not made by Editwatch. Start again from the first page.", Err: err}
	}
	if err != nil {
		return historyListing{}, err
	}
	for _, r := range list.Runs {
		item := snapshotItem(r, ws)
		item.Stuck = hl.isStuck(item)
		item.Selectable = b.MayAct() // the bulk bar's checkboxes
		hl.page.Rows = append(hl.page.Rows, item)
	}
	hl.page.Pager = rq.pager(a.BasePath, ws, list.NextCursor, len(hl.page.Rows))
	if hl.page.Counts, err = a.statusCounts(c, tenant, ws, rq.Filter, hl.threshold, hl.now); err != nil {
		return historyListing{}, err
	}
	if hl.page.Reasons, err = a.reasonChoices(c, tenant, rq.Filter.Reason); err != nil {
		return historyListing{}, err
	}
	return hl, nil
}

// historyFallback fills the first page of a runs list that Extend failed
// to answer (a transient failure: 5xx, timeout, rate limit) from the runs
// history holds so far, instead of an error page. It reports false when
// it cannot stand in: history closed to the session, or a later page,
// whose cursor only Extend understands.
func (a *dashboard) historyFallback(c echo.Context, hl historyListing, rq runsQuery, cause error) (views.RunsPage, bool, error) {
	if hl.tenant == "" || rq.Cursor != "" || !transientUpstream(cause) {
		return views.RunsPage{}, false, nil
	}
	f := historyFilter(hl.tenant, rq.Filter, hl.threshold, hl.now)
	f.Limit = rq.pageSize()
	list, err := a.Store.ListRuns(c.Request().Context(), f)
	if err != nil {
		return views.RunsPage{}, false, err
	}
	page, ws := hl.page, hl.ws
	for _, r := range list.Runs {
		item := snapshotItem(r, ws)
		item.Stuck = hl.isStuck(item)
		page.Rows = append(page.Rows, item)
	}
	// No Next link: its cursor would be history's, which Extend's list
	// cannot continue from.
	page.Pager = rq.pager(a.BasePath, ws, "", len(page.Rows))
	page.Note = fallbackNote(cause)
	page.Base.Upstream = a.upstreamStatus(c)
	a.Logger.InfoContext(c.Request().Context(), "runs list served from history while Extend fails",
		"request_id", middleware.RequestIDOf(c), "tenant", hl.tenant, "err", cause)
	return page, true, nil
}

// fallbackNote explains a runs list read from history because Extend failed.
func fallbackNote(cause error) string {
	why := "Extend is not answering properly right now"
	if errors.Is(cause, extendapi.ErrRateLimited) {
		why = "Extend is rate limiting this workspace right now"
	}
	return why + ", so this list shows the newest runs Editwatch has stored. History is still syncing, so some runs may be missing: reload in a moment for Extend's list."
}

// historyFilter is the store's filter for what the list shows; a stuck
// filter is PROCESSING older than the threshold.
func historyFilter(tenant string, f views.RunsFilter, threshold time.Duration, now time.Time) store.RunFilter {
	rf := store.RunFilter{
		Tenant: tenant, Status: f.Status, FailureReason: f.Reason, Source: f.Source,
		FileName: f.FileNameContains, RunIDPrefix: f.RunIDPrefix, From: f.Range.Start, To: f.Range.End,
		Sort: historySorts[f.SortBy], Ascending: f.SortDir == views.DirAsc,
	}
	if f.Stuck {
		rf.Status, rf.NotDismissed = store.StatusProcessing, true
		if limit := now.Add(-threshold); rf.To.IsZero() || limit.Before(rf.To) {
			rf.To = limit
		}
	}
	return rf
}

// historySorts maps the list's sort parameter to history's sorts; the
// rest (created, updated, none) sort by creation, which is what history
// orders by.
var historySorts = map[string]string{
	views.SortProcessing: store.SortProcessing,
	views.SortCredits:    store.SortCredits,
	views.SortFilled:     store.SortFilled,
}
