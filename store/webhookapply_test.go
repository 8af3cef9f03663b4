package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
)

// An event is applied once however many appliers race for it: the ones
// that lose change nothing, not even the run's last-seen time, so a late
// second application cannot undo a newer event of the same run.
func TestApplyWebhookEventRunsOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clock := storetest.NewClock(testStart)
		s := openMigrated(t, dsn, WithClock(clock.Now), WithSealer(newTestSealer(t)))
		ep, err := s.CreateWebhookEndpoint(ctx, NewWebhookEndpoint{Tenant: "d/ws_a", CreatedBy: "ada"})
		if err != nil {
			t.Fatal(err)
		}
		ev, _, err := s.StoreWebhookEvent(ctx, WebhookEvent{EndpointID: ep.ID, EventID: "evt_1", EventType: "edit_run.processed", RunID: "edr_1"})
		if err != nil {
			t.Fatal(err)
		}
		credits := 3.0
		obs := []RunObservation{{RunID: "edr_1", SeenAt: testStart, Via: ViaWebhook,
			RunFacts: RunFacts{Status: StatusProcessed, CreatedAt: testStart, Credits: &credits}}}

		const appliers = 6
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			applied int
		)
		for range appliers {
			wg.Go(func() {
				changes, first, err := s.ApplyWebhookEventRuns(ctx, "d/ws_a", obs, ev.ID, func(c []RunChange) string { return "applied" })
				if err != nil {
					t.Error(err)
					return
				}
				if first != (len(changes) == 1) {
					t.Errorf("first %v with %d changes", first, len(changes))
				}
				if first {
					mu.Lock()
					applied++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if applied != 1 {
			t.Fatalf("%d appliers applied the event, want 1", applied)
		}
		before, err := s.GetRun(ctx, "d/ws_a", "edr_1")
		if err != nil {
			t.Fatal(err)
		}

		clock.Advance(time.Hour)
		later := obs[0]
		later.SeenAt = clock.Now()
		if _, first, err := s.ApplyWebhookEventRuns(ctx, "d/ws_a", []RunObservation{later}, ev.ID, nil); err != nil || first {
			t.Fatalf("applying again: first %v, %v", first, err)
		}
		after, _ := s.GetRun(ctx, "d/ws_a", "edr_1")
		if !after.LastSeenAt.Equal(before.LastSeenAt) {
			t.Errorf("a second application moved last seen from %v to %v", before.LastSeenAt, after.LastSeenAt)
		}
		total, err := s.RunTotal(ctx, "d/ws_a", testStart.Add(-time.Hour), testStart.Add(time.Hour))
		if err != nil || total.Runs[StatusProcessed] != 1 || total.Credits != 3 {
			t.Errorf("rollups: %v runs, %v credits, %v", total.Runs, total.Credits, err)
		}

		if _, _, err := s.ApplyWebhookEventRuns(ctx, "d/ws_a", obs, ev.ID+1000, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown event: %v", err)
		}
	})
}
