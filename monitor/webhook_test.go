package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

func webhookEvent(t *testing.T, id, eventType string, run any) *extendapi.WebhookEvent {
	t.Helper()
	payload, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	return &extendapi.WebhookEvent{EventID: id, EventType: eventType, Payload: payload}
}

func TestWebhookReceiveApplyOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := openStore(t, dsn)
		broker := NewMemoryBroker()
		m := New(st, broker, Options{})
		ep, err := st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada", Secrets: []string{"wss_x"}})
		if err != nil {
			t.Fatal(err)
		}
		sub := broker.Subscribe(tenantA, 8)
		if _, err := m.Ingest(ctx, tenantA, store.ViaList, editRun("edr_1", extendapi.StatusProcessing)); err != nil {
			t.Fatal(err)
		}
		<-sub.C

		ev := webhookEvent(t, "evt_1", extendapi.EventEditRunProcessed, editRun("edr_1", extendapi.StatusProcessed))
		rec, err := m.ReceiveWebhook(ctx, ep.ID, ev)
		if err != nil || rec.Duplicate || rec.Tenant != tenantA || rec.Event.RunID != "edr_1" || !rec.Event.Applied() {
			t.Fatalf("receive: %+v %v", rec, err)
		}
		for _, secret := range []string{"123-45-6789", "Ada Lovelace", "secret-link", "presignedUrl"} {
			if strings.Contains(string(rec.Event.Payload), secret) {
				t.Fatalf("stored payload keeps %q: %s", secret, rec.Event.Payload)
			}
		}
		outcome, err := m.ApplyWebhookEvent(ctx, rec.Event)
		if err != nil || outcome != "edr_1: PROCESSING → PROCESSED" {
			t.Fatalf("apply: %q %v", outcome, err)
		}
		run, _ := st.GetRun(ctx, tenantA, "edr_1")
		if run.Status != store.StatusProcessed || run.FieldsFilled == nil || *run.FieldsFilled != 2 || run.SeenVia != store.ViaWebhook {
			t.Fatalf("after webhook: %+v", run)
		}
		if e := <-sub.C; e.Status != "PROCESSED" {
			t.Fatalf("event %+v", e)
		}
		// Delivered again: acknowledged, not applied again.
		again, err := m.ReceiveWebhook(ctx, ep.ID, ev)
		if err != nil || !again.Duplicate || !again.Event.Applied() || again.Event.Deliveries != 2 {
			t.Fatalf("duplicate: %+v %v", again, err)
		}
		if out, err := m.ApplyWebhookEvent(ctx, again.Event); err != nil || out != outcome {
			t.Fatalf("re-apply: %q %v", out, err)
		}
		select {
		case e := <-sub.C:
			t.Fatalf("duplicate published %+v", e)
		default:
		}
		if _, err := m.ReceiveWebhook(ctx, "ewh_nope", ev); !errors.Is(err, ErrUnknownEndpoint) {
			t.Fatalf("unknown endpoint: %v", err)
		}
	})
}

// TestWebhookPendingAfterRestart: events stored but not applied when the
// process died are applied by the next process, once.
func TestWebhookPendingAfterRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := openStore(t, dsn)
		ep, _ := st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{Tenant: tenantB, CreatedBy: "bob"})
		before := New(st, nil, Options{})
		// Inline edit_run events are stored and applied in one transaction;
		// a process that died between the two steps of the older path left
		// them stored only, as StoreWebhookEvent does.
		for _, ev := range []*extendapi.WebhookEvent{
			webhookEvent(t, "evt_a", extendapi.EventEditRunFailed, editRun("edr_a", extendapi.StatusFailed)),
			webhookEvent(t, "evt_b", extendapi.EventEditRunProcessed, editRun("edr_b", extendapi.StatusProcessed)),
		} {
			payload, err := RedactPayload(ev.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.StoreWebhookEvent(ctx, store.WebhookEvent{EndpointID: ep.ID, EventID: ev.EventID, EventType: ev.EventType, Payload: payload}); err != nil {
				t.Fatal(err)
			}
		}
		// Events that need more than the payload are stored, not applied.
		for _, ev := range []*extendapi.WebhookEvent{
			webhookEvent(t, "evt_c", extendapi.EventFormDetectionRunProcessed, map[string]string{"object": "form_detection_run", "id": "sgr_1"}),
			webhookEvent(t, "evt_d", extendapi.EventEditRunProcessed, map[string]string{"object": "signed_data_url", "id": "edr_d", "data": "https://storage.example/d"}),
		} {
			rec, err := before.ReceiveWebhook(ctx, ep.ID, ev)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Event.Applied() {
				t.Fatalf("%s applied at receipt", ev.EventID)
			}
		}
		// "Restart": a new monitor on the same store, with a resolver for
		// signed URLs.
		resolved := 0
		after := New(st, NewMemoryBroker(), Options{Resolve: func(ctx context.Context, tenant string, e *extendapi.WebhookEvent) error {
			if tenant != tenantB {
				t.Errorf("resolver called for tenant %s", tenant)
			}
			resolved++
			run := editRun("edr_d", extendapi.StatusProcessed)
			e.Payload, _ = json.Marshal(run)
			return nil
		}})
		n, err := after.ApplyPending(ctx)
		if err != nil || n != 4 || resolved != 1 {
			t.Fatalf("ApplyPending = %d, %v (resolved %d)", n, err, resolved)
		}
		if n, _ := after.ApplyPending(ctx); n != 0 {
			t.Fatalf("second ApplyPending applied %d", n)
		}
		page, err := st.ListRuns(ctx, store.RunFilter{Tenant: tenantB})
		if err != nil || len(page.Runs) != 3 {
			t.Fatalf("runs after restart: %+v %v", page.Runs, err)
		}
		events, _, _ := st.ListWebhookEvents(ctx, store.WebhookEventFilter{Tenant: tenantB})
		outcomes := map[string]string{}
		for _, e := range events {
			outcomes[e.EventID] = e.Outcome
		}
		if !strings.HasPrefix(outcomes["evt_c"], "ignored") || outcomes["evt_a"] != "edr_a: new, FAILED" || outcomes["evt_d"] != "edr_d: new, PROCESSED" {
			t.Fatalf("outcomes %v", outcomes)
		}
		// Nothing of it reached the other tenant.
		if page, _ := st.ListRuns(ctx, store.RunFilter{Tenant: tenantA}); len(page.Runs) != 0 {
			t.Fatalf("tenant A got %d runs from B's webhooks", len(page.Runs))
		}
	})
}

func TestRedactPayload(t *testing.T) {
	in := `{"id":"edr_1","big":12345678901234567890,"output":{"editedFile":{"id":"f","presignedUrl":"https://x/secret"},"filledValues":{"a":"secret1","b":{"nested":"secret2"}}},"list":[{"presignedUrl":"https://y/secret3"}]}`
	out, err := RedactPayload(json.RawMessage(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"big":12345678901234567890,"id":"edr_1","list":[{}],"output":{"editedFile":{"id":"f"},"filledValues":{"a":null,"b":null}}}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	if _, err := RedactPayload(json.RawMessage(`{`)); !errors.Is(err, extendapi.ErrWebhookPayload) {
		t.Fatalf("bad JSON: %v", err)
	}
}
