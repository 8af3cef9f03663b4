package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
	"github.com/google/go-cmp/cmp"
)

const tenantA, tenantB = "us/ws_alpha", "us/ws_bravo"

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }
func at(min int) time.Time   { return testStart.Add(time.Duration(min) * time.Minute) }
func seen(min int) time.Time { return at(min) }
func upd(min int) time.Time  { return at(min) }
func noTime() (t time.Time)  { return }
func processing(id string, seenMin int) RunObservation {
	return RunObservation{RunID: id, RunFacts: RunFacts{Status: StatusProcessing, FileName: "w9-" + id + ".pdf"}, SeenAt: seen(seenMin), Via: ViaList}
}

func processed(id string, seenMin int, ms float64) RunObservation {
	return RunObservation{RunID: id, RunFacts: RunFacts{
		Status: StatusProcessed, FileName: "w9-" + id + ".pdf", PageCount: i64(2), FieldCount: i64(10), FieldsFilled: i64(8),
		ProcessingMs: f64(ms), DetectionMs: f64(ms * 0.3), AnnotationMs: f64(ms * 0.15), FillingMs: f64(ms * 0.45), Credits: f64(2),
	}, SeenAt: seen(seenMin), Via: ViaRun}
}

func failed(id string, seenMin int, reason string) RunObservation {
	return RunObservation{RunID: id, RunFacts: RunFacts{Status: StatusFailed, FailureReason: reason, FailureMessage: "it broke",
		FileName: "w9-" + id + ".pdf"}, SeenAt: seen(seenMin), Via: ViaWebhook}
}

func withUpdated(o RunObservation, min int) RunObservation { o.UpdatedAt = upd(min); return o }
func withCreated(o RunObservation, min int) RunObservation { o.CreatedAt = at(min); return o }

// TestPrecedence plays sequences of sightings of one run and checks which
// status and facts win.
func TestPrecedence(t *testing.T) {
	tests := []struct {
		name       string
		seq        []RunObservation
		wantStatus string
		wantReason string
		wantMs     *float64
		wantAt     time.Time
	}{
		{"finished beats processing seen later", []RunObservation{processed("r", 1, 900), processing("r", 5)},
			StatusProcessed, "", f64(900), seen(1)},
		{"processing then finished", []RunObservation{processing("r", 1), failed("r", 2, "CORRUPT_FILE")},
			StatusFailed, "CORRUPT_FILE", nil, seen(1)},
		{"same kind: later updatedAt wins even when seen first",
			[]RunObservation{withUpdated(failed("r", 9, "CORRUPT_FILE"), 8), withUpdated(processed("r", 1, 700), 3)},
			StatusFailed, "CORRUPT_FILE", nil, seen(1)},
		{"same kind: later updatedAt wins when seen later",
			[]RunObservation{withUpdated(processed("r", 1, 700), 3), withUpdated(failed("r", 9, "CORRUPT_FILE"), 8)},
			StatusFailed, "CORRUPT_FILE", nil, seen(1)},
		{"same kind without updatedAt: later sighting wins",
			[]RunObservation{failed("r", 9, "CORRUPT_FILE"), processed("r", 4, 700)},
			StatusFailed, "CORRUPT_FILE", nil, seen(4)},
		{"one updatedAt missing: seen time decides",
			[]RunObservation{withUpdated(processed("r", 2, 700), 50), failed("r", 3, "INTERNAL_ERROR")},
			StatusFailed, "INTERNAL_ERROR", nil, seen(2)},
		{"equal updatedAt: the newer sighting", []RunObservation{
			withUpdated(processed("r", 2, 700), 5), withUpdated(processed("r", 3, 800), 5)},
			StatusProcessed, "", f64(800), seen(2)},
		{"same status: winner keeps loser's metrics", []RunObservation{
			processed("r", 2, 700), withUpdated(RunObservation{RunID: "r", RunFacts: RunFacts{Status: StatusProcessed}, SeenAt: seen(3)}, 4)},
			StatusProcessed, "", f64(700), seen(2)},
		{"createdAt places the run, whoever brings it", []RunObservation{
			processed("r", 30, 700), withCreated(processing("r", 31), 10)},
			StatusProcessed, "", f64(700), at(10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cur RunSnapshot
			exists := false
			for _, o := range tt.seq {
				cur = applyObservation(tenantA, cur, exists, o)
				exists = true
			}
			if cur.Status != tt.wantStatus || cur.FailureReason != tt.wantReason {
				t.Errorf("status %s/%s, want %s/%s", cur.Status, cur.FailureReason, tt.wantStatus, tt.wantReason)
			}
			if diff := cmp.Diff(tt.wantMs, cur.ProcessingMs); diff != "" {
				t.Errorf("processing ms (-want +got):\n%s", diff)
			}
			if !cur.At.Equal(tt.wantAt) {
				t.Errorf("At = %s, want %s", cur.At, tt.wantAt)
			}
			if cur.Status == StatusFailed && cur.ProcessingMs != nil {
				t.Errorf("a failed run borrowed processed metrics: %v", *cur.ProcessingMs)
			}
		})
	}
}

