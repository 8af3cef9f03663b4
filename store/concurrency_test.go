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

// TestConcurrentReplicasDuplicateDeliveries delivers the same events to
// two replicas at once, as Extend does when it redelivers while the
// first delivery is being stored: each event is applied once and counted
// as often as it came. Some batches repeat an event themselves, which
// sends them down the statement-per-step path, whose locks come in
// another order than the pipeline's (on PostgreSQL): a deadlock between
// the two must cost a wait, not a delivery.
func TestConcurrentReplicasDuplicateDeliveries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		sealer := WithSealer(newTestSealer(t))
		replicas := []*Store{openMigrated(t, dsn, sealer), openMigrated(t, dsn, sealer)}
		if _, err := replicas[0].CreateWebhookEndpointWithID(ctx, "ewh_dup", NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada"}); err != nil {
			t.Fatal(err)
		}
		const workers, rounds, events = 4, 4, 10
		var (
			wg         sync.WaitGroup
			mu         sync.Mutex
			applied    = map[string]int{}
			deliveries int
		)
		errs := make(chan error, workers*rounds*(events+1))
		for w := range workers {
			s := replicas[w%2]
			wg.Go(func() {
				for round := range rounds {
					var batch []WebhookDelivery
					for i := range events {
						// The workers send the round's events in different
						// orders, so their batches overlap unevenly.
						n := (i*3 + w) % events
						id := fmt.Sprintf("edr_%02d", n)
						o := processing(id, round)
						if n%2 == 0 {
							o = withCreated(processed(id, round, float64(10*(n+1))), n*7)
						}
						batch = append(batch, WebhookDelivery{Event: WebhookEvent{EndpointID: "ewh_dup",
							EventID: fmt.Sprintf("evt_%d_%d", round, n), EventType: "edit_run.processed", Payload: []byte(`{}`)},
							Tenant: tenantA, Runs: []RunObservation{o}, Outcome: describeTestChanges})
					}
					if (w+round)%3 == 0 {
						batch = append(batch, batch[0]) // a batch that repeats an event
					}
					results := s.StoreWebhookDeliveries(ctx, batch)
					mu.Lock()
					deliveries += len(batch)
					for i, r := range results {
						switch {
						case r.Err != nil:
							errs <- fmt.Errorf("%s: %v", batch[i].Event.EventID, r.Err)
						case !r.Duplicate:
							if r.Stored.AppliedAt.IsZero() {
								errs <- fmt.Errorf("%s stored, not applied", batch[i].Event.EventID)
							}
							applied[batch[i].Event.EventID]++
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for round := range rounds {
			for n := range events {
				if id := fmt.Sprintf("evt_%d_%d", round, n); applied[id] != 1 {
					t.Errorf("%s applied %d times, want once", id, applied[id])
				}
			}
		}
		if diff := cmp.Diff(recomputedRollups(t, replicas[0], tenantA), storedRollups(t, replicas[0], tenantA)); diff != "" {
			t.Fatalf("rollups drifted under duplicate deliveries (-recomputed +stored):\n%s", diff)
		}
		stored, _, err := replicas[1].ListWebhookEvents(ctx, WebhookEventFilter{Tenant: tenantA, Limit: 1000})
		if err != nil || len(stored) != rounds*events {
			t.Fatalf("%d events stored, %v; want %d", len(stored), err, rounds*events)
		}
		counted := 0
		for _, e := range stored {
			counted += int(e.Deliveries)
		}
		if counted != deliveries {
			t.Errorf("%d deliveries counted, want %d", counted, deliveries)
		}
	})
}
