package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
	"github.com/google/go-cmp/cmp"
)

// rollupRow is a rollup in comparable form.
type rollupRow struct {
	Processed, Failed, Pages, Filled, Total, Reports int64
	Credits                                          float64
	Failures                                         string
	Timings                                          string
}

func canonical(a Aggregate) rollupRow {
	return rollupRow{a.Runs[StatusProcessed], a.Runs[StatusFailed], a.Pages, a.FieldsFilled, a.FieldsTotal, a.FieldReports,
		math.Round(a.Credits*1e6) / 1e6, string(encodeFailures(a.Failures)), string(encodeTimings(a.Timings))}
}

// storedRollups reads a tenant's rollup rows, hourly and daily, without
// those that sum to nothing.
func storedRollups(t *testing.T, s *Store, tenant string) map[string]rollupRow {
	t.Helper()
	got := map[string]rollupRow{}
	for _, table := range []rollupTable{minuteRollups, hourRollups, dayRollups} {
		rows, err := s.query(context.Background(), `SELECT `+rollupColumns+` FROM `+table.name+` WHERE tenant = ?`, tenant)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			b, a, err := scanRollup(rows)
			if err != nil {
				t.Fatal(err)
			}
			if !a.zero() {
				got[fmt.Sprint(table.name, b)] = canonical(a)
			}
		}
		rows.Close()
	}
	return got
}

// recomputedRollups sums the tenant's snapshots from scratch: what the
// incrementally kept rollups must equal.
func recomputedRollups(t *testing.T, s *Store, tenant string) map[string]rollupRow {
	t.Helper()
	runs, err := s.scanRuns(context.Background(), `SELECT `+snapshotColumns+` FROM run_snapshots WHERE tenant = ?`, tenant)
	if err != nil {
		t.Fatal(err)
	}
	d := newRollupDelta()
	for _, r := range runs {
		d.add(r)
	}
	want := map[string]rollupRow{}
	for table, m := range map[string]map[int64]*Aggregate{minuteRollups.name: d.minutes, hourRollups.name: d.buckets, dayRollups.name: d.days} {
		for b, a := range m {
			if !a.zero() {
				want[fmt.Sprint(table, b)] = canonical(*a)
			}
		}
	}
	return want
}

