package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/store/storetest"
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
// sends them down the statement-per-step path (on PostgreSQL): the two
// paths take turns on the events they share, and no delivery fails.
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

// TestWebhookDeadlockIsRunAgain plays, step by step, the deadlock that a
// redelivery can cause between the pipeline (runs locked, then the event
// inserted) and a transaction that inserts the event first, then locks
// its run: when PostgreSQL ends the latter, it must run again (and find
// the event stored by then) rather than fail the delivery.
//
// PostgreSQL ends the waiter whose deadlock_timeout runs out after the
// cycle closed, and each waiter checks only once. Left to the default
// (1 s for both) the victim depended on how fast a busy machine let the
// test close the cycle, and CI once saw the other side ended instead.
// So the store's sessions check after 8 s, by which time the cycle is
// closed even under -race on a loaded machine, and the other side's
// session never checks while the test runs.
func TestWebhookDeadlockIsRunAgain(t *testing.T) {
	ctx := context.Background()
	s, other := postgresWithEndpoint(t, "ewh_dl", "deadlock_timeout", "8s")
	if _, err := s.UpsertRuns(ctx, tenantA, []RunObservation{processing("edr_dl", 0)}); err != nil {
		t.Fatal(err)
	}

	// The other side, on its own connection: the run locked first.
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// A statement timeout, so that a test that failed to close the cycle
	// in time fails instead of waiting for a deadlock check that never
	// comes.
	for _, set := range []string{`SET LOCAL deadlock_timeout = '10min'`, `SET LOCAL statement_timeout = '60s'`} {
		if _, err := tx.ExecContext(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM run_snapshots WHERE tenant = $1 AND run_id = $2 FOR UPDATE`, tenantA, "edr_dl"); err != nil {
		t.Fatal(err)
	}
	var otherPID int
	if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&otherPID); err != nil {
		t.Fatal(err)
	}

	// This side inserts the event, then waits for the run.
	type result struct {
		duplicate bool
		err       error
	}
	done := make(chan result, 1)
	go func() {
		_, dup, _, err := s.StoreAndApplyWebhookEvent(ctx, WebhookEvent{EndpointID: "ewh_dl", EventID: "evt_dl",
			EventType: "edit_run.processed", RunID: "edr_dl", Payload: []byte(`{}`)}, tenantA,
			[]RunObservation{processed("edr_dl", 1, 100)}, describeTestChanges)
		done <- result{dup, err}
	}()
	waitForLockWait(t, other, otherPID)

	// The other side now inserts the same event: each waits for the
	// other. PostgreSQL ends this side when its deadlock_timeout runs out.
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_events (endpoint_id, event_id, event_type, run_id, received_at, verified, applied_at, outcome)
		VALUES ('ewh_dl', 'evt_dl', 'edit_run.processed', 'edr_dl', 1, 1, 1, 'applied by the other side')`); err != nil {
		t.Fatalf("the other side lost the deadlock instead (%v): the test did not play the case", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("the delivery failed on a deadlock it could have run again: %v", r.err)
		}
		if !r.duplicate {
			t.Error("run again, the delivery should find the event the other side stored: a duplicate")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery did not end")
	}
	ev, _, err := s.ListWebhookEvents(ctx, WebhookEventFilter{Tenant: tenantA, Limit: 10})
	if err != nil || len(ev) != 1 || ev[0].Deliveries != 2 {
		t.Fatalf("events %+v, %v; want the one event, delivered twice", ev, err)
	}
}

// waitForLockWait waits until a session waits for a lock the backend
// holder holds.
func waitForLockWait(t *testing.T, db *sql.DB, holder int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, holder).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatal("the delivery never waited for the run's lock")
}

// postgresWithEndpoint opens a migrated store on a fresh PostgreSQL
// database (it skips without one) with webhook endpoint endpointID of
// tenantA, and, for the test's other side, a pool of its own on the same
// database. settings are name, value pairs that the store's sessions
// start with (superuser ones: the test skips without a superuser).
func postgresWithEndpoint(t *testing.T, endpointID string, settings ...string) (s *Store, other *sql.DB) {
	t.Helper()
	dsn := storetest.PostgresDSN(t)
	storeDSN := dsn
	for i := 0; i+1 < len(settings); i += 2 {
		requireSuperuser(t, dsn, "to set "+settings[i]+" per session")
		storeDSN = withRuntimeParam(t, storeDSN, settings[i], settings[i+1])
	}
	s = openMigrated(t, storeDSN, WithSealer(newTestSealer(t)))
	if _, err := s.CreateWebhookEndpointWithID(context.Background(), endpointID, NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada"}); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return s, other
}

// requireSuperuser skips the test when the PostgreSQL role of dsn may not
// change superuser-only settings, saying what for.
func requireSuperuser(t *testing.T, dsn, why string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var super bool
	if err := db.QueryRow(`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		t.Fatal(err)
	}
	if !super {
		t.Skipf("needs a PostgreSQL superuser %s: EDITWATCH_TEST_POSTGRES names a role that is not", why)
	}
}

// withRuntimeParam returns the PostgreSQL URL dsn with a setting that
// every session opened from it starts with.
func withRuntimeParam(t *testing.T, dsn, name, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestRedeliveryTakesTurns: a delivery of an event that another replica's
// transaction is still storing waits for that transaction's turn on the
// event (an advisory lock), holding nothing else, instead of inserting
// the event and then waiting for its run, a deadlock PostgreSQL breaks
// only after deadlock_timeout. Each webhook path is played against a
// transaction that does what a pipelined batch does: the event's turn,
// then its run locked, then the event inserted.
func TestRedeliveryTakesTurns(t *testing.T) {
	ctx := context.Background()
	s, other := postgresWithEndpoint(t, "ewh_turns")

	delivery := func(event, run string) WebhookDelivery {
		return WebhookDelivery{Event: WebhookEvent{EndpointID: "ewh_turns", EventID: event, EventType: "edit_run.processed", RunID: run,
			Payload: []byte(`{}`)}, Tenant: tenantA, Runs: []RunObservation{processed(run, 1, 100)}, Outcome: describeTestChanges}
	}
	for _, tc := range []struct {
		name string
		// deliver sends the redelivery of event (for run) the way the
		// path under test receives it; fresh names a run no one else
		// touches, for a batch's second event.
		deliver    func(event, run, fresh string) ([]WebhookDeliveryResult, error)
		deliveries int // of the event, once both sides are done
	}{
		{"one event", func(event, run, _ string) ([]WebhookDeliveryResult, error) {
			var r WebhookDeliveryResult
			d := delivery(event, run)
			r.Stored, r.Duplicate, r.Changes, r.Err = s.StoreAndApplyWebhookEvent(ctx, d.Event, d.Tenant, d.Runs, d.Outcome)
			return []WebhookDeliveryResult{r}, r.Err
		}, 2},
		{"batch, one statement per step", func(event, run, _ string) ([]WebhookDeliveryResult, error) {
			// The same event twice in one batch takes this path.
			rs := s.StoreWebhookDeliveries(ctx, []WebhookDelivery{delivery(event, run), delivery(event, run)})
			return rs, errors.Join(rs[0].Err, rs[1].Err)
		}, 3},
		{"batch, pipelined", func(event, run, fresh string) ([]WebhookDeliveryResult, error) {
			rs := s.StoreWebhookDeliveries(ctx, []WebhookDelivery{delivery(event, run), delivery("evt_other_"+fresh, fresh)})
			return rs[:1], errors.Join(rs[0].Err, rs[1].Err)
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			suffix := strings.NewReplacer(" ", "_", ",", "").Replace(tc.name)
			event, run, fresh := "evt_"+suffix, "edr_"+suffix, "edr_fresh_"+suffix
			if _, err := s.UpsertRuns(ctx, tenantA, []RunObservation{processing(run, 0), processing(fresh, 0)}); err != nil {
				t.Fatal(err)
			}
			tx, err := other.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = '60s'`); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, webhookEventTurnClass, webhookEventTurnKey("ewh_turns", event)); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM run_snapshots WHERE tenant = $1 AND run_id = $2 FOR UPDATE`, tenantA, run); err != nil {
				t.Fatal(err)
			}
			var otherPID int
			if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&otherPID); err != nil {
				t.Fatal(err)
			}

			type result struct {
				rs  []WebhookDeliveryResult
				err error
			}
			done := make(chan result, 1)
			go func() {
				rs, err := tc.deliver(event, run, fresh)
				done <- result{rs, err}
			}()
			waitForLockWait(t, other, otherPID)
			var waitsFor string
			if err := other.QueryRow(`SELECT string_agg(DISTINCT l.locktype, ',') FROM pg_stat_activity a
				JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted WHERE $1 = ANY(pg_blocking_pids(a.pid))`, otherPID).Scan(&waitsFor); err != nil {
				t.Fatal(err)
			}
			if waitsFor != "advisory" {
				t.Errorf("the redelivery waits for a lock of type %q, want only the event's turn (advisory)", waitsFor)
			}

			// A deadlock would end one side here: this one, or the delivery.
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_events (endpoint_id, event_id, event_type, run_id, received_at, verified, applied_at, outcome)
				VALUES ('ewh_turns', $1, 'edit_run.processed', $2, 1, 1, 1, 'applied by the other side')`, event, run); err != nil {
				t.Fatalf("the other side's insert: %v", err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-done:
				if r.err != nil {
					t.Fatalf("the redelivery failed: %v", r.err)
				}
				for _, d := range r.rs {
					if !d.Duplicate || d.Stored.Outcome != "applied by the other side" {
						t.Errorf("the redelivery after its turn: duplicate %v, outcome %q; want a duplicate of the stored event", d.Duplicate, d.Stored.Outcome)
					}
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the redelivery did not end")
			}
			var deliveries int
			if err := other.QueryRow(`SELECT deliveries FROM webhook_events WHERE endpoint_id = 'ewh_turns' AND event_id = $1`, event).Scan(&deliveries); err != nil {
				t.Fatal(err)
			}
			if deliveries != tc.deliveries {
				t.Errorf("the event counts %d deliveries, want %d", deliveries, tc.deliveries)
			}
		})
	}
}
