package views

import (
	"strconv"
	"strings"
)

// Stage chart geometry, in SVG user units. The SVG scales to its container,
// so these only fix proportions.
const (
	chartWidth    = 320.0
	chartLabelW   = 78.0 // left column: stage names
	chartValueW   = 62.0 // right column: formatted times
	chartRowH     = 22.0 // one stage per row
	chartBarH     = 12.0 // bar thickness
	chartPad      = 4.0  // top and bottom padding
	chartMinBar   = 2.0  // a non-zero time stays visible
	chartBarSpace = chartWidth - chartLabelW - chartValueW - 8
)

// chartRow is one bar of the stage chart with its computed geometry.
type chartRow struct {
	Label    string
	Value    string
	Known    bool
	BarClass string
	Y        float64 // top of the row
	Width    float64
}

func (r chartRow) barY() string   { return svgNum(r.Y + (chartRowH-chartBarH)/2) }
func (r chartRow) textY() string  { return svgNum(r.Y + chartRowH/2 + 4) }
func (r chartRow) width() string  { return svgNum(r.Width) }
func (r chartRow) trackY() string { return r.barY() }

func svgNum(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func chartBarX() string   { return svgNum(chartLabelW) }
func chartValueX() string { return svgNum(chartWidth - 2) }
func chartTrackW() string { return svgNum(chartBarSpace) }
func chartBarHeight() string {
	return svgNum(chartBarH)
}

// stageChartRows lays out detection, annotation, filling and the total,
// all scaled to the largest of them (normally the total).
func stageChartRows(t StageTimings) []chartRow {
	rows := []struct {
		label string
		ms    *float64
		class string
	}{
		{"Detection", t.DetectionMs, "fill-indigo-500 dark:fill-indigo-400"},
		{"Annotation", t.AnnotationMs, "fill-violet-500 dark:fill-violet-400"},
		{"Filling", t.FillingMs, "fill-emerald-500 dark:fill-emerald-400"},
		{"Total", t.ProcessingMs, "fill-slate-400 dark:fill-slate-500"},
	}
	scale := 0.0
	for _, r := range rows {
		if r.ms != nil && *r.ms > scale {
			scale = *r.ms
		}
	}
	out := make([]chartRow, len(rows))
	for i, r := range rows {
		row := chartRow{Label: r.label, Value: formatMs(r.ms), BarClass: r.class, Y: chartPad + float64(i)*chartRowH}
		if r.ms != nil && *r.ms >= 0 {
			row.Known = true
			if scale > 0 {
				row.Width = *r.ms / scale * chartBarSpace
				if *r.ms > 0 && row.Width < chartMinBar {
					row.Width = chartMinBar
				}
			}
		}
		out[i] = row
	}
	return out
}

func stageChartHeight(rows []chartRow) string {
	return svgNum(chartPad*2 + float64(len(rows))*chartRowH)
}

func stageChartViewBox(rows []chartRow) string {
	return "0 0 " + svgNum(chartWidth) + " " + stageChartHeight(rows)
}

// stageChartSummary is the chart's text alternative.
func stageChartSummary(rows []chartRow) string {
	parts := make([]string, 0, len(rows))
	for _, r := range rows {
		parts = append(parts, r.Label+" "+r.Value)
	}
	return "Stage timings: " + strings.Join(parts, ", ") + "."
}

func hasAnyTiming(t StageTimings) bool {
	return t.ProcessingMs != nil || t.DetectionMs != nil || t.AnnotationMs != nil || t.FillingMs != nil
}
