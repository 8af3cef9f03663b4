package handlers

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// Chart colours, as fill and stroke classes.
const (
	classProcessed = "fill-emerald-500 dark:fill-emerald-400"
	classFailed    = "fill-red-500 dark:fill-red-400"
	classP50       = "fill-indigo-500 dark:fill-indigo-400"
	classP95       = "fill-amber-500 dark:fill-amber-400"
	classLineP50   = "stroke-indigo-500 dark:stroke-indigo-400"
	classLineP95   = "stroke-amber-500 dark:stroke-amber-400"
	classCredits   = "fill-violet-500 dark:fill-violet-400"
	classFill      = "fill-sky-500 dark:fill-sky-400"
)

// overview is GET /: the workspace's figures and charts over a range, read
// from the rollups. Without any history it keeps sending people to the
// runs list, saying why.
func (a *dashboard) overview(c echo.Context) error {
	conn, tenant, err := a.historyWorkspace(c)
	if err != nil || tenant == "" {
		return err
	}
	hs, err := a.historyStateOf(c, tenant)
	if err != nil {
		return err
	}
	if hs.Since.IsZero() {
		if err := a.setFlash(c, views.FlashInfo, "The overview appears once Editwatch has history of this workspace; until then, here are its runs."); err != nil {
			return err
		}
		return redirect(c, views.RunsURL(a.BasePath, conn.Ref(), views.RunsFilter{}, ""))
	}
	now := a.Now()
	rng := parseTimeRange(c.QueryParams(), now, views.RangeDay, true)
	page, err := a.overviewModel(c, tenant, conn.Ref(), rng, hs, now)
	if err != nil {
		return err
	}
	if page.Base, err = a.base(c, "Overview", views.NavOverview); err != nil {
		return err
	}
	return a.render(c, http.StatusOK, views.OverviewView(page))
}

func (a *dashboard) overviewModel(c echo.Context, tenant, ws string, rng views.TimeRange, hs historyState, now time.Time) (views.OverviewPage, error) {
	ctx := c.Request().Context()
	step := seriesStep(rng.End.Sub(rng.Start))
	series, err := a.Store.RunSeries(ctx, store.SeriesQuery{Tenant: tenant, From: rng.Start, To: rng.End, Step: step})
	if err != nil {
		return views.OverviewPage{}, err
	}
	counts, err := a.Store.CountRuns(ctx, tenant, rng.Start, rng.End)
	if err != nil {
		return views.OverviewPage{}, err
	}
	stuck, err := a.stuckRuns(c, tenant, ws, now)
	if err != nil {
		return views.OverviewPage{}, err
	}
	p := views.OverviewPage{
		Range: rng, History: hs.note(), Stuck: stuck,
		RunsURL:  views.RunsURL(a.BasePath, ws, views.RunsFilter{Range: rng}, ""),
		Failures: views.FailuresURL(a.BasePath, ws, rng),
	}
	f := &p.Figures
	f.Runs = counts.Total
	f.Processed, f.Failed = counts.ByStatus[store.StatusProcessed], counts.ByStatus[store.StatusFailed]
	f.Processing = counts.ByStatus[store.StatusProcessing]
	if finished := f.Processed + f.Failed; finished > 0 {
		rate := float64(f.Processed) / float64(finished)
		f.SuccessRate = &rate
	}
	if h := series.Total.Processing(); h.Count() > 0 {
		p50, p95 := h.P50(), h.P95()
		f.P50Ms, f.P95Ms = &p50, &p95
	}
	f.Credits = series.Total.Credits
	prev, err := a.previousFigures(c, tenant, rng)
	if err != nil {
		return views.OverviewPage{}, err
	}
	p.Cards = figureCards(a.BasePath, ws, rng, p.Figures, prev)
	cb := chartBuilder{basePath: a.BasePath, ws: ws, rng: rng, series: series, loc: TimeZoneOf(c.Request()),
		fieldReports: fieldReportsNote(series.Total.FieldReports, series.Total.Finished())}
	p.Charts = views.OverviewCharts{
		Runs: cb.runsChart(), Latency: cb.latencyChart(), Stages: cb.stagesChart(),
		Failures: cb.failuresChart(), Credits: cb.creditsChart(), Fill: cb.fillChart(),
	}
	return p, nil
}