// TestRollupsCountOnce replays random sightings (out of order, repeated,
// some deleted) and checks that the rollups always equal the sum of the
// snapshots: each finished run counted once, in its current state.
func TestRollupsCountOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn, WithClock(storetest.NewClock(testStart).Now))
		rng := rand.New(rand.NewPCG(7, 11))
		reasons := []string{"CORRUPT_FILE", "INTERNAL_ERROR", "SCHEMA_VALIDATION_ERROR"}
		for round := range 12 {
			var batch []RunObservation
			for range 40 {
				id := fmt.Sprintf("edr_%02d", rng.IntN(60))
				seenMin := rng.IntN(600)
				var o RunObservation
				switch rng.IntN(3) {
				case 0:
					o = processing(id, seenMin)
				case 1:
					o = processed(id, seenMin, 200+rng.Float64()*40000)
				default:
					o = failed(id, seenMin, reasons[rng.IntN(len(reasons))])
				}
				if rng.IntN(2) == 0 {
					o = withUpdated(o, seenMin+rng.IntN(30))
				}
				if rng.IntN(3) == 0 {
					o = withCreated(o, rng.IntN(600)) // moves the run to another hour
				}
				batch = append(batch, o)
			}
			if _, err := s.UpsertRuns(ctx, tenantA, batch); err != nil {
				t.Fatal(err)
			}
			if round%3 == 2 {
				if _, err := s.MarkRunDeleted(ctx, tenantA, fmt.Sprintf("edr_%02d", rng.IntN(60)), time.Time{}); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(recomputedRollups(t, s, tenantA), storedRollups(t, s, tenantA)); diff != "" {
				t.Fatalf("round %d: rollups drifted from the snapshots (-recomputed +stored):\n%s", round, diff)
			}
		}
		// Daily and hourly rows tell the same story.
		midnight := testStart.Truncate(24 * time.Hour)
		byDay, err := s.RunSeries(ctx, SeriesQuery{Tenant: tenantA, From: midnight, To: midnight.Add(2 * 24 * time.Hour), Step: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		byHour, err := s.RunSeries(ctx, SeriesQuery{Tenant: tenantA, From: midnight, To: midnight.Add(2 * 24 * time.Hour), Step: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		total, err := s.RunTotal(ctx, tenantA, testStart.Add(-90*time.Minute), testStart.Add(40*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(canonical(byHour.Total), canonical(byDay.Total)); diff != "" || canonical(total) != canonical(byDay.Total) {
			t.Fatalf("daily and hourly totals differ (-hourly +daily):\n%s\nrange total %+v", diff, canonical(total))
		}
		// The series reads back what the snapshots say.
		series, err := s.RunSeries(ctx, SeriesQuery{Tenant: tenantA, From: testStart.Add(-24 * time.Hour), To: testStart.Add(24 * time.Hour), Step: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.ListRuns(ctx, RunFilter{Tenant: tenantA, Limit: MaxRunLimit})
		if err != nil {
			t.Fatal(err)
		}
		var finished, processedN int64
		var credits float64
		for _, r := range page.Runs {
			if IsFinished(r.Status) {
				finished++
			}
			if r.Status == StatusProcessed {
				processedN++
				credits += *r.Credits
			}
		}
		if series.Total.Finished() != finished || series.Total.Processing().Count() != processedN || math.Abs(series.Total.Credits-credits) > 1e-6 {
			t.Fatalf("series total: %d finished, %d timed, %.1f credits; snapshots: %d, %d, %.1f",
				series.Total.Finished(), series.Total.Processing().Count(), series.Total.Credits, finished, processedN, credits)
		}
	})
}

func TestRunSeriesAndCounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn)
		// Runs every 7 minutes over 10 hours: every 5th fails, every 11th
		// still processing; processing time grows with the hour.
		var obs []RunObservation
		for i := range 86 {
			id := fmt.Sprintf("edr_%03d", i)
			var o RunObservation
			switch {
			case i%11 == 0:
				o = processing(id, 0)
			case i%5 == 0:
				o = failed(id, 0, "CORRUPT_FILE")
			default:
				o = processed(id, 0, float64(1000*(1+i*7/60)))
			}
			obs = append(obs, withCreated(o, i*7))
		}
		if _, err := s.UpsertRuns(ctx, tenantA, obs); err != nil {
			t.Fatal(err)
		}
		// The other tenant's runs at the same times must not show.
		if _, err := s.UpsertRuns(ctx, tenantB, obs[:30]); err != nil {
			t.Fatal(err)
		}
		series, err := s.RunSeries(ctx, SeriesQuery{Tenant: tenantA, From: testStart.Add(30 * time.Minute), To: testStart.Add(10 * time.Hour), Step: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		// The steps count from the hour; the first point starts where the
		// range does.
		if len(series.Points) != 5 || !series.Points[0].Start.Equal(testStart.Add(30*time.Minute)) ||
			!series.Points[1].Start.Equal(testStart.Add(2*time.Hour)) || !series.Points[4].End.Equal(testStart.Add(10*time.Hour)) {
			t.Fatalf("points: %d from %s", len(series.Points), series.Points[0].Start)
		}
		for _, p := range series.Points {
			var wantProcessed, wantFailed int64
			for i, o := range obs {
				if o.CreatedAt.Before(p.Start) || !o.CreatedAt.Before(p.End) {
					continue
				}
				switch obs[i].Status {
				case StatusProcessed:
					wantProcessed++
				case StatusFailed:
					wantFailed++
				}
			}
			if p.Runs[StatusProcessed] != wantProcessed || p.Runs[StatusFailed] != wantFailed || p.Failures["CORRUPT_FILE"] != wantFailed {
				t.Errorf("%s: %v / failures %v, want %d processed %d failed", p.Start, p.Runs, p.Failures, wantProcessed, wantFailed)
			}
			// Hour h's runs take 1000·(h+1) ms: the 2-hour point's median
			// lies between its two hours' values, within one bin.
			if p.Processing().Count() > 0 {
				h := math.Floor(p.Start.Sub(testStart).Hours())
				lo, hi := 1000*(h+1)/1.19, 1000*(h+2)*1.19
				if p50 := p.Processing().P50(); p50 < lo || p50 > hi {
					t.Errorf("%s: p50 %.0f ms outside [%.0f, %.0f]", p.Start, p50, lo, hi)
				}
			}
		}
		if got := series.Total.FillRatio(); math.Abs(got-0.8) > 1e-9 {
			t.Errorf("fill ratio %v, want 0.8", got)
		}

		// Counts over ranges with partial hours agree with a brute count.
		for _, r := range []struct{ from, to time.Duration }{
			{0, 10 * time.Hour}, {13 * time.Minute, 3*time.Hour + 17*time.Minute}, {65 * time.Minute, 100 * time.Minute},
			{-time.Hour, 0}, {2 * time.Hour, 2 * time.Hour},
		} {
			from, to := testStart.Add(r.from), testStart.Add(r.to)
			got, err := s.CountRuns(ctx, tenantA, from, to)
			if err != nil {
				t.Fatal(err)
			}
			want := RunCounts{ByStatus: map[string]int64{}}
			for _, o := range obs {
				if !o.CreatedAt.Before(from) && o.CreatedAt.Before(to) {
					want.ByStatus[o.Status]++
					want.Total++
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CountRuns %v..%v (-brute +got):\n%s", r.from, r.to, diff)
			}
		}
		// Stuck: processing for longer than 5× p95, at least 10 minutes.
		threshold, err := s.StuckThreshold(ctx, tenantA, testStart.Add(10*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if threshold != StuckMinimum {
			t.Errorf("stuck threshold %s, want the 10 min minimum (p95 is about 10 s)", threshold)
		}
		page, err := s.ListRuns(ctx, StuckFilter(tenantA, testStart.Add(10*time.Hour), threshold))
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) != 8 { // i = 0, 11, …, 77 are processing and older than 10 min
			t.Errorf("stuck runs: %v", runIDs(page.Runs))
		}
	})
}
