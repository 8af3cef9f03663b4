package store

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogramBinBounds(t *testing.T) {
	for _, ms := range []float64{0, 1, 9.99, 10, 10.0001, 11.89, 11.9, 100, 1234.5, 9000, 60000, 3.6e6, 1e9, math.NaN(), -5} {
		bin := HistogramBin(ms)
		if bin < 0 || bin >= HistogramBins {
			t.Fatalf("HistogramBin(%v) = %d, out of range", ms, bin)
		}
		if math.IsNaN(ms) || ms < 0 {
			if bin != 0 {
				t.Errorf("HistogramBin(%v) = %d, want 0", ms, bin)
			}
			continue
		}
		if lo, hi := HistogramLower(bin), HistogramUpper(bin); ms < lo || ms >= hi {
			t.Errorf("HistogramBin(%v) = %d covering [%v, %v)", ms, bin, lo, hi)
		}
	}
	for i := 1; i < HistogramBins; i++ {
		if HistogramLower(i) != HistogramUpper(i-1) {
			t.Fatalf("bins %d and %d do not meet: %v vs %v", i-1, i, HistogramUpper(i-1), HistogramLower(i))
		}
	}
}

// TestHistogramQuantiles compares percentiles estimated from the bins with
// the exact ones of the same samples.
func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		sample func() float64
	}{
		{"lognormal around 9s", func() float64 { return math.Exp(math.Log(9000) + 0.55*rng.NormFloat64()) }},
		{"uniform 1s to 60s", func() float64 { return 1000 + 59000*rng.Float64() }},
		{"bimodal fast and slow", func() float64 {
			if rng.IntN(10) < 8 {
				return 500 + 200*rng.Float64()
			}
			return 40000 + 20000*rng.Float64()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := make([]float64, 20000)
			h := make(Histogram, HistogramBins)
			for i := range values {
				values[i] = tt.sample()
				h[HistogramBin(values[i])]++
			}
			slices.Sort(values)
			for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
				exact := values[int(math.Ceil(q*float64(len(values))))-1]
				got := h.Quantile(q)
				if rel := math.Abs(got-exact) / exact; rel > 0.19 {
					t.Errorf("q%.2f = %.0f ms, exact %.0f ms: off by %.0f%%, more than one bin (19%%)", q, got, exact, rel*100)
				}
			}
		})
	}
	if got := Histogram(nil).P95(); got != 0 {
		t.Errorf("empty P95 = %v, want 0", got)
	}
}
