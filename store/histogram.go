package store

import "math"

// Histogram counts runs per timing bin; index i counts the timings in
// [HistogramLower(i), HistogramUpper(i)). Every rollup shares the same
// fixed bins, so histograms of any hours add up by index.
type Histogram []int64

// Histogram bins: bin 0 holds [0, histogramFloorMs); bin i ≥ 1 holds
// [floor·r^(i-1), floor·r^i) with r = 2^(1/4), so an estimated percentile
// is within about 19 % of the truth (half that on average); the last bin
// is open-ended. 80 bins reach past 3 hours.
const (
	histogramFloorMs = 10.0
	HistogramBins    = 80
)

var histogramRatio = math.Pow(2, 0.25)

// HistogramLower is the smallest timing, in ms, that bin i counts.
func HistogramLower(i int) float64 {
	if i <= 0 {
		return 0
	}
	return histogramFloorMs * math.Pow(histogramRatio, float64(i-1))
}

// HistogramUpper is the bound, in ms, below which bin i counts timings
// (+Inf for the last bin).
func HistogramUpper(i int) float64 {
	if i >= HistogramBins-1 {
		return math.Inf(1)
	}
	return histogramFloorMs * math.Pow(histogramRatio, float64(i))
}

// HistogramBin is the bin a timing in ms falls into.
func HistogramBin(ms float64) int {
	if !(ms >= histogramFloorMs) { // also NaN
		return 0
	}
	i := int(math.Floor(math.Log(ms/histogramFloorMs)/math.Log(histogramRatio))) + 1
	// Floating point may land a value on a boundary in the bin below or
	// above; the bounds decide.
	for i > 1 && ms < HistogramLower(i) {
		i--
	}
	for i < HistogramBins-1 && ms >= HistogramUpper(i) {
		i++
	}
	return min(i, HistogramBins-1)
}

// Count is how many timings the histogram holds.
func (h Histogram) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Add adds other's counts to h, growing h when needed.
func (h *Histogram) Add(other Histogram) {
	if len(*h) < len(other) {
		*h = append(*h, make(Histogram, len(other)-len(*h))...)
	}
	for i, c := range other {
		(*h)[i] += c
	}
}

// Quantile estimates the q-quantile (0 < q ≤ 1) in ms, interpolating
// geometrically inside the bin where it falls; 0 for an empty histogram.
// The open-ended last bin answers its lower bound.
func (h Histogram) Quantile(q float64) float64 {
	total := h.Count()
	if total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(total)
	var seen float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			frac := (rank - seen) / float64(c)
			lo, hi := HistogramLower(i), HistogramUpper(i)
			switch {
			case math.IsInf(hi, 1):
				return lo
			case i == 0:
				return hi * frac
			default:
				return lo * math.Pow(hi/lo, frac)
			}
		}
		seen += float64(c)
	}
	return HistogramLower(len(h) - 1)
}

// P50 is the estimated median in ms.
func (h Histogram) P50() float64 { return h.Quantile(0.5) }

// P95 is the estimated 95th percentile in ms.
func (h Histogram) P95() float64 { return h.Quantile(0.95) }
