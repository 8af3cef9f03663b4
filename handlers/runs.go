package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// paramPrev holds the cursors of the pages before the current one (not
// counting the first page), oldest first: Extend's cursors only go
// forward, so "Previous" pops this stack.
const paramPrev = "prev"

// Bounds of the runs list's URL state.
const (
	maxCursorLength = 2048
	maxPrevDepth    = 50
	maxPageSize     = 100
	maxFilterLength = 200
)

// runsQuery is the runs list's state, read from the URL.
type runsQuery struct {
	Filter views.RunsFilter
	Cursor string
	Prev   []string
}

// parseRunsQuery reads the list's state, dropping what Extend would refuse
// (unknown statuses, sizes out of range) instead of failing the page.
func parseRunsQuery(q url.Values) runsQuery {
	var rq runsQuery
	f := &rq.Filter
	switch s := strings.ToUpper(q.Get(views.ParamStatus)); s {
	case views.StatusProcessing, views.StatusProcessed, views.StatusFailed:
		f.Status = s
	}
	f.Source = clipField(q.Get(views.ParamSource))
	f.FileNameContains = clipField(q.Get(views.ParamFileName))
	switch s := q.Get(views.ParamSort); s {
	case views.SortCreated, views.SortUpdated, views.SortProcessing, views.SortCredits, views.SortFilled:
		f.SortBy = s
	}
	switch d := q.Get(views.ParamDir); d {
	case views.DirAsc, views.DirDesc:
		f.SortDir = d
	}
	if n, err := strconv.Atoi(q.Get(views.ParamPageSize)); err == nil && n >= 1 && n <= maxPageSize {
		f.PageSize = n
	}
	f.Reason = clipField(q.Get(views.ParamReason))
	f.RunIDPrefix = clipField(q.Get(views.ParamRunID))
	f.Stuck = q.Get(views.ParamStuck) == "1"
	if c := q.Get(views.ParamCursor); len(c) <= maxCursorLength {
		rq.Cursor = c
	}
	for _, p := range q[paramPrev] {
		if p != "" && len(p) <= maxCursorLength {
			rq.Prev = append(rq.Prev, p)
		}
	}
	if rq.Cursor == "" {
		rq.Prev = nil
	}
	if len(rq.Prev) > maxPrevDepth {
		rq.Prev = rq.Prev[len(rq.Prev)-maxPrevDepth:]
	}
	return rq
}

func clipField(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxFilterLength {
		s = s[:maxFilterLength]
	}
	return s
}

// pageSize is the size asked of Extend (the views' default when none).
func (rq runsQuery) pageSize() int {
	if rq.Filter.PageSize > 0 {
		return rq.Filter.PageSize
	}
	return 25
}

func (rq runsQuery) params() extendapi.ListEditRunsParams {
	sortBy, sortDir := rq.Filter.SortBy, rq.Filter.SortDir
	if views.HistorySort(sortBy) { // Extend's list cannot sort by it
		sortBy, sortDir = "", ""
	}
	return extendapi.ListEditRunsParams{
		Status:           extendapi.RunStatus(rq.Filter.Status),
		Source:           rq.Filter.Source,
		FileNameContains: rq.Filter.FileNameContains,
		SortBy:           extendapi.SortBy(sortBy),
		SortDir:          extendapi.SortDir(sortDir),
		MaxPageSize:      rq.pageSize(),
		NextPageToken:    rq.Cursor,
	}
}

