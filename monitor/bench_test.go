package monitor

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

// benchRuns is the size of the big history (EDITWATCH_BENCH_RUNS, default
// one million); the small one has a thousand.
func benchRuns(b *testing.B) int {
	if v := os.Getenv("EDITWATCH_BENCH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("EDITWATCH_BENCH_RUNS=%q", v)
		}
		return n
	}
	return 1_000_000
}

var benchEnd = time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)

const benchTenant = "sandbox/ws_demo"

// seededStore opens a store with runs of synthetic history over 30 days
// (and a smaller neighbour tenant, so tenant filters matter).
func seededStore(b *testing.B, dsn string, runs int) *store.Store {
	b.Helper()
	st := openStore(b, dsn)
	ctx := context.Background()
	start := time.Now()
	if _, err := Seed(ctx, st, benchTenant, SeedOptions{Runs: runs, Days: 30, End: benchEnd, RandomSeed: 1}); err != nil {
		b.Fatal(err)
	}
	if _, err := Seed(ctx, st, "sandbox/ws_other", SeedOptions{Runs: max(runs/10, 100), Days: 30, End: benchEnd, RandomSeed: 2}); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d runs in %s", runs, time.Since(start).Round(time.Millisecond))
	return st
}

// The store work of one page view each, in three groups: the runs list
// (a page of the last 24 hours, a status filter, the range's counts), the
// overview (30-day and 24-hour series, the stuck threshold), and a search
// (a common file-name term and a run-ID prefix).
func listPage(ctx context.Context, st *store.Store, _ string) error {
	now := benchEnd
	if _, err := st.ListRuns(ctx, store.RunFilter{Tenant: benchTenant, From: now.Add(-24 * time.Hour), To: now}); err != nil {
		return err
	}
	if _, err := st.ListRuns(ctx, store.RunFilter{Tenant: benchTenant, Status: store.StatusFailed, From: now.Add(-24 * time.Hour), To: now}); err != nil {
		return err
	}
	_, err := st.CountRuns(ctx, benchTenant, now.Add(-24*time.Hour), now)
	return err
}

func overviewPage(ctx context.Context, st *store.Store, _ string) error {
	now := benchEnd
	// The 30-day chart has a bar per UTC day, today's included.
	days := now.Truncate(24*time.Hour).AddDate(0, 0, -29)
	if _, err := st.RunSeries(ctx, store.SeriesQuery{Tenant: benchTenant, From: days, To: now, Step: 24 * time.Hour}); err != nil {
		return err
	}
	if _, err := st.RunSeries(ctx, store.SeriesQuery{Tenant: benchTenant, From: now.Add(-24 * time.Hour), To: now, Step: time.Hour}); err != nil {
		return err
	}
	_, err := st.StuckThreshold(ctx, benchTenant, now)
	return err
}

// edgesPage is the store work of pages whose ranges end off the hour, as a
// "last hour" or "last 7 days" asked at 11:42:36 does: the failures page
// (a 7-day hourly series), the overview's last 24 hours, and the runs
// list's counts over the last hour.
func edgesPage(ctx context.Context, st *store.Store, _ string) error {
	now := benchEnd.Add(-17*time.Minute - 23*time.Second - 456*time.Millisecond)
	if _, err := st.RunSeries(ctx, store.SeriesQuery{Tenant: benchTenant, From: now.Add(-7 * 24 * time.Hour), To: now, Step: time.Hour}); err != nil {
		return err
	}
	if _, err := st.RunSeries(ctx, store.SeriesQuery{Tenant: benchTenant, From: now.Add(-24 * time.Hour), To: now, Step: time.Hour}); err != nil {
		return err
	}
	_, err := st.CountRuns(ctx, benchTenant, now.Add(-time.Hour), now)
	return err
}

func searchPage(ctx context.Context, st *store.Store, runPrefix string) error {
	if page, err := st.ListRuns(ctx, store.RunFilter{Tenant: benchTenant, FileName: "acme"}); err != nil || len(page.Runs) == 0 {
		return fmt.Errorf("name search: %d runs, %v", len(page.Runs), err)
	}
	if page, err := st.ListRuns(ctx, store.RunFilter{Tenant: benchTenant, RunIDPrefix: runPrefix}); err != nil || len(page.Runs) == 0 {
		return fmt.Errorf("prefix search: %d runs, %v", len(page.Runs), err)
	}
	return nil
}

// BenchmarkHistoryScale serves the runs list, the overview, a search and
// pages of ranges that end off the hour from a store of 1,000 runs and
// from one of benchRuns, alternately (five views of a page on one store,
// then five on the other) in the same run,
// and reports the median time of each against the small store's: a ratio
// near 1 means the cost does not grow with history.
func BenchmarkHistoryScale(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			small := seededStore(b, backend.NewDSN(b), 1000)
			big := seededStore(b, backend.NewDSN(b), benchRuns(b))
			prefix := func(st *store.Store) string {
				page, err := st.ListRuns(ctx, store.RunFilter{Tenant: benchTenant, Limit: 1})
				if err != nil {
					b.Fatal(err)
				}
				return page.Runs[0].RunID[:8]
			}
			prefixes := map[*store.Store]string{small: prefix(small), big: prefix(big)}
			pages := []struct {
				name string
				fn   func(context.Context, *store.Store, string) error
			}{{"list", listPage}, {"overview", overviewPage}, {"search", searchPage}, {"edges", edgesPage}}
			times := map[string][]time.Duration{}
			b.ResetTimer()
			for b.Loop() {
				for _, p := range pages {
					// A few views in a row per store, as a page is served
					// again and again, so each store is measured warm and
					// not in the shadow of the other's caches.
					for _, st := range []*store.Store{small, big} {
						key := p.name + "-small"
						if st == big {
							key = p.name + "-big"
						}
						for range 5 {
							start := time.Now()
							if err := p.fn(ctx, st, prefixes[st]); err != nil {
								b.Fatal(err)
							}
							times[key] = append(times[key], time.Since(start))
						}
					}
				}
			}
			var sumSmall, sumBig time.Duration
			for _, p := range pages {
				ms, mb := median(times[p.name+"-small"]), median(times[p.name+"-big"])
				sumSmall, sumBig = sumSmall+ms, sumBig+mb
				b.ReportMetric(float64(mb)/float64(ms), p.name+"-ratio")
				b.Logf("%-8s 1k runs %8s  %d runs %8s  ratio %.2f", p.name, ms.Round(time.Microsecond), benchRuns(b), mb.Round(time.Microsecond), float64(mb)/float64(ms))
			}
			b.ReportMetric(float64(sumBig)/float64(sumSmall), "all-ratio")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkSeed is editwatch seed's throughput: 100,000 runs per op.
func BenchmarkSeed(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			st := openStore(b, backend.NewDSN(b))
			const runs = 100_000
			var total time.Duration
			i := 0
			for b.Loop() {
				i++
				start := time.Now()
				if _, err := Seed(context.Background(), st, fmt.Sprintf("us/ws_%d", i), SeedOptions{Runs: runs, Days: 30, End: benchEnd}); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(runs*i)/total.Seconds(), "runs/s")
		})
	}
}
