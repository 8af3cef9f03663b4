package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The shapes of the sorted list: each sort orders by the expression its
// index is on, ties broken by id, and its cursor continues after the key.
func TestRunSQLSorted(t *testing.T) {
	tests := []struct {
		name     string
		dialect  *dialect
		filter   RunFilter
		wantSQL  string
		wantArgs []any
	}{
		{"created, oldest first", sqliteDialect, RunFilter{Tenant: "t", Ascending: true, Cursor: "created-asc:100:7"},
			`SELECT COLS FROM run_snapshots WHERE tenant = ? AND deleted_at IS NULL AND (at > ? OR (at = ? AND id > ?)) ORDER BY at ASC, id ASC LIMIT ?`,
			[]any{"t", int64(100), int64(100), int64(7), 5}},
		{"processing, longest first", postgresDialect, RunFilter{Tenant: "t", Sort: SortProcessing, Cursor: "processing-desc:1500.5:9"},
			`SELECT COLS FROM run_snapshots WHERE tenant = $1 AND deleted_at IS NULL AND (COALESCE(processing_ms, -1) < $2 OR (COALESCE(processing_ms, -1) = $3 AND id < $4)) ORDER BY COALESCE(processing_ms, -1) DESC, id DESC LIMIT $5`,
			[]any{"t", 1500.5, 1500.5, int64(9), 5}},
		{"credits, cheapest first", sqliteDialect, RunFilter{Tenant: "t", Sort: SortCredits, Ascending: true, Status: "PROCESSED"},
			`SELECT COLS FROM run_snapshots WHERE tenant = ? AND deleted_at IS NULL AND status = ? ORDER BY COALESCE(credits, -1) ASC, id ASC LIMIT ?`,
			[]any{"t", "PROCESSED", 5}},
		{"fields filled", sqliteDialect, RunFilter{Tenant: "t", Sort: SortFilled, Cursor: "filled-desc:-1:3"},
			`SELECT COLS FROM run_snapshots WHERE tenant = ? AND deleted_at IS NULL AND (COALESCE(fields_filled, -1) < ? OR (COALESCE(fields_filled, -1) = ? AND id < ?)) ORDER BY COALESCE(fields_filled, -1) DESC, id DESC LIMIT ?`,
			[]any{"t", int64(-1), int64(-1), int64(3), 5}},
	}
	for _, tt := range tests {
		s := &Store{d: tt.dialect}
		q, args, err := s.runSQL(runQuery{filter: tt.filter, limit: 5})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := strings.Join(strings.Fields(strings.ReplaceAll(tt.dialect.rebind(q), snapshotColumns, "COLS")), " ")
		if diff := cmp.Diff(tt.wantSQL, got); diff != "" {
			t.Errorf("%s: SQL (-want +got):\n%s", tt.name, diff)
		}
		if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
			t.Errorf("%s: args (-want +got):\n%s", tt.name, diff)
		}
	}
	// A cursor of another sort or direction is refused, not misread.
	for _, f := range []RunFilter{
		{Tenant: "t", Sort: SortCredits, Cursor: "processing-desc:1:2"},
		{Tenant: "t", Sort: SortCredits, Ascending: true, Cursor: "credits-desc:1:2"},
		{Tenant: "t", Sort: SortCredits, Cursor: "100.7"},
		{Tenant: "t", Sort: SortFilled, Cursor: "filled-desc:1.5:2"},
	} {
		if _, _, err := (&Store{d: sqliteDialect}).runSQL(runQuery{filter: f}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("cursor %q for %s asc=%v: %v, want ErrInvalidCursor", f.Cursor, f.Sort, f.Ascending, err)
		}
	}
}

// TestListRunsSorted pages through every sort in both directions, three
// runs a page, with ties and missing measurements: the pages together are
// the whole list in order, each run exactly once.
func TestListRunsSorted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		s := openMigrated(t, dsn)
		ctx := context.Background()
		base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		var runs []RunSnapshot
		for i := range 11 {
			r := RunSnapshot{RunID: fmt.Sprintf("edr_%02d", i), RunFacts: RunFacts{Status: StatusProcessed,
				CreatedAt: base.Add(time.Duration(i%4) * time.Minute)}} // ties on created
			if i%3 != 0 { // every third run reports nothing (a failed run)
				ms, credits, filled := float64(1000*(i%5)), float64(i%2)+0.5, int64(i%4)
				r.ProcessingMs, r.Credits, r.FieldsFilled = &ms, &credits, &filled
			} else {
				r.Status, r.FailureReason = StatusFailed, "CORRUPT_FILE"
			}
			runs = append(runs, r)
		}
		if err := s.InsertSyntheticRuns(ctx, "us/ws_sort", runs); err != nil {
			t.Fatal(err)
		}
		all, err := s.ListRuns(ctx, RunFilter{Tenant: "us/ws_sort", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, sort := range []string{SortCreated, SortProcessing, SortCredits, SortFilled} {
			for _, asc := range []bool{false, true} {
				f := RunFilter{Tenant: "us/ws_sort", Sort: sort, Ascending: asc}
				want := slices.Clone(all.Runs)
				key := sortOf(f).key
				slices.SortStableFunc(want, func(a, b RunSnapshot) int {
					ai, af := key(a)
					bi, bf := key(b)
					c := cmpKey(ai, af, bi, bf)
					if c == 0 {
						c = cmpKey(a.ID, 0, b.ID, 0)
					}
					if !asc {
						c = -c
					}
					return c
				})
				var got []string
				f.Limit = 3
				for pages := 0; ; pages++ {
					if pages > 10 {
						t.Fatalf("%s asc=%v: paging does not end", sort, asc)
					}
					page, err := s.ListRuns(ctx, f)
					if err != nil {
						t.Fatalf("%s asc=%v: %v", sort, asc, err)
					}
					for _, r := range page.Runs {
						got = append(got, r.RunID)
					}
					if page.NextCursor == "" {
						break
					}
					f.Cursor = page.NextCursor
				}
				var wantIDs []string
				for _, r := range want {
					wantIDs = append(wantIDs, r.RunID)
				}
				if diff := cmp.Diff(wantIDs, got); diff != "" {
					t.Errorf("sort %q asc=%v (-want +got):\n%s", sort, asc, diff)
				}
			}
		}
	})
}

func cmpKey(ai int64, af float64, bi int64, bf float64) int {
	switch {
	case ai < bi || (ai == bi && af < bf):
		return -1
	case ai > bi || (ai == bi && af > bf):
		return 1
	}
	return 0
}
