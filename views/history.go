package views

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Query parameters of the history pages (overview, failures, the runs
// list's history filters and exports).
const (
	ParamRange  = "range"  // a preset (Range*) or RangeCustom
	ParamFrom   = "from"   // custom range start, DateTimeLayout, in ParamZone
	ParamTo     = "to"     // custom range end, DateTimeLayout, in ParamZone
	ParamReason = "reason" // runs: failure reason (history only)
	ParamRunID  = "run"    // runs: run-ID prefix (history only)
	ParamStuck  = "stuck"  // runs: "1" lists the stuck runs
	// ParamZone is the IANA zone from and to were typed in (the custom
	// range form sends the person's zone); absent means UTC, so links
	// made before the form knew zones keep their meaning.
	ParamZone = "zone"
)

// Time range presets.
const (
	RangeHour   = "1h"
	RangeDay    = "24h"
	RangeWeek   = "7d"
	RangeMonth  = "30d"
	RangeCustom = "custom"
)

// DateTimeLayout is how custom range bounds appear in URLs and in the
// datetime-local inputs; they are read in ParamZone (UTC without it).
const DateTimeLayout = "2006-01-02T15:04"

// Routes of the history pages, relative to the base path.
const (
	RouteFailures      = "failures"
	RouteFailuresRerun = "failures/rerun" // POST reason, range; confirmed=1
	// RouteJob is GET: the progress of a bulk job, a re-run or a delete.
	RouteJob = jobsPath + "/:job"
	// RouteJobResume is POST: go on with a stopped bulk job.
	RouteJobResume = RouteJob + "/resume"
	// RouteLegacyRerunJob and RouteLegacyRerunJobResume are where job
	// pages lived before delete jobs shared them: links people shared
	// still lead there.
	RouteLegacyRerunJob       = RouteFailuresRerun + "/:job"
	RouteLegacyRerunJobResume = RouteLegacyRerunJob + "/resume"
	RouteExportCSV            = "runs/export.csv"
	RouteExportNDJSON         = "runs/export.ndjson"
)

// jobsPath is the path under which RouteJob and RouteJobResume live.
const jobsPath = "jobs"

// Values of Base.NavActive for the history pages.
const (
	NavOverview = "overview"
	NavFailures = "failures"
)

// RangePreset is one choice of the range selector.
type RangePreset struct {
	Key, Label string
}

// RangePresets are the offered presets, shortest first.
var RangePresets = []RangePreset{
	{RangeHour, "Last hour"}, {RangeDay, "Last 24 hours"}, {RangeWeek, "Last 7 days"}, {RangeMonth, "Last 30 days"},
}

// TimeRange is a period as the URL carries it: a preset, or custom bounds.
// Start and End are what the handler resolved it to.
//
// From and To are always UTC, whatever zone the person typed them in:
// every link built from a range (chips, chart marks, exports, the runs
// list) then means the same instants for whoever opens it, without
// carrying a zone along. Only the custom range form speaks the person's
// zone, and says which in ParamZone.
type TimeRange struct {
	Preset   string // one of the Range* constants; "" means no range
	From, To string // custom bounds, DateTimeLayout, UTC
	Start    time.Time
	End      time.Time
	// Invalid says, in the person's terms, why the custom range the URL
	// asked for was set aside for this one ("" when it was not).
	Invalid string
}

// IsZero reports whether no range is chosen.
func (r TimeRange) IsZero() bool { return r.Preset == "" }

// CustomRange is the custom range [start, end), for links to a chart's
// time bucket.
func CustomRange(start, end time.Time) TimeRange {
	return TimeRange{Preset: RangeCustom, From: RangeBound(start), To: RangeBound(end), Start: start, End: end}
}

// DateTimeSecondsLayout is a range bound finer than a minute (the
// datetime-local form with seconds and milliseconds), so a link to a
// chart's partial first or last step lists exactly the runs it counts.
const DateTimeSecondsLayout = "2006-01-02T15:04:05.999"

// RangeBound writes a bound as a URL carries it (From, To): in UTC, to
// the minute, or to the millisecond when it is not a whole minute.
func RangeBound(t time.Time) string { return boundIn(t, time.UTC) }

// boundIn writes t as wall time in loc, in the datetime-local form.
func boundIn(t time.Time, loc *time.Location) string {
	t = t.In(loc).Truncate(time.Millisecond)
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(DateTimeLayout)
	}
	return t.Format(DateTimeSecondsLayout)
}

