package handlers

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// historyWorkspace resolves what a page of stored history needs: the
// session's connection and the tenant it is granted. Without any
// connection it sends the person to the connect page and returns tenant ""
// with that response's error (nil once written), so callers return when
// err != nil or tenant == "".
func (a *dashboard) historyWorkspace(c echo.Context) (connection, string, error) {
	conn, cl, err := a.workspaceClient(c)
	if errors.Is(err, errNoConnection) {
		return conn, "", a.toConnect(c)
	}
	if err != nil {
		return conn, "", err
	}
	tenant, err := a.historyTenant(c, conn, cl)
	return conn, tenant, err
}

// historyTenant is the tenant whose history this request may read, given the
// connection and client the handler already resolved: stored history opens
// only to a session granted its tenant (a live call with its own key proved
// access); ensureGrant makes that call if needed.
func (a *dashboard) historyTenant(c echo.Context, conn connection, cl *extendapi.Client) (string, error) {
	if err := a.ensureGrant(c, conn, cl); err != nil {
		return "", err
	}
	return conn.Tenant, nil
}

// historyState says whether the tenant's history is synced (the runs list
// then reads from it) and since when it covers runs.
type historyState struct {
	Synced bool
	Since  time.Time
}

func (a *dashboard) historyStateOf(c echo.Context, tenant string) (historyState, error) {
	ctx := c.Request().Context()
	var hs historyState
	t, err := a.Store.GetTenant(ctx, tenant)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return hs, err
	default:
		hs.Synced = !t.SyncedAt.IsZero()
	}
	if hs.Since, err = a.Store.HistorySince(ctx, tenant); err != nil {
		return hs, err
	}
	return hs, nil
}

func (hs historyState) note() views.HistoryNote {
	return views.HistoryNote{Since: hs.Since, Syncing: !hs.Synced}
}

// presetSpan is how long each preset range is.
var presetSpan = map[string]time.Duration{
	views.RangeHour: time.Hour, views.RangeDay: 24 * time.Hour,
	views.RangeWeek: 7 * 24 * time.Hour, views.RangeMonth: 30 * 24 * time.Hour,
}

// maxCustomSpan bounds a custom range, so a series stays small.
const maxCustomSpan = 366 * 24 * time.Hour

// parseTimeLocal reads a range bound as wall time in loc: the
// datetime-local form, with or without seconds (a fraction is accepted
// after them), or RFC 3339, whose own offset wins. A wall time that loc
// skips or repeats (a DST change) is still an instant: time.Date moves a
// skipped one forward and takes the first of a repeated one.
func parseTimeLocal(v string, loc *time.Location) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{views.DateTimeLayout, "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t.UTC(), true
		}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// parseTimeRange reads the range of the URL as of now; an absent one is
// def (a preset, or "" for none), and so is an unreadable custom one,
// with Invalid saying why. A custom range may leave out either bound;
// bounded reports whether both are needed, and fills them in (from a day
// before to, to now).
func parseTimeRange(q url.Values, now time.Time, def string, bounded bool) views.TimeRange {
	preset := q.Get(views.ParamRange)
	if span, ok := presetSpan[preset]; ok {
		return views.TimeRange{Preset: preset, Start: now.Add(-span), End: now}
	}
	var invalid string
	if preset == views.RangeCustom {
		var r views.TimeRange
		if r, invalid = parseCustomRange(q, now, bounded); invalid == "" {
			return r
		}
	}
	r := views.TimeRange{Invalid: invalid}
	if span, ok := presetSpan[def]; ok {
		r.Preset, r.Start, r.End = def, now.Add(-span), now
	}
	return r
}

