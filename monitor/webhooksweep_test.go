package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
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
