package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRunLineage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		s := openMigrated(t, dsn)
		ctx := context.Background()
		for _, r := range [][2]string{{"edr_b", "edr_a"}, {"edr_c", "edr_a"}, {"edr_d", "edr_b"}, {"edr_b", "edr_x"}} {
			if err := s.RecordRerun(ctx, "us/ws_1", r[0], r[1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RecordRerun(ctx, "us/ws_2", "edr_z", "edr_a"); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]Lineage{
			"edr_a": {RerunAs: []string{"edr_b", "edr_c"}},
			"edr_b": {RerunOf: "edr_a", RerunAs: []string{"edr_d"}}, // the first record stays
			"edr_d": {RerunOf: "edr_b"},
			"edr_q": {},
		} {
			got, err := s.RunLineage(ctx, "us/ws_1", id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", id, diff)
			}
		}
	})
}

// TestDismissedRunsLeaveTheStuckList: a dismissed run is no longer listed
// as stuck, on either backend, and stays in history.
func TestDismissedRunsLeaveTheStuckList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		s := openMigrated(t, dsn)
		ctx := context.Background()
		old := s.Now().Add(-3 * time.Hour)
		runs := []RunSnapshot{
			{RunID: "edr_stuck1", RunFacts: RunFacts{Status: StatusProcessing, CreatedAt: old}},
			{RunID: "edr_stuck2", RunFacts: RunFacts{Status: StatusProcessing, CreatedAt: old.Add(time.Minute)}},
		}
		if err := s.InsertSyntheticRuns(ctx, "us/ws_1", runs); err != nil {
			t.Fatal(err)
		}
		stuck := func() []string {
			page, err := s.ListRuns(ctx, StuckFilter("us/ws_1", s.Now(), time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range page.Runs {
				ids = append(ids, r.RunID)
			}
			return ids
		}
		if diff := cmp.Diff([]string{"edr_stuck2", "edr_stuck1"}, stuck()); diff != "" {
			t.Fatalf("stuck before (-want +got):\n%s", diff)
		}
		for range 2 {
			if err := s.DismissRun(ctx, "us/ws_1", "edr_stuck1"); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff([]string{"edr_stuck2"}, stuck()); diff != "" {
			t.Errorf("stuck after dismissal (-want +got):\n%s", diff)
		}
		if _, err := s.GetRun(ctx, "us/ws_1", "edr_stuck1"); err != nil {
			t.Errorf("the dismissed run left history: %v", err)
		}
	})
}
