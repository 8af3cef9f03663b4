package views

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The history charts are SVG drawn on the server: geometry goes in
// attributes, colours in classes (the CSP forbids inline styles), and every
// mark is a link to the runs it counts. Each chart also renders its numbers
// as a table for screen readers and for copying.

// ChartSegment is one mark: a bar, a stacked part of one, or a point.
type ChartSegment struct {
	Label   string // the series, e.g. "Failed"
	Value   float64
	Display string // Value as people read it
	Class   string // fill class
	Href    string // the runs it counts
}

// LegendItem names a series and its colour.
type LegendItem struct {
	Label, Class string
}

// TimeColumn is one time bucket of a TimeChart; its segments stack in
// legend order.
type TimeColumn struct {
	Label    string // e.g. "03-31 14:00"
	Segments []ChartSegment
}

// TimeChart is a column chart over time, stacked when columns have
// several segments.
type TimeChart struct {
	ID, Title, Desc string
	// Format renders an axis value; formatNumber when nil.
	Format  func(float64) string
	Legend  []LegendItem
	Columns []TimeColumn
	// Empty is what the card says when no column has data ("No runs in
	// this period." when "").
	Empty string
	// Note says what a column is and the zone of its labels, and anything
	// else a reader needs to trust the chart.
	Note string
}

// LinePoint is one point of a LineSeries; Known is false where the bucket
// has no data (the line breaks there).
type LinePoint struct {
	Value   float64
	Known   bool
	Display string
	Href    string
}

// LineSeries is one line of a LineChart.
type LineSeries struct {
	Label, LineClass, DotClass string
	Points                     []LinePoint
}

// LineChart draws lines over time buckets named by XLabels.
type LineChart struct {
	ID, Title, Desc string
	Format          func(float64) string
	XLabels         []string
	Series          []LineSeries
	Note            string // as TimeChart's
	// AxisFormat writes the gridline labels when they need to be shorter
	// than Format's.
	AxisFormat func(float64) string
}

// BarRow is one category of a BarChart, with one bar per legend entry.
type BarRow struct {
	Label string
	Bars  []ChartSegment
}

// BarChart is a horizontal bar chart of categories.
type BarChart struct {
	ID, Title, Desc string
	Format          func(float64) string
	Legend          []LegendItem
	Rows            []BarRow
}

// Sparkline is a tiny line of counts per bucket.
type Sparkline struct {
	Values []int64
	Label  string // text alternative
}

// Chart geometry, in SVG user units.
const (
	tcWidth  = 640.0
	tcHeight = 220.0
	tcLeft   = 52.0
	tcRight  = 8.0
	tcTop    = 10.0
	tcBottom = 26.0
	bcLabelW = 190.0
	bcValueW = 70.0
	bcBarH   = 12.0
	bcGap    = 10.0
	spWidth  = 120.0
	spHeight = 24.0
)

func f1(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// svgRect is a rectangle with a link and a tooltip.
type svgRect struct {
	X, Y, W, H   string
	Class, Title string
	Href         string
}

// svgText is an axis or value label.
type svgText struct {
	X, Y, Text, Anchor string
}

// svgDot is a point of a line with a link and a tooltip.
type svgDot struct {
	CX, CY       string
	Class, Title string
	Href         string
}

// niceCeil rounds a maximum up to 1, 2 or 5 times a power of ten, so the
// axis label reads well.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// gridScale is the top of a time chart's axis: gridSteps gridlines of 1,
// 2, 2.5 or 5 times a power of ten, so every gridline's label reads well
// (never 2.5 of a count: a step of 2.5 runs is a step of 5).
func gridScale(max float64) float64 {
	v := max / gridSteps
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return gridSteps
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m == 2.5 && p == 1 {
			continue
		}
		if v <= m*p {
			return gridSteps * m * p
		}
	}
	return gridSteps * 10 * p
}

func chartFormat(f func(float64) string) func(float64) string {
	if f == nil {
		return formatNumber
	}
	return f
}

func (c TimeChart) scale() float64 {
	m := 0.0
	for _, col := range c.Columns {
		sum := 0.0
		for _, s := range col.Segments {
			sum += math.Max(s.Value, 0)
		}
		m = math.Max(m, sum)
	}
	return gridScale(m)
}

func (c TimeChart) viewBox() string { return "0 0 " + f1(tcWidth) + " " + f1(tcHeight) }

func (c TimeChart) hasData() bool {
	for _, col := range c.Columns {
		for _, s := range col.Segments {
			if s.Value > 0 {
				return true
			}
		}
	}
	return false
}

// rects stacks each column's segments from the axis up.
func (c TimeChart) rects() []svgRect {
	n := len(c.Columns)
	if n == 0 {
		return nil
	}
	plotW, plotH := tcWidth-tcLeft-tcRight, tcHeight-tcTop-tcBottom
	colW := plotW / float64(n)
	barW := math.Max(colW*0.78, 1)
	top := c.scale()
	format := chartFormat(c.Format)
	var out []svgRect
	for i, col := range c.Columns {
		x := tcLeft + float64(i)*colW + (colW-barW)/2
		base := tcTop + plotH
		for _, s := range col.Segments {
			if s.Value <= 0 {
				continue
			}
			h := s.Value / top * plotH
			base -= h
			out = append(out, svgRect{X: f1(x), Y: f1(base), W: f1(barW), H: f1(math.Max(h, 0.5)), Class: s.Class,
				Title: col.Label + " · " + s.Label + ": " + orDisplay(s, format), Href: s.Href})
		}
	}
	return out
}

