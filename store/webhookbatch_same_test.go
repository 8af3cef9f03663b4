package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/editwatch/editwatch/store/storetest"
)

// A batch leaves history, rollups and the stored events as the same
// deliveries stored one by one do, whichever way the dialect writes it
// (on PostgreSQL, the pipelined writer): runs known and new, a run two
// events of the batch change, a run first seen in an hour without rollup
// row, an event naming two runs, an event without runs, another tenant.
// A second batch holds a delivery the database refuses, which fails
// alone; a third repeats a stored event, which the pipelined writer
// leaves to the statement-per-step one.
func TestWebhookBatchMatchesOneByOne(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		tenant := "d/ws_a"
		batched := openMigrated(t, dsn, WithClock(storetest.NewClock(testStart).Now), WithSealer(newTestSealer(t)))
		alone := openMigrated(t, storetest.Backends()[backendIndex(batched)].NewDSN(t),
			WithClock(storetest.NewClock(testStart).Now), WithSealer(newTestSealer(t)))
		stores := []*Store{batched, alone}

		obs := func(id, status string, created time.Time) RunObservation {
			credits := 2.5
			return RunObservation{RunID: id, SeenAt: testStart, Via: ViaWebhook,
				RunFacts: RunFacts{Status: status, CreatedAt: created, FileName: id + ".pdf", Credits: &credits}}
		}
		earlier := testStart.Add(-26 * time.Hour) // another day, without rollup rows
		for _, s := range stores {
			for _, id := range []string{"ewh_same", "ewh_gone"} {
				if _, err := s.CreateWebhookEndpointWithID(ctx, id, NewWebhookEndpoint{Tenant: tenant, CreatedBy: "ada"}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.DeleteWebhookEndpoint(ctx, "ewh_gone"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpsertRuns(ctx, tenant, []RunObservation{
				obs("edr_known", StatusProcessing, testStart),
				obs("edr_done", StatusProcessed, testStart.Add(-time.Hour)),
			}); err != nil {
				t.Fatal(err)
			}
		}

		delivery := func(endpoint, eventID string, runs ...RunObservation) WebhookDelivery {
			return WebhookDelivery{Event: WebhookEvent{EndpointID: endpoint, EventID: eventID, EventType: "edit_run.processed",
				Payload: []byte(`{"eventId":"` + eventID + `"}`)}, Tenant: tenant, Runs: runs, Outcome: describeTestChanges}
		}
		// The same run ID in another tenant is another run.
		otherTenant := func(d WebhookDelivery) WebhookDelivery {
			d.Tenant = "d/ws_b"
			return d
		}
		batches := [][]WebhookDelivery{{
			delivery("ewh_same", "evt_known", obs("edr_known", StatusProcessed, testStart)),
			delivery("ewh_same", "evt_new", obs("edr_new", StatusProcessing, earlier)),
			delivery("ewh_same", "evt_two", obs("edr_two_a", StatusFailed, testStart), obs("edr_done", StatusProcessed, testStart.Add(-time.Hour))),
			delivery("ewh_same", "evt_none"),
			otherTenant(delivery("ewh_same", "evt_other_tenant", obs("edr_new", StatusFailed, testStart))),
			delivery("ewh_same", "evt_new_again", obs("edr_new", StatusProcessed, earlier)),
		}, {
			delivery("ewh_gone", "evt_refused", obs("edr_refused", StatusProcessed, testStart)),
			delivery("ewh_same", "evt_beside", obs("edr_two_a", StatusProcessed, testStart)),
		}, {
			delivery("ewh_same", "evt_known", obs("edr_known", StatusProcessed, testStart)),
			delivery("ewh_same", "evt_later", obs("edr_later", StatusProcessed, testStart.Add(2*time.Hour))),
		}}

		for n, batch := range batches {
			got := batched.StoreWebhookDeliveries(ctx, batch)
			for i, d := range batch {
				want := alone.storeDeliveryAlone(ctx, d)
				if diff := cmp.Diff(summarize(want), summarize(got[i])); diff != "" {
					t.Errorf("batch %d, %s (-one by one +batched):\n%s", n, d.Event.EventID, diff)
				}
				if got[i].Err == nil && got[i].Stored.ID == 0 {
					t.Errorf("batch %d, %s: no stored event ID", n, d.Event.EventID)
				}
				for _, c := range got[i].Changes {
					if c.After.ID == 0 {
						t.Errorf("batch %d, %s: change of %s without the run's ID", n, d.Event.EventID, c.RunID)
					}
				}
			}
		}

		type state struct {
			Runs    map[string]RunSnapshot
			Other   Aggregate // the other tenant's
			Hours   Series
			Days    Series
			Minutes map[int64]Aggregate // every minute row, which short ranges read at their edges
			Events  []WebhookEvent
		}
		read := func(s *Store) state {
			st := state{Runs: map[string]RunSnapshot{}}
			for _, id := range []string{"edr_known", "edr_done", "edr_new", "edr_two_a", "edr_later", "edr_refused"} {
				r, err := s.GetRun(ctx, tenant, id)
				if err == nil {
					st.Runs[id] = r
				}
			}
			if r, err := s.GetRun(ctx, "d/ws_b", "edr_new"); err == nil {
				st.Runs["ws_b edr_new"] = r
			}
			other, err := s.RunTotal(ctx, "d/ws_b", testStart.Add(-72*time.Hour), testStart.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			st.Other = other
			from := testStart.Add(-72 * time.Hour).Truncate(24 * time.Hour)
			if st.Hours, err = s.RunSeries(ctx, SeriesQuery{Tenant: tenant, From: from, To: from.Add(96 * time.Hour), Step: time.Hour}); err != nil {
				t.Fatal(err)
			}
			if st.Days, err = s.RunSeries(ctx, SeriesQuery{Tenant: tenant, From: from, To: from.Add(96 * time.Hour), Step: 24 * time.Hour}); err != nil {
				t.Fatal(err)
			}
			st.Minutes = rollupRows(t, s, minuteRollups, tenant)
			if st.Events, _, err = s.ListWebhookEvents(ctx, WebhookEventFilter{Tenant: tenant, Limit: 100}); err != nil {
				t.Fatal(err)
			}
			return st
		}
		ignoreIDs := cmp.Options{
			cmpopts.IgnoreFields(RunSnapshot{}, "ID"),
			cmpopts.IgnoreFields(WebhookEvent{}, "ID"),
			cmpopts.SortSlices(func(a, b WebhookEvent) bool { return a.EventID < b.EventID }),
			cmpopts.EquateEmpty(),
		}
		if diff := cmp.Diff(read(alone), read(batched), ignoreIDs); diff != "" {
			t.Errorf("what the batches left (-one by one +batched):\n%s", diff)
		}
	})
}

// rollupRows reads every row of a rollup table of tenant, by bucket.
func rollupRows(t *testing.T, s *Store, table rollupTable, tenant string) map[int64]Aggregate {
	t.Helper()
	rows, err := s.query(context.Background(), `SELECT `+rollupColumns+` FROM `+table.name+` WHERE tenant = ?`, tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]Aggregate{}
	for rows.Next() {
		bucket, a, err := scanRollup(rows)
		if err != nil {
			t.Fatal(err)
		}
		out[bucket] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// backendIndex is the position in storetest.Backends of s's database.
func backendIndex(s *Store) int {
	for i, b := range storetest.Backends() {
		if b.Name == string(s.Dialect()) {
			return i
		}
	}
	panic(fmt.Sprintf("no backend for %s", s.Dialect()))
}

// TestPipelinedBatchWritesItself: on PostgreSQL the pipelined writer
// writes an ordinary batch (runs known and new, two tenants, rollup rows
// old and new) itself, without leaving it to the statement-per-step
// writer, which would write the same and hide a broken pipeline from the
// tests that compare results.
func TestPipelinedBatchWritesItself(t *testing.T) {
	for _, backend := range storetest.Backends() {
		if backend.Name != string(DialectPostgres) {
			continue
		}
		ctx := context.Background()
		s := openMigrated(t, backend.NewDSN(t), WithClock(storetest.NewClock(testStart).Now), WithSealer(newTestSealer(t)))
		if _, err := s.CreateWebhookEndpointWithID(ctx, "ewh_pipe", NewWebhookEndpoint{Tenant: "d/ws_a", CreatedBy: "ada"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpsertRuns(ctx, "d/ws_a", []RunObservation{processing("edr_known", 0)}); err != nil {
			t.Fatal(err)
		}
		ds := []WebhookDelivery{}
		for i, o := range []RunObservation{processed("edr_known", 1, 900), processed("edr_new", 2, 400), failed("edr_other", 3, "CORRUPT_FILE")} {
			tenant := "d/ws_a"
			if o.RunID == "edr_other" {
				tenant = "d/ws_b"
			}
			id := fmt.Sprintf("evt_pipe_%d", i)
			ds = append(ds, WebhookDelivery{Event: WebhookEvent{EndpointID: "ewh_pipe", EventID: id, EventType: "edit_run.processed",
				Payload: []byte(`{"eventId":"` + id + `"}`)}, Tenant: tenant, Runs: []RunObservation{o}, Outcome: describeTestChanges})
		}
		todo := make([]int, len(ds))
		for i := range ds {
			if err := s.normalizeDelivery(&ds[i]); err != nil {
				t.Fatal(err)
			}
			todo[i] = i
		}
		out := make([]WebhookDeliveryResult, len(ds))
		conn, err := s.write.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		err = conn.Raw(func(dc any) error {
			pc, ok := pgxConnOf(dc)
			if !ok {
				return fmt.Errorf("no pgx connection under %T", dc)
			}
			_, err := newDeliveryPipeline(s, ds, todo, out).run(ctx, pc)
			return err
		})
		if err != nil {
			t.Fatalf("the pipeline did not write the batch itself: %v", err)
		}
		for _, id := range []string{"edr_known", "edr_new"} {
			if r, err := s.GetRun(ctx, "d/ws_a", id); err != nil || r.Status != StatusProcessed {
				t.Errorf("%s after the batch: %+v, %v", id, r.Status, err)
			}
		}
		if diff := cmp.Diff(recomputedRollups(t, s, "d/ws_a"), storedRollups(t, s, "d/ws_a")); diff != "" {
			t.Errorf("rollups (-recomputed +stored):\n%s", diff)
		}
	}
}
