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

// TestCountMatching checks the capped counts behind the status chips on
// both databases: exact ones equal a count through ListRuns, capped ones
// never exceed it.
func TestCountMatching(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn)
		var obs []RunObservation
		for i := range 300 {
			id := fmt.Sprintf("edr_%04d", i)
			var o RunObservation
			switch i % 3 {
			case 0:
				o = failed(id, 0, []string{"CORRUPT_FILE", ""}[i%2])
			case 1:
				o = processing(id, 0)
			default:
				o = processed(id, 0, 900)
			}
			o.FileName = []string{"acme-w9.pdf", "lease.pdf", "acme-invoice.pdf"}[i%3]
			o.CreatedAt = testStart.Add(time.Duration(i) * time.Minute)
			obs = append(obs, o)
		}
		if _, err := s.UpsertRuns(ctx, tenantA, obs); err != nil {
			t.Fatal(err)
		}
		listed := func(f RunFilter) int64 {
			var n int64
			for _, err := range s.RunsSeq(ctx, f) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			return n
		}
		from, to := testStart.Add(17*time.Minute+5*time.Second), testStart.Add(251*time.Minute)
		for _, f := range []RunFilter{
			{Tenant: tenantA},
			{Tenant: tenantA, Status: StatusFailed, FailureReason: FailureReasonNone},
			{Tenant: tenantA, FileName: "acme", From: from, To: to},
			{Tenant: tenantA, FileName: "acme-in", Status: StatusFailed},
			{Tenant: tenantA, RunIDPrefix: "edr_01", From: from},
			{Tenant: tenantA, FileName: "le", To: to},
		} {
			want := listed(f)
			for _, limit := range []int{1000, 40} {
				n, exact, err := s.CountMatching(ctx, f, limit)
				if err != nil {
					t.Fatal(err)
				}
				if exact && n != want || !exact && (n > want || n > int64(limit)) || n > want {
					t.Errorf("%+v up to %d: %d (exact %v), the list has %d", f, limit, n, exact, want)
				}
				if limit == 1000 && !exact {
					t.Errorf("%+v: %d of %d not exact under the cap", f, n, want)
				}
			}
		}
	})
}