// BoundInput is a UTC bound of the URL (From or To) as the custom range
// inputs show it: wall time in loc ("" stays "").
func BoundInput(bound string, loc *time.Location) string {
	t, err := time.Parse(DateTimeSecondsLayout, bound)
	if err != nil {
		if t, err = time.Parse(DateTimeLayout, bound); err != nil {
			return bound
		}
	}
	return boundIn(t, loc)
}

// addTo encodes the range into q.
func (r TimeRange) addTo(q url.Values) {
	if r.Preset == "" {
		return
	}
	q.Set(ParamRange, r.Preset)
	if r.Preset == RangeCustom {
		if r.From != "" {
			q.Set(ParamFrom, r.From)
		}
		if r.To != "" {
			q.Set(ParamTo, r.To)
		}
	}
}

// Label names the range for people, custom bounds in UTC.
func (r TimeRange) Label() string { return r.LabelIn(time.UTC) }

// LabelIn names the range for people, custom bounds in loc.
func (r TimeRange) LabelIn(loc *time.Location) string {
	for _, p := range RangePresets {
		if p.Key == r.Preset {
			return p.Label
		}
	}
	if r.Preset == RangeCustom {
		return rangeSpan(r.Start, r.End, loc)
	}
	return "All time"
}

// invalidNote is what a page says when it set the URL's custom range
// aside for r.
func (r TimeRange) invalidNote() string {
	if r.IsZero() {
		return r.Invalid + " Showing all time instead."
	}
	label := r.Label()
	return r.Invalid + " Showing the " + strings.ToLower(label[:1]) + label[1:] + " instead."
}

func rangeSpan(start, end time.Time, loc *time.Location) string {
	const layout = "2006-01-02 15:04"
	zone := " " + ZoneLabel(loc)
	switch {
	case start.IsZero() && end.IsZero():
		return "All time"
	case start.IsZero():
		return "Before " + end.In(loc).Format(layout) + zone
	case end.IsZero():
		return "Since " + start.In(loc).Format(layout) + zone
	}
	return start.In(loc).Format(layout) + " – " + end.In(loc).Format(layout) + zone
}

// OverviewURL is the overview of a workspace over a range.
func OverviewURL(basePath, ws string, r TimeRange) string {
	q := wsQuery(ws)
	r.addTo(q)
	return withQuery(joinPath(basePath, ""), q)
}

// FailuresURL is the failure groups of a workspace over a range.
func FailuresURL(basePath, ws string, r TimeRange) string {
	q := wsQuery(ws)
	r.addTo(q)
	return withQuery(joinPath(basePath, RouteFailures), q)
}

// FailuresRerunURL is where "Re-run these" posts for one reason.
func FailuresRerunURL(basePath, ws, reason string, r TimeRange) string {
	q := wsQuery(ws)
	r.addTo(q)
	q.Set(ParamReason, reason)
	return withQuery(joinPath(basePath, RouteFailuresRerun), q)
}

// JobURL is the progress page of a bulk job (a re-run or a delete).
func JobURL(basePath, ws, job string) string {
	return withQuery(joinPath(basePath, jobsPath+"/"+url.PathEscape(job)), wsQuery(ws))
}

// JobResumeURL resumes a stopped bulk job.
func JobResumeURL(basePath, ws, job string) string {
	return withQuery(joinPath(basePath, jobsPath+"/"+url.PathEscape(job)+"/resume"), wsQuery(ws))
}

// ExportURL downloads what the runs list shows for f, as "csv" or
// "ndjson".
func ExportURL(basePath, ws string, f RunsFilter, format string) string {
	q := f.Query()
	q.Del(ParamPageSize)
	if ws != "" {
		q.Set(ParamWorkspace, ws)
	}
	route := RouteExportCSV
	if format == "ndjson" {
		route = RouteExportNDJSON
	}
	return withQuery(joinPath(basePath, route), q)
}

// OverviewFigures are the headline numbers of the overview.
type OverviewFigures struct {
	Runs, Processed, Failed, Processing int64
	// SuccessRate is processed / finished; nil when none finished.
	SuccessRate *float64
	P50Ms       *float64
	P95Ms       *float64
	Credits     float64
}

// StuckRuns is what the overview and the runs list say about runs
// processing for longer than the threshold.
type StuckRuns struct {
	Count     int
	More      bool // Count is a lower bound
	Threshold time.Duration
	URL       string
}

