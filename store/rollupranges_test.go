package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRangesAreExact places runs at random milliseconds over two days and
// checks that totals and series of ranges starting and ending anywhere
// (mid-minute, mid-hour, across midnight) count exactly the runs a brute
// count over the snapshots finds, with minute rollups and, for edges older
// than them, without.
func TestRangesAreExact(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn)
		rnd := rand.New(rand.NewPCG(15, 15))
		span := 48 * time.Hour
		var obs []RunObservation
		for i := range 600 {
			id := fmt.Sprintf("edr_%04d", i)
			var o RunObservation
			switch i % 4 {
			case 0:
				o = failed(id, 0, []string{"CORRUPT_FILE", "TIMEOUT", ""}[i%3])
			case 1:
				o = processing(id, 0)
			default:
				o = processed(id, 0, 900)
			}
			o.CreatedAt = testStart.Add(time.Duration(rnd.Int64N(int64(span))).Truncate(time.Millisecond))
			obs = append(obs, o)
		}
		if _, err := s.UpsertRuns(ctx, tenantA, obs); err != nil {
			t.Fatal(err)
		}
		brute := func(from, to time.Time) (map[string]int64, map[string]int64) {
			runs, failures := map[string]int64{}, map[string]int64{}
			for _, o := range obs {
				if o.CreatedAt.Before(from) || !o.CreatedAt.Before(to) || o.Status == StatusProcessing {
					continue
				}
				runs[o.Status]++
				if o.Status == StatusFailed {
					failures[o.FailureReason]++
				}
			}
			return runs, failures
		}
		nonZero := func(m map[string]int64) map[string]int64 {
			out := map[string]int64{}
			for k, v := range m {
				if v != 0 {
					out[k] = v
				}
			}
			return out
		}
		for _, horizon := range []int64{0, millis(testStart.Add(36 * time.Hour))} {
			s.minuteHorizon.Store(&horizon)
			for i := range 60 {
				from := testStart.Add(time.Duration(rnd.Int64N(int64(span))).Truncate(time.Millisecond))
				to := from.Add(time.Duration(rnd.Int64N(int64(26 * time.Hour))).Truncate(time.Millisecond))
				if i%3 == 0 {
					// Less than an hour, often across an hour's end.
					to = from.Add(time.Duration(rnd.Int64N(int64(time.Hour))).Truncate(time.Millisecond))
				}
				wantRuns, wantFailures := brute(from, to)
				total, err := s.RangeTotal(ctx, tenantA, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(wantRuns, nonZero(total.Runs)); diff != "" {
					t.Errorf("RangeTotal %s..%s runs (-brute +got):\n%s", from, to, diff)
				}
				if diff := cmp.Diff(wantFailures, nonZero(total.Failures)); diff != "" {
					t.Errorf("RangeTotal %s..%s failures (-brute +got):\n%s", from, to, diff)
				}
				for _, step := range []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour} {
					series, err := s.RunSeries(ctx, SeriesQuery{Tenant: tenantA, From: from, To: to, Step: step})
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(wantFailures, nonZero(series.Total.Failures)); diff != "" {
						t.Errorf("RunSeries %s..%s by %s failures (-brute +got):\n%s", from, to, step, diff)
					}
					for _, p := range series.Points {
						want, _ := brute(p.Start, p.End)
						if diff := cmp.Diff(want, nonZero(p.Runs)); diff != "" {
							t.Errorf("RunSeries point %s..%s (-brute +got):\n%s", p.Start, p.End, diff)
						}
					}
					if !series.Points[0].Start.Equal(from) || !series.Points[len(series.Points)-1].End.Equal(to) {
						t.Errorf("series %s..%s spans %s..%s", from, to, series.Points[0].Start, series.Points[len(series.Points)-1].End)
					}
				}
			}
		}
	})
}