// parseCustomRange reads from and to in the URL's zone, or says in the
// person's terms why it cannot.
func parseCustomRange(q url.Values, now time.Time, bounded bool) (views.TimeRange, string) {
	loc := time.UTC
	if name := strings.TrimSpace(q.Get(views.ParamZone)); name != "" {
		var ok bool
		if loc, ok = loadZone(name); !ok {
			return views.TimeRange{}, fmt.Sprintf("The custom range is in time zone %q, which Editwatch does not know.", name)
		}
	}
	fromText, toText := q.Get(views.ParamFrom), q.Get(views.ParamTo)
	from, okFrom := parseTimeLocal(fromText, loc)
	to, okTo := parseTimeLocal(toText, loc)
	switch {
	case !okFrom && strings.TrimSpace(fromText) != "":
		return views.TimeRange{}, fmt.Sprintf("The custom range's From, %q, is not a date and time.", fromText)
	case !okTo && strings.TrimSpace(toText) != "":
		return views.TimeRange{}, fmt.Sprintf("The custom range's To, %q, is not a date and time.", toText)
	case !okFrom && !okTo:
		return views.TimeRange{}, "A custom range needs a From or a To time."
	}
	// From and To go on in UTC (see views.TimeRange), so the links built
	// from this range need no zone.
	r := views.TimeRange{Preset: views.RangeCustom}
	if okFrom {
		r.Start, r.From = from, views.RangeBound(from)
	}
	if okTo {
		r.End, r.To = to, views.RangeBound(to)
	}
	if bounded {
		if !okTo {
			r.End = now
		}
		if !okFrom {
			r.Start = r.End.Add(-24 * time.Hour)
		}
	}
	if !r.Start.IsZero() && !r.End.IsZero() && !r.End.After(r.Start) {
		if !okTo {
			return views.TimeRange{}, "The custom range starts in the future: give a From before now."
		}
		return views.TimeRange{}, "The custom range ends before it starts: To must be after From."
	}
	if bounded && r.End.Sub(r.Start) > maxCustomSpan {
		return views.TimeRange{}, fmt.Sprintf("A custom range here spans at most %d days.", maxCustomSpan/(24*time.Hour))
	}
	return r, ""
}

// seriesStep chooses the bucket of a range's charts: about 24 to 60 of
// them, in whole hours (the rollups' grain).
func seriesStep(span time.Duration) time.Duration {
	switch {
	case span <= 48*time.Hour:
		return time.Hour
	case span <= 8*24*time.Hour:
		return 6 * time.Hour
	case span <= 62*24*time.Hour:
		return 24 * time.Hour
	}
	days := (span + 60*24*time.Hour - 1) / (60 * 24 * time.Hour)
	return days * 24 * time.Hour
}

// stuckRuns counts the tenant's stuck runs, up to a bound.
func (a *dashboard) stuckRuns(c echo.Context, tenant, ws string, now time.Time) (views.StuckRuns, error) {
	ctx := c.Request().Context()
	threshold, err := a.Store.StuckThreshold(ctx, tenant, now)
	if err != nil {
		return views.StuckRuns{}, err
	}
	f := store.StuckFilter(tenant, now, threshold)
	f.Limit = maxStuckShown
	page, err := a.Store.ListRuns(ctx, f)
	if err != nil {
		return views.StuckRuns{}, err
	}
	return views.StuckRuns{
		Count: len(page.Runs), More: page.NextCursor != "", Threshold: threshold,
		URL: views.RunsURL(a.BasePath, ws, views.RunsFilter{Stuck: true}, ""),
	}, nil
}

// maxStuckShown bounds the stuck-run count of a page ("100+").
const maxStuckShown = 100

// snapshotItem turns a history snapshot into a runs-table row.
func snapshotItem(r store.RunSnapshot, ws string) views.RunListItem {
	item := views.RunListItem{
		ID: r.RunID, Workspace: ws, FileName: r.FileName, Status: r.Status, FailureReason: r.FailureReason,
		FailureMessage: r.FailureMessage, Source: r.Source, ProcessingMs: r.ProcessingMs, Credits: r.Credits,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Pages: intPtr(r.PageCount), FieldsFilled: intPtr(r.FieldsFilled), FieldsDetected: intPtr(r.FieldsDetected),
	}
	if item.CreatedAt.IsZero() {
		item.CreatedAt = r.At
	}
	if item.UpdatedAt.IsZero() {
		item.UpdatedAt = r.LastSeenAt
	}
	return item
}

func intPtr(p *int64) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}
