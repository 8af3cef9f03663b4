package views

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// dash stands for "unknown" in tables: absent metrics are common (old runs,
// legacy billing, runs still processing).
const dash = "—"

// maskGlyphs replaces a masked value; fixed length so it says nothing about
// the value's length.
const maskGlyphs = "••••••••"

func formatInt(n *int) string {
	if n == nil {
		return dash
	}
	return FormatCount(int64(*n))
}

// FormatCount writes a count for people, with thousands separators:
// 12,345.
func FormatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// formatMs renders a duration in milliseconds the way people read them:
// 850 ms, 1.24 s, 2 min 05 s.
func formatMs(ms *float64) string {
	if ms == nil || math.IsNaN(*ms) || *ms < 0 {
		return dash
	}
	return formatMsValue(*ms)
}

func formatMsValue(ms float64) string {
	switch {
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	case ms < 10_000:
		return fmt.Sprintf("%.2f s", ms/1000)
	case ms < 60_000:
		return fmt.Sprintf("%.1f s", ms/1000)
	default:
		total := int(math.Round(ms / 1000))
		if total >= 3600 {
			return fmt.Sprintf("%d h %02d min", total/3600, total%3600/60)
		}
		return fmt.Sprintf("%d min %02d s", total/60, total%60)
	}
}

// formatCredits keeps fractional credits but drops a useless ".00".
func formatCredits(c *float64) string {
	if c == nil {
		return dash
	}
	return formatNumber(*c)
}

// formatNumber writes up to two decimals (credits' precision), without
// trailing zeros, and thousands separators: 12,345.5.
func formatNumber(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return s
	}
	out := FormatCount(n)
	if n == 0 && strings.HasPrefix(whole, "-") {
		out = "-0"
	}
	if hasFrac {
		out += "." + frac
	}
	return out
}

// formatFilledOf renders "filled / detected" with dashes for unknowns.
func formatFilledOf(filled, detected *int) string {
	if filled == nil && detected == nil {
		return dash
	}
	return formatInt(filled) + " / " + formatInt(detected)
}

// formatBytes renders an upload limit: 50 MB, 512 KB.
func formatBytes(n int64) string {
	const unit = 1000
	switch {
	case n <= 0:
		return ""
	case n < unit:
		return fmt.Sprintf("%d B", n)
	case n < unit*unit:
		return formatNumber(float64(n)/unit) + " KB"
	case n < unit*unit*unit:
		return formatNumber(float64(n)/(unit*unit)) + " MB"
	default:
		return formatNumber(float64(n)/(unit*unit*unit)) + " GB"
	}
}

// absoluteUTC is the server-side absolute time; app.js replaces the title
// with the person's own time zone.
func absoluteUTC(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func machineTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// relativeTime mirrors app.js's relativeText so the text does not jump when
// the script takes over.
func relativeTime(t, now time.Time) string {
	if now.IsZero() {
		return absoluteUTC(t)
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	secs := d.Seconds()
	var text string
	switch {
	case secs < 45:
		if future {
			return "in a moment"
		}
		return "just now"
	case secs < 3600:
		text = fmt.Sprintf("%d min", max(1, int(math.Round(secs/60))))
	case secs < 86400:
		text = fmt.Sprintf("%d h", int(math.Round(secs/3600)))
	case secs < 30*86400:
		text = fmt.Sprintf("%d d", int(math.Round(secs/86400)))
	default:
		return t.UTC().Format("2006-01-02")
	}
	if future {
		return "in " + text
	}
	return text + " ago"
}

// formatRetryAfter says when to try again after a rate limit.
func formatRetryAfter(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(math.Ceil(d.Seconds())))
	default:
		return fmt.Sprintf("%d min", int(math.Ceil(d.Minutes())))
	}
}

func formatPages(pages []int) string {
	if len(pages) == 0 {
		return ""
	}
	parts := make([]string, len(pages))
	for i, p := range pages {
		parts[i] = strconv.Itoa(p)
	}
	return strings.Join(parts, ", ")
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	lower := strings.ToLower(strings.ReplaceAll(s, "_", " "))
	return strings.ToUpper(lower[:1]) + lower[1:]
}

// plural picks the singular or plural noun.
func plural(one bool, singular, pluralForm string) string {
	if one {
		return singular
	}
	return pluralForm
}

// countNoun writes a count with its noun ("1 field", "3 fields", "— fields").
func countNoun(n *int, singular, pluralForm string) string {
	return formatInt(n) + " " + plural(n != nil && *n == 1, singular, pluralForm)
}
