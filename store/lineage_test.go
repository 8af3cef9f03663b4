package store

import (
	"context"
	"testing"

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
