package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func TestWebhookEndpointsAndSecrets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn, WithSealer(newTestSealer(t)))
		ep, err := s.CreateWebhookEndpoint(ctx, NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada@example.com", Secrets: []string{"wss_first_secret_1234"}})
		if err != nil {
			t.Fatal(err)
		}
		if ep.Status != EndpointPending || ep.Origin != EndpointRegistered || !cmp.Equal(ep.SecretHints, []string{"1234"}) {
			t.Fatalf("created %+v", ep)
		}
		if err := s.UpdateWebhookEndpoint(ctx, ep.ID, "wh_abc", "https://ew.example.com/webhooks/extend/"+ep.ID, EndpointEnabled); err != nil {
			t.Fatal(err)
		}
		if err := s.SetWebhookSecrets(ctx, ep.ID, []string{"wss_second_secret_5678", "wss_first_secret_1234"}); err != nil {
			t.Fatal(err)
		}
		secrets, err := s.WebhookSecrets(ctx, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(secrets, []string{"wss_second_secret_5678", "wss_first_secret_1234"}) {
			t.Fatalf("secrets %v", secrets)
		}
		got, err := s.GetWebhookEndpoint(ctx, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ExtendID != "wh_abc" || got.Status != EndpointEnabled || !cmp.Equal(got.SecretHints, []string{"5678", "1234"}) {
			t.Fatalf("after update %+v", got)
		}
		// The sealed secrets do not open on another row.
		other, err := s.CreateWebhookEndpoint(ctx, NewWebhookEndpoint{Tenant: tenantB, CreatedBy: "bob", Origin: EndpointPasted})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.exec(ctx, `UPDATE webhook_endpoints SET secrets_sealed = (SELECT secrets_sealed FROM webhook_endpoints WHERE id = ?) WHERE id = ?`, ep.ID, other.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WebhookSecrets(ctx, other.ID); !errors.Is(err, ErrUndecryptable) {
			t.Fatalf("moved ciphertext opened: %v", err)
		}
		list, err := s.ListWebhookEndpoints(ctx, tenantA)
		if err != nil || len(list) != 1 || list[0].ID != ep.ID {
			t.Fatalf("tenant A endpoints: %v %v", list, err)
		}
		if err := s.DeleteWebhookEndpoint(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetWebhookEndpoint(ctx, other.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted endpoint: %v", err)
		}
	})
}

func TestWebhookEventsDedupeAndPending(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clock := storetest.NewClock(testStart)
		s := openMigrated(t, dsn, WithSealer(newTestSealer(t)), WithClock(clock.Now))
		epA, _ := s.CreateWebhookEndpoint(ctx, NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada"})
		epB, _ := s.CreateWebhookEndpoint(ctx, NewWebhookEndpoint{Tenant: tenantB, CreatedBy: "bob"})

		first, dup, err := s.StoreWebhookEvent(ctx, WebhookEvent{EndpointID: epA.ID, EventID: "evt_1", EventType: "edit_run.processed", RunID: "edr_1", Payload: []byte(`{"id":"edr_1"}`)})
		if err != nil || dup {
			t.Fatalf("first delivery: dup=%v err=%v", dup, err)
		}
		clock.Advance(time.Second)
		again, dup, err := s.StoreWebhookEvent(ctx, WebhookEvent{EndpointID: epA.ID, EventID: "evt_1", EventType: "edit_run.processed", RunID: "edr_1", Payload: []byte(`{"other":true}`)})
		if err != nil || !dup {
			t.Fatalf("second delivery: dup=%v err=%v", dup, err)
		}
		if again.ID != first.ID || again.Deliveries != 2 || string(again.Payload) != `{"id":"edr_1"}` {
			t.Fatalf("duplicate returned %+v", again)
		}
		// The same event ID at another endpoint is another event.
		if _, dup, err := s.StoreWebhookEvent(ctx, WebhookEvent{EndpointID: epB.ID, EventID: "evt_1", RunID: "edr_7"}); err != nil || dup {
			t.Fatalf("other endpoint: dup=%v err=%v", dup, err)
		}
		if _, err := s.RecordRejectedWebhook(ctx, epA.ID, "signature invalid"); err != nil {
			t.Fatal(err)
		}
		pending, err := s.PendingWebhookEvents(ctx, 0, 10)
		if err != nil || len(pending) != 2 {
			t.Fatalf("pending %v %v", pending, err)
		}
		ok, err := s.MarkWebhookEventApplied(ctx, first.ID, "PROCESSING → PROCESSED", "")
		if err != nil || !ok {
			t.Fatalf("apply: %v %v", ok, err)
		}
		if ok, _ := s.MarkWebhookEventApplied(ctx, first.ID, "again", ""); ok {
			t.Fatal("an event was marked applied twice")
		}
		pending, _ = s.PendingWebhookEvents(ctx, 0, 10)
		if len(pending) != 1 || pending[0].EndpointID != epB.ID {
			t.Fatalf("pending after apply: %+v", pending)
		}
		events, next, err := s.ListWebhookEvents(ctx, WebhookEventFilter{Tenant: tenantA})
		if err != nil || next != 0 || len(events) != 2 {
			t.Fatalf("tenant A deliveries: %+v %v", events, err)
		}
		if events[0].Verified || events[0].Error != "signature invalid" || events[1].Outcome != "PROCESSING → PROCESSED" || !events[1].Applied() {
			t.Fatalf("deliveries: %+v", events)
		}
		ep, _ := s.GetWebhookEndpoint(ctx, epA.ID)
		if !ep.LastDeliveryAt.Equal(testStart.Add(time.Second)) {
			t.Fatalf("last delivery %s", ep.LastDeliveryAt)
		}
		clock.Advance(time.Hour)
		n, err := s.PurgeWebhookEventsBefore(ctx, testStart.Add(30*time.Minute))
		if err != nil || n != 3 {
			t.Fatalf("purge: %d %v, want the 3 deliveries", n, err)
		}
	})
}