func TestUpsertRunsAndTombstones(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clock := storetest.NewClock(testStart.Add(time.Hour))
		s := openMigrated(t, dsn, WithClock(clock.Now))

		changes, err := s.UpsertRuns(ctx, tenantA, []RunObservation{processing("edr_1", 1), processing("edr_2", 1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) != 2 || !changes[0].Created() || !changes[0].Changed {
			t.Fatalf("first sighting: %+v", changes)
		}
		// Seen again unchanged: not a change, but last seen moves.
		changes, err = s.UpsertRuns(ctx, tenantA, []RunObservation{processing("edr_1", 2)})
		if err != nil {
			t.Fatal(err)
		}
		if changes[0].Changed || changes[0].Created() {
			t.Fatalf("same facts again reported as a change: %+v", changes[0])
		}
		got, err := s.GetRun(ctx, tenantA, "edr_1")
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastSeenAt.Equal(seen(2)) || !got.FirstSeenAt.Equal(seen(1)) {
			t.Fatalf("seen %s..%s, want %s..%s", got.FirstSeenAt, got.LastSeenAt, seen(1), seen(2))
		}
		// Finished, then an older PROCESSING sighting does not undo it.
		changes, err = s.UpsertRuns(ctx, tenantA, []RunObservation{withUpdated(processed("edr_1", 3, 1200), 3), processing("edr_1", 4)})
		if err != nil {
			t.Fatal(err)
		}
		if !changes[0].StatusChanged() || changes[0].After.Status != StatusProcessed {
			t.Fatalf("finish: %+v", changes[0])
		}
		got, _ = s.GetRun(ctx, tenantA, "edr_1")
		if got.Status != StatusProcessed || !got.FinishedAt.Equal(upd(3)) || got.FieldsFilled == nil || *got.FieldsFilled != 8 {
			t.Fatalf("after finish: %+v", got)
		}
		if diff := cmp.Diff(changes[0].After, got); diff != "" {
			t.Fatalf("returned snapshot differs from stored (-returned +stored):\n%s", diff)
		}

		// Deletion is final: it leaves the list and nothing brings it back.
		if _, err := s.MarkRunDeleted(ctx, tenantA, "edr_1", at(5)); err != nil {
			t.Fatal(err)
		}
		changes, err = s.UpsertRuns(ctx, tenantA, []RunObservation{withUpdated(failed("edr_1", 6, "CORRUPT_FILE"), 6)})
		if err != nil {
			t.Fatal(err)
		}
		if changes[0].Changed {
			t.Fatalf("a tombstone changed: %+v", changes[0])
		}
		got, _ = s.GetRun(ctx, tenantA, "edr_1")
		if !got.Deleted() || got.FileName != "" || got.Status != StatusProcessed {
			t.Fatalf("tombstone: %+v", got)
		}
		// A run deleted before it was ever seen stays deleted too.
		if _, err := s.MarkRunDeleted(ctx, tenantA, "edr_9", at(5)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertRuns(ctx, tenantA, []RunObservation{processed("edr_9", 7, 100)}); err != nil {
			t.Fatal(err)
		}
		page, err := s.ListRuns(ctx, RunFilter{Tenant: tenantA})
		if err != nil {
			t.Fatal(err)
		}
		if ids := runIDs(page.Runs); !cmp.Equal(ids, []string{"edr_2"}) {
			t.Fatalf("list after deletions = %v, want [edr_2]", ids)
		}
		series, err := s.RunSeries(ctx, SeriesQuery{Tenant: tenantA, From: testStart, To: testStart.Add(2 * time.Hour), Step: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if n := series.Total.Finished(); n != 0 {
			t.Fatalf("deleted runs still in rollups: %d finished", n)
		}
		if _, err := s.GetRun(ctx, tenantB, "edr_2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetRun in another tenant: %v, want ErrNotFound", err)
		}
	})
}

func runIDs(runs []RunSnapshot) []string {
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		ids = append(ids, r.RunID)
	}
	return ids
}