// runsPageURL is the list at cursor with the given stack of earlier cursors.
func runsPageURL(basePath, ws string, f views.RunsFilter, cursor string, prev []string) string {
	u := views.RunsURL(basePath, ws, f, cursor)
	if cursor == "" || len(prev) == 0 {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	q := url.Values{paramPrev: prev}
	return u + sep + q.Encode()
}

// pager links the neighbours: Next pushes the current cursor, Previous
// pops the stack (an empty stack means the first page).
func (rq runsQuery) pager(basePath, ws, next string, rows int) views.Pager {
	var p views.Pager
	if next != "" {
		stack := rq.Prev
		if rq.Cursor != "" {
			stack = append(slices.Clone(rq.Prev), rq.Cursor)
			if len(stack) > maxPrevDepth {
				stack = stack[len(stack)-maxPrevDepth:]
			}
		}
		p.NextURL = runsPageURL(basePath, ws, rq.Filter, next, stack)
	}
	if rq.Cursor != "" {
		if n := len(rq.Prev); n > 0 {
			p.PrevURL = runsPageURL(basePath, ws, rq.Filter, rq.Prev[n-1], rq.Prev[:n-1])
			p.FirstURL = runsPageURL(basePath, ws, rq.Filter, "", nil)
		} else {
			p.PrevURL = runsPageURL(basePath, ws, rq.Filter, "", nil)
		}
	}
	page := 1
	if rq.Cursor != "" {
		page = len(rq.Prev) + 2
	}
	noun := "runs"
	if rows == 1 {
		noun = "run"
	}
	p.Summary = fmt.Sprintf("Page %d · %d %s", page, rows, noun)
	return p
}

// runsList is GET /runs: one page of Extend's list with its filters.
func (a *dashboard) runsList(c echo.Context) error {
	conn, cl, err := a.workspaceClient(c)
	if errors.Is(err, errNoConnection) {
		return a.toConnect(c)
	}
	if err != nil {
		return err
	}
	rq := parseRunsQuery(c.QueryParams())
	rq.Filter.Range = parseTimeRange(c.QueryParams(), a.Now(), "", false)
	hl, err := a.historyList(c, conn, cl, rq)
	if err != nil {
		return err
	}
	if hl.synced {
		return a.render(c, http.StatusOK, views.RunsView(hl.page))
	}
	list, err := cl.ListEditRuns(c.Request().Context(), rq.params())
	if err != nil {
		fallback, ok, ferr := a.historyFallback(c, hl, rq, err)
		if ferr != nil {
			a.Logger.WarnContext(c.Request().Context(), "runs list: history cannot stand in for Extend", "request_id", middleware.RequestIDOf(c), "err", ferr)
		}
		if !ok || ferr != nil {
			return err
		}
		return a.render(c, http.StatusOK, views.RunsView(fallback))
	}
	a.ingest(c, conn, cl, store.ViaList, list.Data...)
	page := hl.page
	for _, run := range list.Data {
		item := listItem(run, conn.Ref())
		item.Stuck = hl.isStuck(item)
		page.Rows = append(page.Rows, item)
	}
	page.Pager = rq.pager(a.BasePath, conn.Ref(), list.NextPageToken, len(page.Rows))
	return a.render(c, http.StatusOK, views.RunsView(page))
}

// listItem turns a run (summary or full) into a table row.
func listItem(run extendapi.EditRun, ws string) views.RunListItem {
	item := views.RunListItem{
		ID: run.ID, Workspace: ws, FileName: run.File.Name, Status: string(run.Status),
		FailureReason: string(run.FailureReason), FailureMessage: run.FailureMessage, Source: run.Source,
	}
	if m := run.Metrics; m != nil {
		item.Pages = m.PageCount
		item.FieldsFilled = m.FieldCount
		item.FieldsDetected = m.FieldsDetectedCount
		item.ProcessingMs = m.ProcessingTimeMs
	}
	if item.Pages == nil && run.File.Metadata != nil {
		item.Pages = run.File.Metadata.PageCount
	}
	if run.Usage != nil {
		credits := run.Usage.Credits
		item.Credits = &credits
	}
	if run.CreatedAt != nil {
		item.CreatedAt = *run.CreatedAt
	}
	if run.UpdatedAt != nil {
		item.UpdatedAt = *run.UpdatedAt
	}
	return item
}

// runRow is GET /runs/:id/row, the polling of a PROCESSING row. A run
// deleted meanwhile answers an empty row, which removes it from the table.
func (a *dashboard) runRow(c echo.Context) error {
	conn, cl, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	run, err := cl.GetEditRun(c.Request().Context(), id)
	if errors.Is(err, extendapi.ErrNotFound) {
		a.ingestGone(c, conn, id)
		return c.NoContent(http.StatusOK)
	}
	if err != nil {
		return err
	}
	a.ingest(c, conn, cl, store.ViaRun, *run)
	b := a.plainBase(c, "")
	return a.render(c, http.StatusOK, views.RunRow(b, listItem(*run, conn.Ref())))
}