func orDisplay(s ChartSegment, format func(float64) string) string {
	if s.Display != "" {
		return s.Display
	}
	return format(s.Value)
}

// xLabels names the first, middle and last buckets.
func xLabels(labels []string, left, width, y float64) []svgText {
	n := len(labels)
	if n == 0 {
		return nil
	}
	colW := width / float64(n)
	pick := []int{0}
	if n > 2 {
		pick = append(pick, n/2)
	}
	if n > 1 {
		pick = append(pick, n-1)
	}
	out := make([]svgText, 0, len(pick))
	for k, i := range pick {
		anchor := "middle"
		switch {
		case k == 0:
			anchor = "start"
		case i == n-1:
			anchor = "end"
		}
		x := left + float64(i)*colW
		switch anchor {
		case "middle":
			x += colW / 2
		case "end":
			x += colW
		}
		out = append(out, svgText{X: f1(x), Y: f1(y), Text: labels[i], Anchor: anchor})
	}
	return out
}

func (c TimeChart) xLabels() []svgText {
	labels := make([]string, len(c.Columns))
	for i, col := range c.Columns {
		labels[i] = col.Label
	}
	return xLabels(labels, tcLeft, tcWidth-tcLeft-tcRight, tcHeight-8)
}

// gridSteps is how many gridlines divide a time chart's height.
const gridSteps = 4

// yLabels label the gridlines: 0, a quarter of top, …, top.
func yLabels(top float64, format func(float64) string) []svgText {
	out := make([]svgText, 0, gridSteps+1)
	for i := range gridSteps + 1 {
		y := tcHeight - tcBottom - float64(i)*(tcHeight-tcBottom-tcTop)/gridSteps
		out = append(out, svgText{X: f1(tcLeft - 6), Y: f1(y + 4), Text: format(top * float64(i) / gridSteps), Anchor: "end"})
	}
	return out
}

// gridPath draws the horizontal gridlines above the axis.
func gridPath() string {
	var b strings.Builder
	for i := 1; i <= gridSteps; i++ {
		y := tcHeight - tcBottom - float64(i)*(tcHeight-tcBottom-tcTop)/gridSteps
		b.WriteString("M" + f1(tcLeft) + " " + f1(y) + " H" + f1(tcWidth-tcRight) + " ")
	}
	return strings.TrimSpace(b.String())
}

func (c TimeChart) yLabels() []svgText { return yLabels(c.scale(), chartFormat(c.Format)) }

// axis is the baseline and the left edge of the plot.
func axisPath() string {
	return "M" + f1(tcLeft) + " " + f1(tcTop) + " V" + f1(tcHeight-tcBottom) + " H" + f1(tcWidth-tcRight)
}

// cell is a segment's value for the data table.
func (c TimeChart) cell(col TimeColumn, i int) string {
	if i >= len(col.Segments) {
		return dash
	}
	return orDisplay(col.Segments[i], chartFormat(c.Format))
}

func (c LineChart) scale() float64 {
	m := 0.0
	for _, s := range c.Series {
		for _, p := range s.Points {
			if p.Known {
				m = math.Max(m, p.Value)
			}
		}
	}
	return gridScale(m)
}

func (c LineChart) viewBox() string { return "0 0 " + f1(tcWidth) + " " + f1(tcHeight) }

func (c LineChart) hasData() bool {
	for _, s := range c.Series {
		for _, p := range s.Points {
			if p.Known {
				return true
			}
		}
	}
	return false
}

func (c LineChart) point(i int, v float64) (float64, float64) {
	n := len(c.XLabels)
	plotW, plotH := tcWidth-tcLeft-tcRight, tcHeight-tcTop-tcBottom
	colW := plotW / float64(max(n, 1))
	return tcLeft + float64(i)*colW + colW/2, tcTop + plotH - v/c.scale()*plotH
}

// paths are the SVG path data of a series: a move at every gap.
func (c LineChart) path(s LineSeries) string {
	var b strings.Builder
	pen := false
	for i, p := range s.Points {
		if !p.Known {
			pen = false
			continue
		}
		x, y := c.point(i, p.Value)
		if pen {
			b.WriteString(" L")
		} else {
			b.WriteString(" M")
		}
		b.WriteString(f1(x) + " " + f1(y))
		pen = true
	}
	return strings.TrimSpace(b.String())
}

