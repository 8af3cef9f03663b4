package views

import (
	"testing"
	"time"

	"github.com/a-h/templ"
)

// historyPages are the history pages in representative states, rendered by
// the page invariants and CSS coverage tests (see allPages).
func historyPages() map[string]templ.Component {
	return map[string]templ.Component{
		"overview": OverviewView(fixtureOverviewPage()),
		"overview-empty": OverviewView(OverviewPage{Base: testBase(NavOverview), Range: TimeRange{Preset: RangeDay}, History: HistoryNote{Syncing: true},
			Charts: OverviewCharts{Runs: TimeChart{ID: "r", Title: "R", Legend: []LegendItem{{"Processed", "x"}}, Columns: []TimeColumn{{Label: "a"}}},
				Latency: LineChart{ID: "l", XLabels: []string{"a"}}, Stages: BarChart{ID: "s"}, Failures: BarChart{ID: "f"},
				Credits: TimeChart{ID: "c"}, Fill: TimeChart{ID: "fi"}}}),
		"failures":       FailuresView(fixtureFailuresPage()),
		"failures-empty": FailuresView(FailuresPage{Base: testBase(NavFailures), Range: TimeRange{Preset: RangeWeek}}),
		"runs-history":   RunsView(fixtureHistoryRunsPage()),
		"rerun-job":      RerunJobView(fixtureRerunJobPage(false)),
		"rerun-job-done": RerunJobView(fixtureRerunJobPage(true)),
	}
}