// chartBuilder turns a series into the overview's charts, each mark
// linking to the runs list filtered to what it counts.
type chartBuilder struct {
	basePath, ws string
	rng          views.TimeRange
	series       store.Series
	loc          *time.Location // the zone of the labels
	// fieldReports says how many finished runs the fill ratio stands on,
	// when not all of them ("" when all or none reported).
	fieldReports string
}

// fieldReportsNote says how few of the range's finished runs reported
// their field counts: most runs reach history from Extend's list, which
// carries none, and a ratio of 3 runs should not read like one of 3,000.
// Both counts come from the rollups, exact for any range. Nothing is
// said when none reported: the empty chart says so itself.
func fieldReportsNote(reported, finished int64) string {
	if reported == 0 || reported == finished {
		return ""
	}
	runs := "runs"
	if finished == 1 {
		runs = "run"
	}
	return views.FormatCount(reported) + " of " + views.FormatCount(finished) + " finished " + runs + " in this period reported their field counts."
}

// note says what a column is and the zone of the labels.
func (cb chartBuilder) note(what string) string {
	return what + " of " + views.SpanLabel(cb.series.Step) + " (the first and last cut to the period) · times in " + views.ZoneLabel(cb.loc)
}

func (cb chartBuilder) bucket(pt store.SeriesPoint) views.TimeRange {
	return views.CustomRange(pt.Start, pt.End)
}

func (cb chartBuilder) runsURL(f views.RunsFilter) string {
	return views.RunsURL(cb.basePath, cb.ws, f, "")
}

func (cb chartBuilder) label(pt store.SeriesPoint) string {
	return views.BucketLabel(pt.Start, cb.series.Step, cb.loc)
}

func (cb chartBuilder) runsChart() views.TimeChart {
	ch := views.TimeChart{
		ID: "runs-chart", Title: "Finished runs over time",
		Desc:   "Runs that finished in each period, processed and failed stacked; " + cb.rng.LabelIn(cb.loc) + ".",
		Legend: []views.LegendItem{{Label: "Processed", Class: classProcessed}, {Label: "Failed", Class: classFailed}},
		Note:   cb.note("Columns"),
	}
	for _, pt := range cb.series.Points {
		r := cb.bucket(pt)
		ch.Columns = append(ch.Columns, views.TimeColumn{Label: cb.label(pt), Segments: []views.ChartSegment{
			{Label: "Processed", Value: float64(pt.Runs[store.StatusProcessed]), Class: classProcessed,
				Href: cb.runsURL(views.RunsFilter{Status: store.StatusProcessed, Range: r})},
			{Label: "Failed", Value: float64(pt.Runs[store.StatusFailed]), Class: classFailed,
				Href: cb.runsURL(views.RunsFilter{Status: store.StatusFailed, Range: r})},
		}})
	}
	return ch
}

func (cb chartBuilder) latencyChart() views.LineChart {
	ch := views.LineChart{ID: "latency-chart", Title: "Processing time over time (p50, p95)",
		Desc: "Median and 95th percentile processing time of the processed runs of each period.", Format: views.FormatMs, AxisFormat: views.FormatMsAxis,
		Note: cb.note("Points")}
	p50 := views.LineSeries{Label: "p50", LineClass: classLineP50, DotClass: classP50}
	p95 := views.LineSeries{Label: "p95", LineClass: classLineP95, DotClass: classP95}
	for _, pt := range cb.series.Points {
		ch.XLabels = append(ch.XLabels, cb.label(pt))
		h := pt.Processing()
		href := cb.runsURL(views.RunsFilter{Status: store.StatusProcessed, Range: cb.bucket(pt)})
		known := h.Count() > 0
		p50.Points = append(p50.Points, views.LinePoint{Value: h.P50(), Known: known, Href: href})
		p95.Points = append(p95.Points, views.LinePoint{Value: h.P95(), Known: known, Href: href})
	}
	ch.Series = []views.LineSeries{p50, p95}
	return ch
}

