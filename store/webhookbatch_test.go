package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/store/storetest"
)

// deliverySummary is what a test checks of a WebhookDeliveryResult.
type deliverySummary struct {
	Failed     bool
	Duplicate  bool
	Applied    bool
	Outcome    string
	Deliveries int64
	Changes    []string
}

func summarize(r WebhookDeliveryResult) deliverySummary {
	s := deliverySummary{Failed: r.Err != nil, Duplicate: r.Duplicate, Applied: r.Stored.Applied(), Outcome: r.Stored.Outcome,
		Deliveries: r.Stored.Deliveries}
	for _, c := range r.Changes {
		s.Changes = append(s.Changes, describeTestChange(c))
	}
	return s
}

func describeTestChange(c RunChange) string {
	created := ""
	if c.Created() {
		created = " (new)"
	}
	return fmt.Sprintf("%s %q→%s%s", c.RunID, c.Before.Status, c.After.Status, created)
}

func describeTestChanges(changes []RunChange) string {
	out := ""
	for _, c := range changes {
		out += describeTestChange(c) + ";"
	}
	return out
}

// A batch of deliveries is stored and applied as each would be alone:
// duplicates (within the batch and of events stored before) are counted
// and applied once, two events of one run apply in order, an event
// without runs is only stored. A delivery the database refuses (its
// endpoint deleted meanwhile) or that is incomplete fails alone.
func TestStoreWebhookDeliveries(t *testing.T) {
	tenant := "d/ws_a"
	run := func(id, status string) []RunObservation {
		return []RunObservation{{RunID: id, SeenAt: testStart, Via: ViaWebhook, RunFacts: RunFacts{Status: status, CreatedAt: testStart}}}
	}
	good := []struct {
		eventID string
		runs    []RunObservation
		want    deliverySummary
	}{
		{"evt_1", run("edr_1", StatusProcessing), deliverySummary{Applied: true, Outcome: `edr_1 ""→PROCESSING (new);`, Deliveries: 1,
			Changes: []string{`edr_1 ""→PROCESSING (new)`}}},
		{"evt_2", run("edr_2", StatusProcessed), deliverySummary{Applied: true, Outcome: `edr_2 ""→PROCESSED (new);`, Deliveries: 1,
			Changes: []string{`edr_2 ""→PROCESSED (new)`}}},
		// evt_1 again in the same batch: counted, not applied again.
		{"evt_1", run("edr_1", StatusProcessing), deliverySummary{Duplicate: true, Applied: true, Outcome: `edr_1 ""→PROCESSING (new);`, Deliveries: 2}},
		// Stored before the batch, without runs.
		{"evt_old", nil, deliverySummary{Duplicate: true, Deliveries: 2}},
		// The same run as evt_1, later in the batch: applied after it.
		{"evt_3", run("edr_1", StatusProcessed), deliverySummary{Applied: true, Outcome: `edr_1 "PROCESSING"→PROCESSED;`, Deliveries: 1,
			Changes: []string{`edr_1 "PROCESSING"→PROCESSED`}}},
		// Not an edit-run event: stored, to be applied after answering.
		{"evt_4", nil, deliverySummary{Deliveries: 1}},
	}
	for _, withBad := range []bool{false, true} {
		t.Run(fmt.Sprintf("bad deliveries %v", withBad), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, dsn string) {
				ctx := context.Background()
				s := openMigrated(t, dsn, WithClock(storetest.NewClock(testStart).Now), WithSealer(newTestSealer(t)))
				ep, err := s.CreateWebhookEndpoint(ctx, NewWebhookEndpoint{Tenant: tenant, CreatedBy: "ada"})
				if err != nil {
					t.Fatal(err)
				}
				gone, err := s.CreateWebhookEndpoint(ctx, NewWebhookEndpoint{Tenant: tenant, CreatedBy: "ada"})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.DeleteWebhookEndpoint(ctx, gone.ID); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.StoreWebhookEvent(ctx, WebhookEvent{EndpointID: ep.ID, EventID: "evt_old", EventType: "edit_run.processed"}); err != nil {
					t.Fatal(err)
				}
				var ds []WebhookDelivery
				var want []deliverySummary
				for i, g := range good {
					ds = append(ds, WebhookDelivery{Event: WebhookEvent{EndpointID: ep.ID, EventID: g.eventID, EventType: "edit_run.processed",
						ReceivedAt: testStart.Add(time.Duration(i) * time.Millisecond)}, Tenant: tenant, Runs: g.runs, Outcome: describeTestChanges})
					want = append(want, g.want)
					if withBad && i == 1 {
						// A delivery to an endpoint deleted while it was on its
						// way: the database refuses it (foreign key).
						ds = append(ds, WebhookDelivery{Event: WebhookEvent{EndpointID: gone.ID, EventID: "evt_gone", EventType: "edit_run.processed"},
							Tenant: tenant, Runs: run("edr_gone", StatusProcessed), Outcome: describeTestChanges})
						want = append(want, deliverySummary{Failed: true})
						// No event ID: refused before the transaction.
						ds = append(ds, WebhookDelivery{Event: WebhookEvent{EndpointID: ep.ID}, Tenant: tenant, Runs: run("edr_x", StatusProcessed)})
						want = append(want, deliverySummary{Failed: true})
					}
				}
				results := s.StoreWebhookDeliveries(ctx, ds)
				got := make([]deliverySummary, len(results))
				for i, r := range results {
					got[i] = summarize(r)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("results (-want +got):\n%s", diff)
				}

				// History has each run once, in its last state, counted once.
				for runID, status := range map[string]string{"edr_1": StatusProcessed, "edr_2": StatusProcessed} {
					r, err := s.GetRun(ctx, tenant, runID)
					if err != nil || r.Status != status {
						t.Errorf("run %s: %s, %v; want %s", runID, r.Status, err, status)
					}
				}
				if _, err := s.GetRun(ctx, tenant, "edr_gone"); err == nil {
					t.Error("the refused delivery's run is in history")
				}
				total, err := s.RunTotal(ctx, tenant, testStart.Add(-time.Hour), testStart.Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				if got := total.Runs[StatusProcessed]; got != 2 {
					t.Errorf("rollups count %d processed runs, want 2", got)
				}
				pending, err := s.PendingWebhookEvents(ctx, 0, 10)
				if err != nil {
					t.Fatal(err)
				}
				var pendingIDs []string
				for _, e := range pending {
					pendingIDs = append(pendingIDs, e.EventID)
				}
				if diff := cmp.Diff([]string{"evt_old", "evt_4"}, pendingIDs); diff != "" {
					t.Errorf("pending events (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// Runs already in history are rewritten several to a statement: every
// column follows, and a file name that changed is found by its new name
// only.
func TestUpsertRunsRewritesSeveralAtOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn)
		tenant := "d/ws_a"
		observe := func(status, suffix string) []RunObservation {
			var obs []RunObservation
			for i := range 3 {
				id := fmt.Sprintf("edr_%d", i)
				obs = append(obs, RunObservation{RunID: id, SeenAt: testStart, Via: ViaList,
					RunFacts: RunFacts{Status: status, CreatedAt: testStart, FileName: id + suffix}})
			}
			return obs
		}
		if _, err := s.UpsertRuns(ctx, tenant, observe(StatusProcessing, "-draft.pdf")); err != nil {
			t.Fatal(err)
		}
		changes, err := s.UpsertRuns(ctx, tenant, observe(StatusProcessed, "-final.pdf"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range changes {
			got = append(got, describeTestChange(c))
		}
		want := []string{`edr_0 "PROCESSING"→PROCESSED`, `edr_1 "PROCESSING"→PROCESSED`, `edr_2 "PROCESSING"→PROCESSED`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
		for _, tc := range []struct {
			term string
			want int
		}{{"final", 3}, {"draft", 0}} {
			page, err := s.ListRuns(ctx, RunFilter{Tenant: tenant, FileName: tc.term})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Runs) != tc.want {
				t.Errorf("search %q: %d runs, want %d", tc.term, len(page.Runs), tc.want)
			}
		}
		total, err := s.RunTotal(ctx, tenant, testStart.Add(-time.Hour), testStart.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if got := total.Runs[StatusProcessed]; got != 3 {
			t.Errorf("rollups count %d processed runs, want 3", got)
		}
	})
}
