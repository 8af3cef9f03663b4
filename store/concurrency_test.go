package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConcurrentReplicasUpsert: two stores on one database (two replicas)
// record the same runs at once, in different orders; every run is counted
// once and nothing deadlocks or fails.
func TestConcurrentReplicasUpsert(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		replicas := []*Store{openMigrated(t, dsn), openMigrated(t, dsn)}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 4 {
			s := replicas[w%2]
			wg.Go(func() {
				for round := range 10 {
					var batch []RunObservation
					for i := range 20 {
						id := fmt.Sprintf("edr_%02d", (i*7+w*3+round)%20)
						if (i+w)%2 == 0 {
							batch = append(batch, processing(id, round))
						} else {
							batch = append(batch, withCreated(processed(id, round, float64(100*(i+1))), i*13))
						}
					}
					if _, err := s.UpsertRuns(ctx, tenantA, batch); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if diff := cmp.Diff(recomputedRollups(t, replicas[0], tenantA), storedRollups(t, replicas[0], tenantA)); diff != "" {
			t.Fatalf("rollups drifted under concurrency (-recomputed +stored):\n%s", diff)
		}
		counts, err := replicas[1].CountRuns(ctx, tenantA, testStart.Add(-48*3600e9), testStart.Add(48*3600e9))
		if err != nil || counts.Total != 20 {
			t.Fatalf("counts %+v %v, want 20 runs", counts, err)
		}
	})
}

// TestConcurrentReplicasWebhookBatches: two stores on one database store
// webhook batches at once that create and change the same runs (on
// PostgreSQL the pipelined writer, whose inserts then race); every event
// is stored once and applied, and the rollups equal the snapshots.
func TestConcurrentReplicasWebhookBatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		sealer := WithSealer(newTestSealer(t))
		replicas := []*Store{openMigrated(t, dsn, sealer), openMigrated(t, dsn, sealer)}
		if _, err := replicas[0].CreateWebhookEndpointWithID(ctx, "ewh_race", NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada"}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for w := range 4 {
			s := replicas[w%2]
			wg.Go(func() {
				for round := range 8 {
					var batch []WebhookDelivery
					for i := range 12 {
						id := fmt.Sprintf("edr_%02d", (i*5+w*3+round)%16)
						o := processing(id, round)
						if (i+w+round)%3 == 0 {
							o = withCreated(processed(id, round, float64(100*(i+1))), i*17)
						}
						eventID := fmt.Sprintf("evt_%d_%d_%d", w, round, i)
						batch = append(batch, WebhookDelivery{Event: WebhookEvent{EndpointID: "ewh_race", EventID: eventID,
							EventType: "edit_run.processed", Payload: []byte(`{}`)}, Tenant: tenantA, Runs: []RunObservation{o}, Outcome: describeTestChanges})
					}
					for i, r := range s.StoreWebhookDeliveries(ctx, batch) {
						if r.Err != nil || r.Duplicate || r.Stored.AppliedAt.IsZero() {
							errs <- fmt.Errorf("%s: err %v, duplicate %v, applied at %v", batch[i].Event.EventID, r.Err, r.Duplicate, r.Stored.AppliedAt)
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if diff := cmp.Diff(recomputedRollups(t, replicas[0], tenantA), storedRollups(t, replicas[0], tenantA)); diff != "" {
			t.Fatalf("rollups drifted under concurrent batches (-recomputed +stored):\n%s", diff)
		}
		events, _, err := replicas[1].ListWebhookEvents(ctx, WebhookEventFilter{Tenant: tenantA, Limit: 1000})
		if err != nil || len(events) != 4*8*12 {
			t.Fatalf("%d events stored, %v; want %d", len(events), err, 4*8*12)
		}
	})
}
