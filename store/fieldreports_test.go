package store

import (
	"context"
	"testing"
	"time"
)

// TestFieldReports counts the finished runs of a range that reported
// their field counts, exactly under the limit and as "of the newest"
// over it; runs outside the range, still processing or deleted do not
// count.
func TestFieldReports(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		s := openMigrated(t, dsn)
		ctx := context.Background()
		base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		n := func(v int64) *int64 { return &v }
		var runs []RunSnapshot
		for i := range 10 {
			r := RunSnapshot{RunID: "edr_f" + string(rune('a'+i)), RunFacts: RunFacts{Status: StatusProcessed, CreatedAt: base.Add(time.Duration(i) * time.Minute)}}
			if i%3 == 0 { // a, d, g, j reported both
				r.FieldCount, r.FieldsFilled = n(10), n(7)
			}
			if i == 1 {
				r.FieldCount = n(10) // a count without filled values is no report
			}
			runs = append(runs, r)
		}
		runs = append(runs,
			RunSnapshot{RunID: "edr_busy", RunFacts: RunFacts{Status: StatusProcessing, CreatedAt: base.Add(2 * time.Minute), FieldCount: n(3), FieldsFilled: n(3)}},
			RunSnapshot{RunID: "edr_before", RunFacts: RunFacts{Status: StatusFailed, CreatedAt: base.Add(-time.Minute), FieldCount: n(3), FieldsFilled: n(1)}},
		)
		if err := s.InsertSyntheticRuns(ctx, "us/ws_1", runs); err != nil {
			t.Fatal(err)
		}
		since, until := base, base.Add(10*time.Minute)
		if reported, finished, exact, err := s.FieldReports(ctx, "us/ws_1", since, until, 100); err != nil || reported != 4 || finished != 10 || !exact {
			t.Errorf("under the limit: %d of %d exact %v, %v; want 4 of 10 exact", reported, finished, exact, err)
		}
		if reported, finished, exact, err := s.FieldReports(ctx, "us/ws_1", since, until, 10); err != nil || reported != 4 || finished != 10 || !exact {
			t.Errorf("at the limit: %d of %d exact %v, %v; want 4 of 10 exact", reported, finished, exact, err)
		}
		// The newest 4: g, h, i, j; g and j reported.
		if reported, finished, exact, err := s.FieldReports(ctx, "us/ws_1", since, until, 4); err != nil || reported != 2 || finished != 4 || exact {
			t.Errorf("over the limit: %d of %d exact %v, %v; want 2 of the newest 4, not exact", reported, finished, exact, err)
		}
		if reported, finished, _, err := s.FieldReports(ctx, "us/ws_2", since, until, 100); err != nil || reported != 0 || finished != 0 {
			t.Errorf("another tenant: %d of %d, %v", reported, finished, err)
		}
	})
}
