package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// liveView is what one event stream renders for its page, fixed when the
// stream opens: the page kind, the connection's own session (CSRF token,
// role) in base, the list's filter, and the runs the page shows as
// processing, and the time zone the person reads times in (the
// editwatch-tz cookie as the stream opens, like every page render).
// Fragments come from the snapshot the event carries: no request back
// from the browser, no Extend call, no write per viewer.
type liveView struct {
	kind    string // views.LiveViewRuns, views.LiveViewRun, or "" (JSON events only)
	base    views.Base
	zone    *time.Location
	ws      string
	tenant  string
	filter  views.RunsFilter
	watched map[string]bool
}

// newLiveView reads the stream's page from its query.
func (a *dashboard) newLiveView(c echo.Context, conn connection, watched []string) liveView {
	lv := liveView{base: a.plainBase(c, ""), zone: TimeZoneOf(c.Request()), ws: conn.Ref(), tenant: conn.Tenant, watched: map[string]bool{}}
	switch v := c.QueryParam(views.ParamLiveView); v {
	case views.LiveViewRuns, views.LiveViewRun:
		lv.kind = v
	}
	if lv.kind == views.LiveViewRuns {
		q := c.QueryParams()
		lv.filter = parseRunsQuery(q).Filter
		// "run" names the watched runs here; the prefix has its own name.
		lv.filter.RunIDPrefix = clipField(q.Get(views.ParamLiveRunPrefix))
		lv.filter.Range = parseTimeRange(q, a.Now(), "", false)
	}
	for _, id := range watched {
		lv.watched[id] = true
	}
	return lv
}

// wantWorkspacePoll keeps the workspace's shared poll going while a runs
// list's stream is open, with this session's client; stop ends the want.
func (a *dashboard) wantWorkspacePoll(lv liveView, cl *extendapi.Client) (stop func()) {
	if lv.kind != views.LiveViewRuns || a.Live.Poller == nil {
		return func() {}
	}
	return a.Live.Poller.Want(lv.tenant, "viewer", monitor.ListFirstPage(cl))
}

// catchUp sends the watched runs that finished between the page's render
// and the stream's opening, from history: the page's timers stay paused
// while the stream is open, so nothing else would tell it.
func (a *dashboard) catchUp(ctx context.Context, w io.Writer, lv liveView) error {
	if lv.kind == "" {
		return nil
	}
	for id := range lv.watched {
		snap, err := a.Store.GetRun(ctx, lv.tenant, id)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			continue
		}
		if snap.Deleted() || snap.Status == store.StatusProcessing {
			continue
		}
		if err := a.writeFragment(ctx, w, lv, monitor.Event{Kind: monitor.EventRun, RunID: id, Status: snap.Status,
			PrevStatus: store.StatusProcessing, Snapshot: &snap}); err != nil {
			return err
		}
	}
	return nil
}

// writeFragment sends the rendered change of e for lv's page, if it shows
// the run: a runs list gets the run's row (row-<id>), or, for a run new
// to history that matches its filter, the row as "created", or a deleted
// run's ID ("deleted"); a run page gets its status panel (status-<id>).
func (a *dashboard) writeFragment(ctx context.Context, w io.Writer, lv liveView, e monitor.Event) error {
	if lv.kind == views.LiveViewRuns && e.Kind == monitor.EventDeleted {
		// Only its ID: the list drops the row if it shows it.
		return writeSSE(w, views.LiveEventDeleted, e.RunID)
	}
	if lv.kind == "" || e.Kind != monitor.EventRun {
		return nil
	}
	created := e.PrevStatus == ""
	if lv.kind == views.LiveViewRun && !lv.watched[e.RunID] {
		return nil
	}
	snap := e.Snapshot
	if snap == nil { // too large to travel between replicas: read it here
		s, err := a.Store.GetRun(ctx, lv.tenant, e.RunID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		snap = &s
	}
	b := lv.base
	b.Now = a.Now()
	var event string
	var fragment templ.Component
	switch {
	case lv.kind == views.LiveViewRun:
		page := snapshotRunPage(*snap, lv.ws)
		page.Base = b
		page.LiveFinished = snap.Status != store.StatusProcessing
		event, fragment = views.LiveStatusEvent(e.RunID), statusPanelWithBadge(page)
	case created:
		if !liveFilterMatches(lv.filter, *snap) {
			return nil
		}
		event, fragment = views.LiveEventCreated, views.RunRow(b, snapshotItem(*snap, lv.ws))
	default:
		event, fragment = views.LiveRowEvent(e.RunID), views.RunRow(b, snapshotItem(*snap, lv.ws))
	}
	var buf bytes.Buffer
	if err := views.Render(views.WithZone(ctx, lv.zone), &buf, fragment); err != nil {
		return err
	}
	return writeSSE(w, event, buf.String())
}

// liveFilterMatches reports whether a run new to history belongs in a
// list with filter f, by what history knows of it. A stuck filter never
// matches a new run; a time range matches runs placed inside it.
func liveFilterMatches(f views.RunsFilter, s store.RunSnapshot) bool {
	contains := func(have, want string) bool {
		return want == "" || strings.Contains(strings.ToLower(have), strings.ToLower(want))
	}
	switch {
	case s.Deleted(), f.Stuck:
		return false
	case f.Status != "" && f.Status != s.Status:
		return false
	case f.Source != "" && !strings.EqualFold(f.Source, s.Source):
		return false
	case f.Reason != "" && f.Reason != s.FailureReason:
		return false
	case f.RunIDPrefix != "" && !strings.HasPrefix(s.RunID, f.RunIDPrefix):
		return false
	case !contains(s.FileName, f.FileNameContains):
		return false
	case !f.Range.Start.IsZero() && s.At.Before(f.Range.Start):
		return false
	case !f.Range.End.IsZero() && !s.At.Before(f.Range.End):
		return false
	}
	return true
}

// snapshotRunPage is a run page's status panel model from history: state,
// timings, counts and credits, never filled values (history has none).
func snapshotRunPage(s store.RunSnapshot, ws string) views.RunPage {
	p := views.RunPage{ID: s.RunID, Workspace: ws, Status: s.Status, FailureReason: s.FailureReason,
		FailureMessage: s.FailureMessage, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	p.Timings = views.StageTimings{ProcessingMs: s.ProcessingMs, DetectionMs: s.DetectionMs,
		AnnotationMs: s.AnnotationMs, FillingMs: s.FillingMs}
	p.Counts = views.RunCounts{FieldsInSchema: intPtr(s.FieldCount), Detected: intPtr(s.FieldsDetected),
		Annotated: intPtr(s.FieldsAnnotated), Filled: intPtr(s.FieldsFilled)}
	if s.Credits != nil {
		p.Usage = &views.RunUsage{Credits: *s.Credits}
	}
	return p
}

// statusPanelWithBadge is a run page's status panel and, out of band, its
// header's status badge.
func statusPanelWithBadge(page views.RunPage) templ.Component {
	return templ.Join(views.RunStatusPanel(page), views.LiveStatusBadge(page.Status))
}
