package store

import (
	"context"
	"fmt"
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

// TestGetRuns: the snapshots of many runs in one call, tombstones
// included, runs of another tenant or never seen left out, across the
// query's chunks.
func TestGetRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		s := openMigrated(t, dsn)
		ctx := context.Background()
		var runs []RunSnapshot
		var ids []string
		for i := range runsByIDChunk + 3 {
			id := fmt.Sprintf("edr_g%04d", i)
			ids = append(ids, id)
			runs = append(runs, RunSnapshot{RunID: id, RunFacts: RunFacts{Status: StatusProcessed, CreatedAt: time.Now()}})
		}
		runs[0].Status = StatusProcessing
		if err := s.InsertSyntheticRuns(ctx, "us/ws_1", runs); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertSyntheticRuns(ctx, "us/ws_2", []RunSnapshot{{RunID: "edr_other", RunFacts: RunFacts{Status: StatusFailed, CreatedAt: time.Now()}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MarkRunDeleted(ctx, "us/ws_1", ids[1], time.Time{}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRuns(ctx, "us/ws_1", append(ids, "edr_other", "edr_never"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ids) {
			t.Fatalf("%d runs, want %d", len(got), len(ids))
		}
		if got[ids[0]].Status != StatusProcessing || !got[ids[1]].Deleted() || got[ids[len(ids)-1]].Status != StatusProcessed {
			t.Errorf("first %+v, second deleted %v, last %+v", got[ids[0]].RunFacts, got[ids[1]].Deleted(), got[ids[len(ids)-1]].RunFacts)
		}
		if _, ok := got["edr_other"]; ok {
			t.Error("a run of another tenant came back")
		}
		if none, err := s.GetRuns(ctx, "us/ws_1", nil); err != nil || len(none) != 0 {
			t.Errorf("no IDs: %v %v", none, err)
		}
	})
}
