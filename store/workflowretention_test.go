package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/store/storetest"
)

// TestPurgeLineageAndDismissals: retention takes the re-run links and the
// stuck-run dismissals made before the cutoff, and only those, on either
// backend.
func TestPurgeLineageAndDismissals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		clock := storetest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		s := openMigrated(t, dsn, WithClock(clock.Now))
		ctx := context.Background()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.RecordRerun(ctx, "us/ws_1", "edr_old2", "edr_old1"))
		must(s.DismissRun(ctx, "us/ws_1", "edr_oldstuck"))
		clock.Advance(10 * 24 * time.Hour)
		cutoff := clock.Now()
		clock.Advance(time.Minute)
		must(s.RecordRerun(ctx, "us/ws_1", "edr_new2", "edr_new1"))
		must(s.DismissRun(ctx, "us/ws_1", "edr_newstuck"))

		n, err := s.PurgeLineageBefore(ctx, cutoff)
		if err != nil || n != 1 {
			t.Fatalf("PurgeLineageBefore = %d, %v; want 1", n, err)
		}
		if got, err := s.RunLineage(ctx, "us/ws_1", "edr_old1"); err != nil || len(got.RerunAs) != 0 {
			t.Errorf("old lineage left: %+v %v", got, err)
		}
		if got, err := s.RunLineage(ctx, "us/ws_1", "edr_new1"); err != nil || !cmp.Equal(got.RerunAs, []string{"edr_new2"}) {
			t.Errorf("new lineage: %+v %v", got, err)
		}

		n, err = s.PurgeDismissalsBefore(ctx, cutoff)
		if err != nil || n != 1 {
			t.Fatalf("PurgeDismissalsBefore = %d, %v; want 1", n, err)
		}
		left, err := s.queryStrings(ctx, `SELECT run_id FROM run_dismissals ORDER BY run_id`)
		if err != nil || !cmp.Equal(left, []string{"edr_newstuck"}) {
			t.Errorf("dismissals left: %v %v", left, err)
		}

		if n, err := s.PurgeLineageBefore(ctx, cutoff); err != nil || n != 0 {
			t.Errorf("second lineage purge = %d, %v", n, err)
		}
		if n, err := s.PurgeDismissalsBefore(ctx, cutoff); err != nil || n != 0 {
			t.Errorf("second dismissals purge = %d, %v", n, err)
		}
	})
}
