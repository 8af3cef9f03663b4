package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// auditPageSize is how many entries one page of the audit log shows.
const auditPageSize = 50

// auditQuery is the audit page's state, read from the URL.
type auditQuery struct {
	Filter views.AuditFilter
	Cursor int64
	Prev   []int64
}

func parseAuditQuery(q url.Values) auditQuery {
	var aq auditQuery
	aq.Filter.Actor = clipField(q.Get(views.ParamActor))
	if act := q.Get(views.ParamAction); slices.Contains(views.AuditActions, act) {
		aq.Filter.Action = act
	}
	aq.Filter.Target = clipField(q.Get(views.ParamTarget))
	for _, d := range []struct {
		param string
		dst   *string
	}{{views.ParamSince, &aq.Filter.Since}, {views.ParamUntil, &aq.Filter.Until}} {
		if v := q.Get(d.param); v != "" {
			if _, err := time.Parse(time.DateOnly, v); err == nil {
				*d.dst = v
			}
		}
	}
	aq.Cursor, _ = strconv.ParseInt(q.Get(views.ParamCursor), 10, 64)
	for _, p := range q[paramPrev] {
		if n, err := strconv.ParseInt(p, 10, 64); err == nil && n > 0 {
			aq.Prev = append(aq.Prev, n)
		}
	}
	if aq.Cursor <= 0 {
		aq.Cursor, aq.Prev = 0, nil
	}
	if len(aq.Prev) > maxPrevDepth {
		aq.Prev = aq.Prev[len(aq.Prev)-maxPrevDepth:]
	}
	return aq
}

// storeFilter is the query the store runs; tenant scopes it to the
// workspace the person has connected.
func (aq auditQuery) storeFilter(tenant string) store.AuditFilter {
	f := store.AuditFilter{Actor: aq.Filter.Actor, Action: aq.Filter.Action, Target: aq.Filter.Target,
		Tenant: tenant, Limit: auditPageSize, Before: aq.Cursor}
	if t, err := time.Parse(time.DateOnly, aq.Filter.Since); err == nil {
		f.Since = t
	}
	if t, err := time.Parse(time.DateOnly, aq.Filter.Until); err == nil {
		f.Until = t.Add(24 * time.Hour) // inclusive day
	}
	return f
}

func auditPageURL(basePath string, f views.AuditFilter, cursor int64, prev []int64) string {
	c := ""
	if cursor > 0 {
		c = strconv.FormatInt(cursor, 10)
	}
	u := views.AuditURL(basePath, f, c)
	if cursor <= 0 || len(prev) == 0 {
		return u
	}
	q := url.Values{}
	for _, p := range prev {
		q.Add(paramPrev, strconv.FormatInt(p, 10))
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + q.Encode()
}

func (aq auditQuery) pager(basePath string, next int64, rows int) views.Pager {
	var p views.Pager
	if next > 0 {
		stack := aq.Prev
		if aq.Cursor > 0 {
			stack = append(slices.Clone(aq.Prev), aq.Cursor)
		}
		p.NextURL = auditPageURL(basePath, aq.Filter, next, stack)
	}
	if aq.Cursor > 0 {
		if n := len(aq.Prev); n > 0 {
			p.PrevURL = auditPageURL(basePath, aq.Filter, aq.Prev[n-1], aq.Prev[:n-1])
			p.FirstURL = auditPageURL(basePath, aq.Filter, 0, nil)
		} else {
			p.PrevURL = auditPageURL(basePath, aq.Filter, 0, nil)
		}
	}
	p.Summary = fmt.Sprintf("%d entries", rows)
	if rows == 1 {
		p.Summary = "1 entry"
	}
	return p
}

// auditLog is GET /audit: the audit log of the current workspace.
func (a *dashboard) auditLog(c echo.Context) error {
	conn, err := a.workspace(c)
	if errors.Is(err, errNoConnection) {
		if err := a.setFlash(c, views.FlashInfo, "Connect a workspace to see its audit log."); err != nil {
			return err
		}
		return a.toConnect(c)
	}
	if err != nil {
		return err
	}
	aq := parseAuditQuery(c.QueryParams())
	entries, next, err := a.Store.ListAudit(c.Request().Context(), aq.storeFilter(conn.Tenant))
	if err != nil {
		return err
	}
	b, err := a.base(c, "Audit log", views.NavAudit)
	if err != nil {
		return err
	}
	page := views.AuditPage{Base: b, Filter: aq.Filter}
	for _, e := range entries {
		page.Entries = append(page.Entries, views.AuditEntry{
			At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target,
			Workspace: e.Tenant[strings.LastIndexByte(e.Tenant, '/')+1:], Detail: e.Detail, RequestID: e.RequestID,
		})
	}
	page.Pager = aq.pager(a.BasePath, next, len(page.Entries))
	return a.render(c, http.StatusOK, views.AuditView(page))
}

// home is GET /: the runs, or the connect page when nothing is connected.
func (a *dashboard) home(c echo.Context) error {
	conns, err := a.connections(c)
	if err != nil {
		return err
	}
	if len(conns) == 0 {
		return a.toConnect(c)
	}
	_, current := workspaceOptions(conns, currentWorkspaceRef(c))
	return redirect(c, views.RunsURL(a.BasePath, current, views.RunsFilter{}, ""))
}
