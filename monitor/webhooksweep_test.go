package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

// An acknowledged event whose application fails because the database is
// locked is applied by SweepPending once the lock goes, without a restart
// (Extend will not deliver it again), and only once however many
// failures asked for a sweep.
func TestSweepPendingAfterDatabaseFailure(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.SQLiteDSN(t)
	st := openStore(t, dsn)
	ep, err := st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		fetches  int
		released = make(chan struct{})
	)
	fetched := make(chan int, 16)
	m := New(st, nil, Options{Resolve: func(ctx context.Context, tenant string, e *extendapi.WebhookEvent) error {
		mu.Lock()
		fetches++
		n := fetches
		mu.Unlock()
		fetched <- n
		e.Payload, _ = json.Marshal(editRun(payloadRunID(e.Payload), extendapi.StatusProcessed))
		return nil
	}})
	var pending []store.WebhookEvent
	for _, id := range []string{"edr_s1", "edr_s2"} {
		rec, err := m.ReceiveWebhook(ctx, ep.ID, &extendapi.WebhookEvent{EventID: "evt_" + id, EventType: extendapi.EventEditRunProcessed,
			Payload: json.RawMessage(`{"object":"signed_data_url","id":"` + id + `","data":"https://storage.example/` + id + `"}`)})
		if err != nil || rec.Event.Applied() {
			t.Fatalf("receive: %+v %v", rec, err)
		}
		pending = append(pending, rec.Event)
	}

	// Another connection locks the database: the writer times out.
	locker, err := sql.Open("sqlite", dsn+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	lock, err := locker.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	for _, e := range pending {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err := m.ApplyWebhookEvent(short, e)
		cancel()
		if err == nil {
			t.Fatalf("%s applied while the database was locked", e.EventID)
		}
	}
	<-fetched
	<-fetched

	go func() {
		// The sweep has fetched the first payload again: it is waiting for
		// the lock now. Let it through.
		<-fetched
		if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Error(err)
		}
		close(released)
	}()
	// Both failures ask for a sweep; one sweeps, the other returns.
	var sweeps sync.WaitGroup
	for range 2 {
		sweeps.Go(func() { m.SweepPending(ctx) })
	}
	swept := make(chan struct{})
	go func() {
		sweeps.Wait()
		close(swept)
	}()
	select {
	case <-swept:
	case <-time.After(60 * time.Second):
		t.Fatal("SweepPending did not finish")
	}
	<-released
	if left, err := st.PendingWebhookEvents(ctx, 0, 10); err != nil || len(left) != 0 {
		t.Fatalf("pending after the sweep: %d %v", len(left), err)
	}
	for _, id := range []string{"edr_s1", "edr_s2"} {
		if run, err := st.GetRun(ctx, tenantA, id); err != nil || run.Status != store.StatusProcessed {
			t.Errorf("%s after the sweep: %+v %v", id, run, err)
		}
	}
	total, err := st.RunTotal(ctx, tenantA, time.Now().Add(-48*time.Hour), time.Now().Add(time.Hour))
	if err != nil || total.Finished() != 2 {
		t.Errorf("rollups count %d finished runs, want 2 (%v)", total.Finished(), err)
	}
}

// A signed payload that cannot be fetched for a passing reason (the network,
// a 5xx) leaves its event pending without holding up the events behind it,
// and a later sweep applies it; one that still fails after the signed URL's
// hour is given up, with the error kept.
func TestSignedPayloadFetchFailureIsRetried(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := openStore(t, storetest.SQLiteDSN(t), store.WithClock(clock))
	ep, err := st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	down := true
	m := New(st, nil, Options{Now: clock, Resolve: func(ctx context.Context, tenant string, e *extendapi.WebhookEvent) error {
		if down {
			return &extendapi.NetworkError{Method: "GET", Path: "https://storage.example/x", Err: context.DeadlineExceeded}
		}
		e.Payload, _ = json.Marshal(editRun(payloadRunID(e.Payload), extendapi.StatusProcessed))
		return nil
	}})
	receive := func(id string, payload string) {
		t.Helper()
		if _, err := m.ReceiveWebhook(ctx, ep.ID, &extendapi.WebhookEvent{EventID: "evt_" + id, EventType: extendapi.EventEditRunProcessed,
			Payload: json.RawMessage(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	receive("signed", `{"object":"signed_data_url","id":"edr_signed","data":"https://storage.example/edr_signed"}`)
	inline, _ := json.Marshal(editRun("edr_inline", extendapi.StatusProcessed))
	receive("inline", string(inline))

	if _, err := m.ApplyPending(ctx); !errors.Is(err, ErrPayloadDeferred) {
		t.Fatalf("with the payload unreachable: %v; want the signed event deferred", err)
	}
	if r, _ := st.GetRun(ctx, tenantA, "edr_inline"); r.Status != store.StatusProcessed {
		t.Fatal("the event behind a deferred one was held up")
	}
	down = false
	if n, err := m.ApplyPending(ctx); err != nil || n != 1 {
		t.Fatalf("once reachable: applied %d, %v", n, err)
	}
	if r, _ := st.GetRun(ctx, tenantA, "edr_signed"); r.Status != store.StatusProcessed {
		t.Fatalf("signed payload run is %q after the retry", r.Status)
	}

	// Past the URL's hour, a failing fetch is given up and recorded.
	down = true
	receive("late", `{"object":"signed_data_url","id":"edr_late","data":"https://storage.example/edr_late"}`)
	now = now.Add(61 * time.Minute)
	if n, err := m.ApplyPending(ctx); err != nil || n != 1 {
		t.Fatalf("after the hour: applied %d, %v; want it marked not applied", n, err)
	}
	events, _, err := st.ListWebhookEvents(ctx, store.WebhookEventFilter{Tenant: tenantA, EndpointID: ep.ID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events {
		if e.EventID == "evt_late" {
			found = true
			if e.Outcome != "not applied" || e.Error == "" {
				t.Errorf("expired payload event: outcome %q error %q", e.Outcome, e.Error)
			}
		}
	}
	if !found {
		t.Error("evt_late not among the endpoint's deliveries")
	}
}