func (cb chartBuilder) stagesChart() views.BarChart {
	ch := views.BarChart{ID: "stages-chart", Title: "Time per stage (p50, p95)",
		Desc:   "Median and 95th percentile of each stage over the processed runs of " + cb.rng.LabelIn(cb.loc) + ".",
		Format: views.FormatMs,
		Legend: []views.LegendItem{{Label: "p50", Class: classP50}, {Label: "p95", Class: classP95}}}
	href := cb.runsURL(views.RunsFilter{Status: store.StatusProcessed, Range: cb.rng})
	for _, stage := range []struct {
		label  string
		metric int
	}{{"Detection", store.MetricDetection}, {"Annotation", store.MetricAnnotation}, {"Filling", store.MetricFilling}, {"Total", store.MetricProcessing}} {
		h := cb.series.Total.Timings[stage.metric]
		if h.Count() == 0 {
			continue
		}
		ch.Rows = append(ch.Rows, views.BarRow{Label: stage.label, Bars: []views.ChartSegment{
			{Label: "p50", Value: h.P50(), Class: classP50, Href: href},
			{Label: "p95", Value: h.P95(), Class: classP95, Href: href},
		}})
	}
	return ch
}

func (cb chartBuilder) failuresChart() views.BarChart {
	ch := views.BarChart{ID: "failures-chart", Title: "Failures by reason",
		Desc:   "Failed runs of " + cb.rng.LabelIn(cb.loc) + " by failure reason.",
		Legend: []views.LegendItem{{Label: "Failed runs", Class: classFailed}}}
	type reasonCount struct {
		reason string
		n      int64
	}
	var reasons []reasonCount
	for reason, n := range cb.series.Total.Failures {
		if n > 0 {
			reasons = append(reasons, reasonCount{reason, n})
		}
	}
	slices.SortFunc(reasons, func(x, y reasonCount) int { return cmp.Or(cmp.Compare(y.n, x.n), cmp.Compare(x.reason, y.reason)) })
	for _, rc := range reasons {
		label := rc.reason
		if label == "" {
			label = "No reason given"
		}
		ch.Rows = append(ch.Rows, views.BarRow{Label: label, Bars: []views.ChartSegment{{
			Label: "Failed runs", Value: float64(rc.n), Class: classFailed,
			Href: cb.runsURL(views.RunsFilter{Status: store.StatusFailed, Reason: reasonFilter(rc.reason), Range: cb.rng}),
		}}})
	}
	return ch
}

func (cb chartBuilder) creditsChart() views.TimeChart {
	ch := views.TimeChart{ID: "credits-chart", Title: "Credits over time",
		Desc:   "Credits used by the runs that finished in each period.",
		Legend: []views.LegendItem{{Label: "Credits", Class: classCredits}}, Note: cb.note("Columns")}
	for _, pt := range cb.series.Points {
		ch.Columns = append(ch.Columns, views.TimeColumn{Label: cb.label(pt), Segments: []views.ChartSegment{{
			Label: "Credits", Value: pt.Credits, Class: classCredits, Href: cb.runsURL(views.RunsFilter{Range: cb.bucket(pt)}),
		}}})
	}
	return ch
}

func (cb chartBuilder) fillChart() views.TimeChart {
	ch := views.TimeChart{ID: "fill-chart", Title: "Fill ratio over time",
		Desc:   "Fields filled of the fields in the schema, over the runs of each period that reported both.",
		Format: views.FormatPercent,
		Legend: []views.LegendItem{{Label: "Fill ratio", Class: classFill}},
		// Extend's list gives no filled values: runs seen only there (or
		// in a webhook without them) count nowhere here.
		Empty: "No run in this period reported both its schema's field count and its filled values. Runs seen only in Extend's list have neither; opening a run records them.",
		Note:  strings.TrimSpace(cb.note("Columns") + ". Only runs that reported both their schema's field count and their filled values count here; runs seen only in Extend's list have neither. " + cb.fieldReports)}
	for _, pt := range cb.series.Points {
		seg := views.ChartSegment{Label: "Fill ratio", Class: classFill, Href: cb.runsURL(views.RunsFilter{Range: cb.bucket(pt)})}
		if pt.FieldsTotal > 0 {
			seg.Value = pt.FillRatio()
		} else {
			seg.Display = "—"
		}
		ch.Columns = append(ch.Columns, views.TimeColumn{Label: cb.label(pt), Segments: []views.ChartSegment{seg}})
	}
	return ch
}