// HistoryNote is the "history covers …" line.
type HistoryNote struct {
	Since   time.Time // oldest run in history; zero when none
	Syncing bool      // no backfill has completed yet
}

// OverviewPage is GET /.
type OverviewPage struct {
	Base
	Range   TimeRange
	History HistoryNote
	Figures OverviewFigures
	// Cards are the summary cards, from Figures, with their links and
	// changes.
	Cards    []FigureCard
	Stuck    StuckRuns
	RunsURL  string // the runs list over the range
	Failures string // the failure groups over the range
	Charts   OverviewCharts
}

// OverviewCharts are the overview's charts.
type OverviewCharts struct {
	Runs     TimeChart
	Latency  LineChart
	Stages   BarChart
	Failures BarChart
	Credits  TimeChart
	Fill     TimeChart
}

// FailureExample is one failed run shown in a group.
type FailureExample struct {
	ID, FileName, Message string
	At                    time.Time
	URL                   string
}

// FailureGroup is the failed runs of one reason over the range.
type FailureGroup struct {
	Reason    string // "" when Extend gave none
	Meaning   string
	Action    string
	Count     int64
	FirstSeen time.Time // the oldest such run in the range
	LastSeen  time.Time // the newest such run
	Spark     Sparkline
	Examples  []FailureExample
	RunsURL   string
	RerunURL  string
}

// FailuresPage is GET /failures.
type FailuresPage struct {
	Base
	Range   TimeRange
	History HistoryNote
	Groups  []FailureGroup
}

// RerunFailure is a run a bulk re-run could not start again.
type RerunFailure struct {
	RunID, Error string
}

// RerunJobPage is the progress of a bulk re-run, or of a bulk delete.
type RerunJobPage struct {
	Base
	ID string
	// Reason is the failure group re-run ("" for the group with no
	// reason); Selection: the runs were chosen in the runs list instead.
	Reason    string
	Selection bool
	Total     int
	Done      int
	Created   []string // new run IDs
	// CreatedStatus is each new run's status as history records it
	// (missing until history has seen the run).
	CreatedStatus map[string]string
	// Delete: the job deletes runs; Deleted are those it deleted, Gone
	// those Extend already answered 404 for.
	Delete        bool
	Deleted, Gone []string
	Failed        []RerunFailure
	Finished      bool
	// Stopped says why the job ended early ("" when it did not).
	Stopped string
	// ServiceKey is the fingerprint of the service key the job went on
	// with after the person who started it logged out.
	ServiceKey string
	Workspace  string
	StatusURL  string // polled while not finished
	BackURL    string
	// Pending counts the runs not started yet; ResumeURL, when set, goes
	// on with them (the job stopped before its end).
	Pending   int
	ResumeURL string
}

func (s StuckRuns) countText() string {
	n := strconv.Itoa(s.Count)
	if s.More {
		n += "+"
	}
	return n + " " + plural(s.Count == 1 && !s.More, "run", "runs")
}

// rangeLink is the overview over another range.
func (p OverviewPage) rangeLink(r TimeRange) string {
	return OverviewURL(p.BasePath, p.CurrentWorkspace, r)
}

func (g FailureGroup) title() string {
	if g.Reason == "" {
		return "No reason given"
	}
	return g.Reason
}

// anchor is an id-safe form of the reason.
func (g FailureGroup) anchor() string {
	if g.Reason == "" {
		return "none"
	}
	var b []byte
	for i := 0; i < len(g.Reason); i++ {
		c := g.Reason[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '-')
		}
	}
	return string(b)
}

// polling: the page asks again while the job runs, and afterwards while
// a new run it started is still processing in history.
func (p RerunJobPage) polling() bool {
	if !p.Finished {
		return true
	}
	for _, st := range p.CreatedStatus {
		if st == StatusProcessing {
			return true
		}
	}
	return false
}

func (p RerunJobPage) heading() string {
	if p.Delete {
		return "Deleting " + RunsCount(p.Total)
	}
	if p.Selection {
		return "Re-running " + RunsCount(p.Total)
	}
	return "Re-running " + p.reasonTitle() + " failures"
}

func (p RerunJobPage) reasonTitle() string {
	if p.Reason == "" {
		return "reasonless"
	}
	return p.Reason
}

// rangeLink is the failures page over another range.
func (p FailuresPage) rangeLink(r TimeRange) string {
	return FailuresURL(p.BasePath, p.CurrentWorkspace, r)
}
