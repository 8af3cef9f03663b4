package monitor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// Concurrent deliveries, each event twice and some to an endpoint deleted
// while they were on their way: every event of the live endpoint is
// acknowledged (its receipt has it stored and applied, before the
// receiver answers), applied once and published once, whether the
// deliveries share transactions (the default) or each has its own;
// deliveries to the deleted endpoint fail without failing the others.
func TestReceiveWebhookConcurrently(t *testing.T) {
	const events, senders = 120, 24
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"batched", Options{}},
		{"batch of one", Options{WebhookBatch: 1}},
		{"batched, slow commits", Options{WebhookCommitInterval: 20 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, dsn string) {
				ctx := context.Background()
				st := openStore(t, dsn)
				broker := NewMemoryBroker()
				sub := broker.Subscribe(tenantA, 4*events)
				m := New(st, broker, tc.opts)
				ep, err := st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada", Secrets: []string{"wss_x"}})
				if err != nil {
					t.Fatal(err)
				}
				gone, err := st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada", Secrets: []string{"wss_y"}})
				if err != nil {
					t.Fatal(err)
				}
				// The monitor learns the endpoint's tenant, then the
				// endpoint is deleted: its deliveries reach the database.
				if _, err := m.ReceiveWebhook(ctx, gone.ID, webhookEvent(t, "evt_warm", extendapi.EventEditRunProcessed,
					editRun("edr_warm", extendapi.StatusProcessed))); err != nil {
					t.Fatal(err)
				}
				if err := st.DeleteWebhookEndpoint(ctx, gone.ID); err != nil {
					t.Fatal(err)
				}
				<-sub.C // edr_warm

				type delivery struct {
					endpoint, run string
				}
				var queue []delivery
				for i := range events {
					run := fmt.Sprintf("edr_%03d", i)
					queue = append(queue, delivery{ep.ID, run}, delivery{ep.ID, run})
					if i%10 == 0 {
						queue = append(queue, delivery{gone.ID, run + "_gone"})
					}
				}
				var (
					mu        sync.Mutex
					firsts    = map[string]int{}
					dups      = map[string]int{}
					failed    = map[string]int{}
					unapplied []string
					next      = make(chan delivery)
					wg        sync.WaitGroup
				)
				for range senders {
					wg.Go(func() {
						for d := range next {
							rec, err := m.ReceiveWebhook(ctx, d.endpoint, webhookEvent(t, "evt_"+d.run, extendapi.EventEditRunProcessed,
								editRun(d.run, extendapi.StatusProcessed)))
							mu.Lock()
							switch {
							case err != nil:
								failed[d.run]++
							case !rec.Event.Applied():
								unapplied = append(unapplied, d.run)
							case rec.Duplicate:
								dups[d.run]++
							default:
								firsts[d.run]++
							}
							mu.Unlock()
						}
					})
				}
				for _, d := range queue {
					next <- d
				}
				close(next)
				wg.Wait()

				wantOnce, wantFailed := map[string]int{}, map[string]int{}
				for i := range events {
					run := fmt.Sprintf("edr_%03d", i)
					wantOnce[run] = 1
					if i%10 == 0 {
						wantFailed[run+"_gone"] = 1
					}
				}
				if diff := cmp.Diff(wantOnce, firsts); diff != "" {
					t.Errorf("first deliveries (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(wantOnce, dups); diff != "" {
					t.Errorf("duplicate deliveries (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(wantFailed, failed); diff != "" {
					t.Errorf("failed deliveries (-want +got):\n%s", diff)
				}
				if len(unapplied) > 0 {
					t.Errorf("acknowledged but not applied: %v", unapplied)
				}
				published := map[string]int{}
				for range events {
					e := <-sub.C
					published[e.RunID]++
				}
				select {
				case e := <-sub.C:
					t.Errorf("published more than once per run: %+v", e)
				default:
				}
				if diff := cmp.Diff(wantOnce, published); diff != "" {
					t.Errorf("published (-want +got):\n%s", diff)
				}
				total, err := st.RunTotal(ctx, tenantA, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				if got := total.Runs[store.StatusProcessed]; got != events+1 {
					t.Errorf("rollups count %d processed runs, want %d", got, events+1)
				}
				stored, _, err := st.ListWebhookEvents(ctx, store.WebhookEventFilter{Tenant: tenantA, EndpointID: ep.ID, Limit: 500})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range stored {
					if e.Deliveries != 2 || !e.Applied() {
						t.Errorf("event %s: %d deliveries, applied %v", e.EventID, e.Deliveries, e.Applied())
					}
				}
				if len(stored) != events {
					t.Errorf("%d events stored, want %d", len(stored), events)
				}
			})
		})
	}
}