func fixtureOverviewPage() OverviewPage {
	b := testBase(NavOverview)
	rng := TimeRange{Preset: RangeDay, Start: testNow.Add(-24 * time.Hour), End: testNow}
	bucket := func(i int) TimeRange {
		s := testNow.Add(time.Duration(i-3) * time.Hour).Truncate(time.Hour)
		return CustomRange(s, s.Add(time.Hour))
	}
	var runs, credits TimeChart
	runs = TimeChart{ID: "runs-chart", Title: "Finished runs over time", Desc: "d",
		Legend: []LegendItem{{"Processed", "fill-emerald-500 dark:fill-emerald-400"}, {"Failed", "fill-red-500 dark:fill-red-400"}}}
	credits = TimeChart{ID: "credits-chart", Title: "Credits over time", Desc: "d", Legend: []LegendItem{{"Credits", "fill-violet-500 dark:fill-violet-400"}}}
	fill := TimeChart{ID: "fill-chart", Title: "Fill ratio", Desc: "d", Format: FormatPercent, Legend: []LegendItem{{"Fill ratio", "fill-sky-500 dark:fill-sky-400"}}}
	latency := LineChart{ID: "latency-chart", Title: "Processing time", Desc: "d", Format: FormatMs}
	p50 := LineSeries{Label: "p50", LineClass: "stroke-indigo-500 dark:stroke-indigo-400", DotClass: "fill-indigo-500 dark:fill-indigo-400"}
	p95 := LineSeries{Label: "p95", LineClass: "stroke-amber-500 dark:stroke-amber-400", DotClass: "fill-amber-500 dark:fill-amber-400"}
	for i := range 4 {
		r := bucket(i)
		href := RunsURL(testBasePath, testWS, RunsFilter{Range: r}, "")
		label := BucketLabel(r.Start, time.Hour, nil)
		runs.Columns = append(runs.Columns, TimeColumn{Label: label, Segments: []ChartSegment{
			{Label: "Processed", Value: float64(10 + i), Class: runs.Legend[0].Class, Href: RunsURL(testBasePath, testWS, RunsFilter{Status: StatusProcessed, Range: r}, "")},
			{Label: "Failed", Value: float64(i), Class: runs.Legend[1].Class, Href: RunsURL(testBasePath, testWS, RunsFilter{Status: StatusFailed, Range: r}, "")},
		}})
		credits.Columns = append(credits.Columns, TimeColumn{Label: label, Segments: []ChartSegment{{Label: "Credits", Value: 2.5 * float64(i), Class: credits.Legend[0].Class, Href: href}}})
		fill.Columns = append(fill.Columns, TimeColumn{Label: label, Segments: []ChartSegment{{Label: "Fill ratio", Value: 0.8, Class: fill.Legend[0].Class, Href: href}}})
		latency.XLabels = append(latency.XLabels, label)
		p50.Points = append(p50.Points, LinePoint{Value: 1200, Known: i != 1, Href: href})
		p95.Points = append(p95.Points, LinePoint{Value: 4800, Known: i != 1, Href: href})
	}
	latency.Series = []LineSeries{p50, p95}
	href := RunsURL(testBasePath, testWS, RunsFilter{Status: StatusProcessed, Range: rng}, "")
	stages := BarChart{ID: "stages-chart", Title: "Time per stage", Desc: "d", Format: FormatMs,
		Legend: []LegendItem{{"p50", "fill-indigo-500 dark:fill-indigo-400"}, {"p95", "fill-amber-500 dark:fill-amber-400"}},
		Rows:   []BarRow{{Label: "Detection", Bars: []ChartSegment{{Label: "p50", Value: 400, Class: "fill-indigo-500 dark:fill-indigo-400", Href: href}, {Label: "p95", Value: 900, Class: "fill-amber-500 dark:fill-amber-400", Href: href}}}}}
	failures := BarChart{ID: "failures-chart", Title: "Failures by reason", Desc: "d", Legend: []LegendItem{{"Failed runs", "fill-red-500 dark:fill-red-400"}},
		Rows: []BarRow{{Label: "CORRUPT_FILE", Bars: []ChartSegment{{Label: "Failed runs", Value: 3, Class: "fill-red-500 dark:fill-red-400",
			Href: RunsURL(testBasePath, testWS, RunsFilter{Status: StatusFailed, Reason: "CORRUPT_FILE", Range: rng}, "")}}}}}
	rate := 0.93
	return OverviewPage{
		Base: b, Range: rng, History: HistoryNote{Since: testNow.Add(-40 * 24 * time.Hour)},
		Figures: OverviewFigures{Runs: 120, Processed: 100, Failed: 8, Processing: 12, SuccessRate: &rate, P50Ms: ptr(1200.0), P95Ms: ptr(4800.0), Credits: 240},
		Stuck:   StuckRuns{Count: 2, Threshold: 10 * time.Minute, URL: RunsURL(testBasePath, testWS, RunsFilter{Stuck: true}, "")},
		RunsURL: RunsURL(testBasePath, testWS, RunsFilter{Range: rng}, ""), Failures: FailuresURL(testBasePath, testWS, rng),
		Charts: OverviewCharts{Runs: runs, Latency: latency, Stages: stages, Failures: failures, Credits: credits, Fill: fill},
		Cards: []FigureCard{
			{ID: "runs", Label: "Runs", Value: "1,200", Hint: "12 still processing", URL: RunsURL(testBasePath, testWS, RunsFilter{Range: rng}, ""),
				Change: CompareFigures(1200, 1000, 24*time.Hour, "1,000", true)},
			{ID: "failures", Label: "Failures", Value: "8", URL: RunsURL(testBasePath, testWS, RunsFilter{Status: StatusFailed, Range: rng}, ""),
				Change: CompareFigures(8, 10, 24*time.Hour, "10", false)},
			{ID: "p50", Label: "p50 processing", Value: "1.20 s"},
		},
	}
}

func fixtureFailuresPage() FailuresPage {
	rng := TimeRange{Preset: RangeWeek}
	meaning, action := FailureExplanation("CORRUPT_FILE")
	return FailuresPage{Base: testBase(NavFailures), Range: rng, History: HistoryNote{Since: testNow.Add(-10 * 24 * time.Hour)},
		Groups: []FailureGroup{{
			Reason: "CORRUPT_FILE", Meaning: meaning, Action: action, Count: 3,
			FirstSeen: testNow.Add(-50 * time.Hour), LastSeen: testNow.Add(-time.Hour),
			Spark:    Sparkline{Values: []int64{0, 1, 0, 2}, Label: "Failures over the week"},
			Examples: []FailureExample{{ID: "edr_bad1", FileName: "scan.pdf", Message: "xref table not found", At: testNow.Add(-time.Hour), URL: RunURL(testBasePath, testWS, "edr_bad1")}},
			RunsURL:  RunsURL(testBasePath, testWS, RunsFilter{Status: StatusFailed, Reason: "CORRUPT_FILE", Range: rng}, ""),
			RerunURL: FailuresRerunURL(testBasePath, testWS, "CORRUPT_FILE", rng),
		}, {Reason: "", Count: 1, Spark: Sparkline{Values: []int64{1}}, RerunURL: FailuresRerunURL(testBasePath, testWS, "", rng)}},
	}
}

