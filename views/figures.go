package views

import (
	"math"
	"strconv"
	"time"
)

// FigureCard is one summary card of the overview: its value, the list it
// counts (URL) and its change against the previous period of the same
// length.
type FigureCard struct {
	ID, Label, Value, Hint string
	URL                    string // "" when no list shows what it counts
	Change                 FigureChange
}

// FigureChange compares a figure with the previous period's.
type FigureChange struct {
	// Text is "▲ 12% vs the previous 24 h"; "" when there is nothing to
	// compare (no previous period, or nothing in it).
	Text string
	// Title gives the previous value.
	Title string
	// Good colours the change: true green, false red, nil neutral.
	Good *bool
}

// CompareFigures writes how now differs from before, a figure of which
// higherIsGood says whether more is better; span is the period's length
// and previous the previous value as shown.
func CompareFigures(now, before float64, span time.Duration, previous string, higherIsGood bool) FigureChange {
	if before == 0 || math.IsNaN(before) || math.IsNaN(now) {
		if previous == "" {
			return FigureChange{}
		}
		return FigureChange{Text: "none in the previous " + SpanLabel(span), Title: "Previous " + SpanLabel(span) + ": " + previous}
	}
	pct := (now - before) / math.Abs(before) * 100
	arrow, up := "▲", true
	switch {
	case math.Abs(pct) < 0.5:
		return FigureChange{Text: "= same as the previous " + SpanLabel(span), Title: "Previous " + SpanLabel(span) + ": " + previous}
	case pct < 0:
		arrow, up = "▼", false
	}
	good := up == higherIsGood
	return FigureChange{
		Text:  arrow + " " + strconv.FormatFloat(math.Abs(math.Round(pct)), 'f', 0, 64) + "% vs the previous " + SpanLabel(span),
		Title: "Previous " + SpanLabel(span) + ": " + previous, Good: &good,
	}
}

// SpanLabel names a period's length: "1 h", "24 h", "7 days", "90 min".
func SpanLabel(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d > 48*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	case d < time.Hour:
		return strconv.Itoa(int(d.Round(time.Minute)/time.Minute)) + " min"
	}
	return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + " h"
}

// FormatCredits writes credits to their precision (two decimals at most)
// with thousands separators.
func FormatCredits(c float64) string { return formatNumber(c) }

func (c FigureChange) class() string {
	switch {
	case c.Good == nil:
		return "muted"
	case *c.Good:
		return "text-emerald-700 dark:text-emerald-400"
	}
	return "text-red-700 dark:text-red-400"
}
