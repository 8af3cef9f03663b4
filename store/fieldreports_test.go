package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMigrationCountsFieldReports: migration 13 counts, in every rollup
// row already stored, the finished runs that reported both their field
// count and their filled values, as the rollups count them from then
// on: runs still processing, failed runs without counts and deleted runs
// do not count.
func TestMigrationCountsFieldReports(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openAt(t, dsn, 12)
		withCounts := func(o RunObservation) RunObservation {
			o.FieldCount, o.FieldsFilled = i64(12), i64(3)
			return o
		}
		observations := []RunObservation{
			processed("edr_a", 1, 900), processed("edr_b", 70, 900), processed("edr_c", 1500, 900), // report
			withCounts(failed("edr_d", 2, "INTERNAL_ERROR")), // reports
			failed("edr_e", 3, "CORRUPT_FILE"),               // no counts
			withCounts(processing("edr_f", 4)),               // not finished
			processed("edr_g", 5, 900),                       // deleted below
		}
		if _, err := s.UpsertRuns(ctx, tenantA, observations); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MarkRunDeleted(ctx, tenantA, "edr_g", time.Time{}); err != nil {
			t.Fatal(err)
		}
		dropFieldReports(t, s, 12)
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(recomputedRollups(t, s, tenantA), storedRollups(t, s, tenantA)); diff != "" {
			t.Fatalf("rollups after the migration (-recomputed +stored):\n%s", diff)
		}
		total, err := s.RunTotal(ctx, tenantA, testStart.Add(-48*time.Hour), testStart.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if total.FieldReports != 4 || total.Finished() != 5 {
			t.Errorf("after the migration: %d of %d finished runs reported field counts; want 4 of 5", total.FieldReports, total.Finished())
		}
	})
}