func (c LineChart) dots(s LineSeries) []svgDot {
	format := chartFormat(c.Format)
	var out []svgDot
	for i, p := range s.Points {
		if !p.Known {
			continue
		}
		x, y := c.point(i, p.Value)
		label := ""
		if i < len(c.XLabels) {
			label = c.XLabels[i] + " · "
		}
		display := p.Display
		if display == "" {
			display = format(p.Value)
		}
		out = append(out, svgDot{CX: f1(x), CY: f1(y), Class: s.DotClass, Title: label + s.Label + ": " + display, Href: p.Href})
	}
	return out
}

func (c LineChart) xLabels() []svgText {
	return xLabels(c.XLabels, tcLeft, tcWidth-tcLeft-tcRight, tcHeight-8)
}

func (c LineChart) yLabels() []svgText {
	format := chartFormat(c.Format)
	if c.AxisFormat != nil {
		format = c.AxisFormat
	}
	return yLabels(c.scale(), format)
}

// FormatMsAxis writes milliseconds short enough for an axis label: 850
// ms, 20 s, 1.5 min.
func FormatMsAxis(ms float64) string {
	switch {
	case ms < 1000:
		return strconv.FormatFloat(ms, 'f', -1, 64) + " ms"
	case ms < 60_000:
		return strconv.FormatFloat(math.Round(ms/100)/10, 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(math.Round(ms/6000)/10, 'f', -1, 64) + " min"
}

func (c LineChart) cell(s LineSeries, i int) string {
	if i >= len(s.Points) || !s.Points[i].Known {
		return dash
	}
	if s.Points[i].Display != "" {
		return s.Points[i].Display
	}
	return chartFormat(c.Format)(s.Points[i].Value)
}

func (c BarChart) barsPerRow() int {
	n := 1
	for _, r := range c.Rows {
		n = max(n, len(r.Bars))
	}
	return n
}

func (c BarChart) rowHeight() float64 { return float64(c.barsPerRow())*bcBarH + bcGap }

func (c BarChart) height() float64 { return float64(len(c.Rows))*c.rowHeight() + bcGap }

func (c BarChart) viewBox() string { return "0 0 " + f1(tcWidth) + " " + f1(c.height()) }

func (c BarChart) scale() float64 {
	m := 0.0
	for _, r := range c.Rows {
		for _, b := range r.Bars {
			m = math.Max(m, b.Value)
		}
	}
	if m <= 0 {
		return 1
	}
	return m
}

// barLayout is one row of a BarChart laid out.
type barLayout struct {
	Label  svgText
	Rects  []svgRect
	Values []svgText
}

func (c BarChart) layout() []barLayout {
	space := tcWidth - bcLabelW - bcValueW
	top := c.scale()
	format := chartFormat(c.Format)
	out := make([]barLayout, len(c.Rows))
	for i, r := range c.Rows {
		y0 := bcGap + float64(i)*c.rowHeight()
		l := barLayout{Label: svgText{X: f1(bcLabelW - 8), Y: f1(y0 + float64(len(r.Bars))*bcBarH/2 + 4), Text: r.Label, Anchor: "end"}}
		for k, b := range r.Bars {
			y := y0 + float64(k)*bcBarH
			w := math.Max(b.Value, 0) / top * space
			if b.Value > 0 {
				w = math.Max(w, 1)
			}
			l.Rects = append(l.Rects, svgRect{X: f1(bcLabelW), Y: f1(y + 1), W: f1(w), H: f1(bcBarH - 2), Class: b.Class,
				Title: r.Label + " · " + b.Label + ": " + orDisplay(b, format), Href: b.Href})
			l.Values = append(l.Values, svgText{X: f1(bcLabelW + w + 4), Y: f1(y + bcBarH - 2), Text: orDisplay(b, format), Anchor: "start"})
		}
		out[i] = l
	}
	return out
}

func (c BarChart) cell(r BarRow, i int) string {
	if i >= len(r.Bars) {
		return dash
	}
	return orDisplay(r.Bars[i], chartFormat(c.Format))
}

func (s Sparkline) viewBox() string { return "0 0 " + f1(spWidth) + " " + f1(spHeight) }

// points is the polyline of the counts, scaled to the largest.
func (s Sparkline) points() string {
	n := len(s.Values)
	if n == 0 {
		return ""
	}
	var top int64 = 1
	for _, v := range s.Values {
		top = max(top, v)
	}
	step := spWidth
	if n > 1 {
		step = spWidth / float64(n-1)
	}
	parts := make([]string, n)
	for i, v := range s.Values {
		parts[i] = f1(float64(i)*step) + "," + f1(spHeight-1-float64(v)/float64(top)*(spHeight-2))
	}
	return strings.Join(parts, " ")
}

// BucketLabel names a time bucket by its start, shorter for whole days.
func BucketLabel(start time.Time, step time.Duration, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	start = start.In(loc)
	if step >= 24*time.Hour && step%(24*time.Hour) == 0 && start.Hour() == 0 {
		return start.Format("01-02")
	}
	return start.Format("01-02 15:04")
}

// FormatMs renders milliseconds for chart axes and figures.
func FormatMs(ms float64) string { return formatMsValue(ms) }

// FormatPercent renders a share as a percentage with one decimal.
func FormatPercent(share float64) string {
	return strconv.FormatFloat(share*100, 'f', 1, 64) + " %"
}