// periodFigures are the figures of the period before the range, of the
// same length, for the cards' changes.
type periodFigures struct {
	known                   bool
	runs, processed, failed int64
	credits                 float64
	p50, p95                float64
	hasLatency, span        bool
	length                  time.Duration
}

// previousFigures reads the figures of the period just before rng, as
// exactly as the range's own (and as cheaply); unknown for an unbounded
// range.
func (a *dashboard) previousFigures(c echo.Context, tenant string, rng views.TimeRange) (periodFigures, error) {
	if rng.Start.IsZero() || rng.End.IsZero() {
		return periodFigures{}, nil
	}
	ctx := c.Request().Context()
	length := rng.End.Sub(rng.Start)
	from, to := rng.Start.Add(-length), rng.Start
	counts, err := a.Store.CountRuns(ctx, tenant, from, to)
	if err != nil {
		return periodFigures{}, err
	}
	total, err := a.Store.RangeTotal(ctx, tenant, from, to)
	if err != nil {
		return periodFigures{}, err
	}
	p := periodFigures{known: true, length: length, runs: counts.Total,
		processed: counts.ByStatus[store.StatusProcessed], failed: counts.ByStatus[store.StatusFailed], credits: total.Credits}
	if h := total.Processing(); h.Count() > 0 {
		p.hasLatency, p.p50, p.p95 = true, h.P50(), h.P95()
	}
	return p, nil
}

// figureCards are the overview's summary cards: each links to the list it
// counts and compares itself with the previous period.
func figureCards(basePath, ws string, rng views.TimeRange, f views.OverviewFigures, prev periodFigures) []views.FigureCard {
	list := func(status string) string {
		return views.RunsURL(basePath, ws, views.RunsFilter{Status: status, Range: rng}, "")
	}
	count := func(n int64) string { return views.FormatCount(n) }
	change := func(now, before float64, shown string, higherIsGood bool) views.FigureChange {
		if !prev.known {
			return views.FigureChange{}
		}
		return views.CompareFigures(now, before, prev.length, shown, higherIsGood)
	}
	cards := []views.FigureCard{
		{ID: "runs", Label: "Runs", Value: count(f.Runs), Hint: processingHint(f), URL: list(""),
			Change: change(float64(f.Runs), float64(prev.runs), count(prev.runs), true)},
		{ID: "success", Label: "Success rate", Value: successText(f.SuccessRate), URL: list(store.StatusProcessed),
			Hint: count(f.Processed) + " processed of " + count(f.Processed+f.Failed) + " finished"},
		{ID: "failures", Label: "Failures", Value: count(f.Failed), URL: list(store.StatusFailed),
			Change: change(float64(f.Failed), float64(prev.failed), count(prev.failed), false)},
		{ID: "p50", Label: "p50 processing", Value: msText(f.P50Ms), URL: list(store.StatusProcessed)},
		{ID: "p95", Label: "p95 processing", Value: msText(f.P95Ms), URL: list(store.StatusProcessed)},
		{ID: "credits", Label: "Credits", Value: views.FormatCredits(f.Credits), URL: list(""),
			Change: change(f.Credits, prev.credits, views.FormatCredits(prev.credits), false)},
	}
	if prev.known && f.SuccessRate != nil && prev.processed+prev.failed > 0 {
		before := float64(prev.processed) / float64(prev.processed+prev.failed)
		cards[1].Change = views.CompareFigures(*f.SuccessRate, before, prev.length, views.FormatPercent(before), true)
	}
	if prev.known && prev.hasLatency {
		if f.P50Ms != nil {
			cards[3].Change = views.CompareFigures(*f.P50Ms, prev.p50, prev.length, views.FormatMs(prev.p50), false)
		}
		if f.P95Ms != nil {
			cards[4].Change = views.CompareFigures(*f.P95Ms, prev.p95, prev.length, views.FormatMs(prev.p95), false)
		}
	}
	return cards
}

func processingHint(f views.OverviewFigures) string {
	if f.Processing == 0 {
		return ""
	}
	return views.FormatCount(f.Processing) + " still processing"
}

func successText(rate *float64) string {
	if rate == nil {
		return "—"
	}
	return views.FormatPercent(*rate)
}

func msText(ms *float64) string {
	if ms == nil {
		return "—"
	}
	return views.FormatMs(*ms)
}
