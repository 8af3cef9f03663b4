package alerts

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store"
)

// BenchmarkEvaluationCost evaluates one rule of each kind against a
// workspace with 1,000 runs of history and one with 1,000,000, the same
// 100 runs in the rule's window, and reports the ratio of the two costs
// measured in the same run: evaluation reads only the window, so the
// ratio stays near 1.
//
//	go test -run '^$' -bench EvaluationCost -benchtime 200x ./alerts/
func BenchmarkEvaluationCost(b *testing.B) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil, store.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	fill := func(tenant string, total int) {
		const batch = 20000
		for done := 0; done < total; done += batch {
			runs := make([]store.RunSnapshot, 0, batch)
			for i := done; i < min(done+batch, total); i++ {
				at := now.Add(-time.Duration(i+1) * 10 * time.Second) // older than the window...
				if i < 100 {
					at = now.Add(-time.Duration(i+1) * time.Second) // ...but for the newest 100
				}
				status, reason := store.StatusProcessed, ""
				if i%7 == 0 {
					status, reason = store.StatusFailed, "INTERNAL_ERROR"
				}
				ms, cr := float64(1000+i%5000), 1.0
				runs = append(runs, store.RunSnapshot{RunID: fmt.Sprintf("edr_%09d", i), FinishedAt: at,
					RunFacts: store.RunFacts{Status: status, FailureReason: reason, CreatedAt: at, ProcessingMs: &ms, Credits: &cr}})
			}
			if err := st.InsertSyntheticRuns(ctx, tenant, runs); err != nil {
				b.Fatal(err)
			}
		}
	}
	fill("us/ws_small", 1_000)
	fill("us/ws_large", 1_000_000)
	rules := func(ws string) []Rule {
		var out []Rule
		for _, kind := range Kinds {
			r := Rule{Name: kind, Deployment: "us", Workspace: ws, Kind: kind, Window: 2 * time.Minute, MinRuns: 1,
				AtLeast: 1, Reason: "INTERNAL_ERROR", Above: 0.1, LongerThan: 10 * time.Minute}
			out = append(out, r)
		}
		return out
	}
	small, large := rules("ws_small"), rules("ws_large")
	evalAll := func(rs []Rule) time.Duration {
		start := time.Now()
		for _, r := range rs {
			if _, err := Measure(ctx, st, r, now); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	evalAll(small) // warm both
	evalAll(large)
	var tSmall, tLarge time.Duration
	b.ResetTimer()
	for range b.N {
		tSmall += evalAll(small)
		tLarge += evalAll(large)
	}
	b.ReportMetric(float64(tSmall.Nanoseconds())/float64(b.N), "ns/eval-1k")
	b.ReportMetric(float64(tLarge.Nanoseconds())/float64(b.N), "ns/eval-1M")
	b.ReportMetric(float64(tLarge)/float64(tSmall), "ratio-1M/1k")
}