func fixtureHistoryRunsPage() RunsPage {
	p := fixtureRunsPage()
	p.FromHistory = true
	p.Filter.Range = TimeRange{Preset: RangeCustom, From: "2026-08-01T10:00", To: "2026-08-01T11:00"}
	p.Filter.RunIDPrefix = "edr_A"
	p.Counts = []StatusCount{{Status: "", Count: 12345, Exact: true, URL: RunsURL(testBasePath, testWS, RunsFilter{}, ""), Active: true},
		{Status: StatusFailed, Count: 10000, URL: RunsURL(testBasePath, testWS, RunsFilter{Status: StatusFailed}, "")}}
	p.Stuck = StuckRuns{Count: 100, More: true, Threshold: time.Hour, URL: RunsURL(testBasePath, testWS, RunsFilter{Stuck: true}, "")}
	if len(p.Rows) > 0 {
		p.Rows[0].Stuck = true
	}
	p.ExportCSV = ExportURL(testBasePath, testWS, p.Filter, "csv")
	p.ExportNDJSON = ExportURL(testBasePath, testWS, p.Filter, "ndjson")
	return p
}

func fixtureRerunJobPage(done bool) RerunJobPage {
	return RerunJobPage{Base: testBase(NavFailures), ID: "rr_1", Reason: "CORRUPT_FILE", Total: 3, Done: 2,
		Created: []string{"edr_new1"}, Failed: []RerunFailure{{RunID: "edr_old2", Error: "Run not found"}}, Finished: done,
		Workspace: testWS, StatusURL: JobURL(testBasePath, testWS, "rr_1"), BackURL: FailuresURL(testBasePath, testWS, TimeRange{})}
}

func TestTimeRangeURLs(t *testing.T) {
	tests := []struct{ got, want string }{
		{OverviewURL("/ew/", "ws_a", TimeRange{}), "/ew/?ws=ws_a"},
		{OverviewURL("/", "ws_a", TimeRange{Preset: RangeWeek}), "/?range=7d&ws=ws_a"},
		{FailuresURL("/", "", CustomRange(testNow, testNow.Add(time.Hour))), "/failures?from=2026-08-01T12%3A00&range=custom&to=2026-08-01T13%3A00"},
		{RunsURL("/", "ws_a", RunsFilter{Status: StatusFailed, Reason: "X", RunIDPrefix: "edr_1", Stuck: true, PageSize: 10}, ""),
			"/runs?reason=X&run=edr_1&size=10&status=FAILED&stuck=1&ws=ws_a"},
		{ExportURL("/", "ws_a", RunsFilter{Status: StatusFailed, PageSize: 10}, "csv"), "/runs/export.csv?status=FAILED&ws=ws_a"},
		{ExportURL("/", "ws_a", RunsFilter{}, "ndjson"), "/runs/export.ndjson?ws=ws_a"},
		{FailuresRerunURL("/", "ws_a", "", TimeRange{Preset: RangeDay}), "/failures/rerun?range=24h&reason=&ws=ws_a"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestTimeChartStacksAndScales(t *testing.T) {
	c := TimeChart{Columns: []TimeColumn{
		{Label: "a", Segments: []ChartSegment{{Label: "P", Value: 30}, {Label: "F", Value: 10}}},
		{Label: "b", Segments: []ChartSegment{{Label: "P", Value: 0}, {Label: "F", Value: 5}}},
	}}
	if got := c.scale(); got != 40 {
		t.Errorf("scale = %v, want 40 (four gridlines of 10)", got)
	}
	c.Columns[1].Segments[1].Value = 41
	if got := c.scale(); got != 80 {
		t.Errorf("scale = %v, want 80 (four gridlines of 20)", got)
	}
	c.Columns[1].Segments[1].Value = 5
	rects := c.rects()
	if len(rects) != 3 {
		t.Fatalf("%d rects, want 3 (a zero segment draws nothing)", len(rects))
	}
	// The second segment of a column sits on top of the first.
	if rects[1].Y >= rects[0].Y {
		t.Errorf("stacked segment y %s not above the first %s", rects[1].Y, rects[0].Y)
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.8: 1, 3: 5, 12: 20, 240: 250, 1000: 1000, 7300: 10000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestSparklinePoints(t *testing.T) {
	if got := (Sparkline{Values: []int64{0, 2}}).points(); got != "0.0,23.0 120.0,1.0" {
		t.Errorf("points = %q", got)
	}
}
