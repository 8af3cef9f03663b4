package monitor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func TestMemoryBrokerFanOutIsNonBlocking(t *testing.T) {
	ctx := context.Background()
	b := NewMemoryBroker()
	fast, slow, other := b.Subscribe(tenantA, 100), b.Subscribe(tenantA, 2), b.Subscribe(tenantB, 100)
	for i := range 10 {
		if err := b.Publish(ctx, Event{Tenant: tenantA, RunID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(fast.C) != 10 || len(slow.C) != 2 || slow.Dropped() != 8 || len(other.C) != 0 {
		t.Fatalf("fast %d, slow %d (dropped %d), other tenant %d", len(fast.C), len(slow.C), slow.Dropped(), len(other.C))
	}
	slow.Close()
	slow.Close()
	if b.Subscribers(tenantA) != 1 {
		t.Fatalf("subscribers after close: %d", b.Subscribers(tenantA))
	}
	if err := b.Publish(ctx, Event{Tenant: tenantA}); err != nil { // no send on a closed channel
		t.Fatal(err)
	}
	b.Close()
	for range fast.C { // drains, then ends: the channel is closed
	}
	if _, open := <-other.C; open {
		t.Fatal("subscription still open after broker Close")
	}
	if s := b.Subscribe(tenantA, 1); s != nil {
		if _, open := <-s.C; open {
			t.Fatal("subscription to a closed broker is open")
		}
	}
}

// TestMemoryBrokerConcurrent runs publishers and subscribers that come and
// go at once (meaningful under -race).
func TestMemoryBrokerConcurrent(t *testing.T) {
	b := NewMemoryBroker()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				_ = b.Publish(context.Background(), Event{Tenant: tenantA, RunID: fmt.Sprint(i, j)})
			}
		})
		wg.Go(func() {
			for range 50 {
				s := b.Subscribe(tenantA, 4)
				select {
				case <-s.C:
				default:
				}
				s.Close()
			}
		})
	}
	wg.Wait()
	b.Close()
}

// TestPGBrokerAcrossReplicas: two brokers on one PostgreSQL database, like
// two Editwatch processes; a change ingested through one reaches the
// subscribers of the other, of the right tenant only, and each broker's own
// events are not delivered twice.
func TestPGBrokerAcrossReplicas(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := openStore(t, dsn)
	newBroker := func() *PGBroker {
		l, err := st.Listen(ctx, store.ListenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewPGBroker(l, PGBrokerOptions{})
		if err != nil {
			l.Close()
			t.Fatal(err)
		}
		return b
	}
	one := newBroker()
	defer one.Close()
	two := newBroker()
	defer two.Close()
	for _, b := range []*PGBroker{one, two} {
		select {
		case <-b.Ready():
		case <-ctx.Done():
			t.Fatal("broker never listened")
		}
	}
	onOneA := one.Subscribe(tenantA, 8)
	onTwoA, onTwoB := two.Subscribe(tenantA, 8), two.Subscribe(tenantB, 8)

	m := New(st, one, Options{Now: func() time.Time { return testStart }})
	if _, err := m.Ingest(ctx, tenantA, store.ViaWebhook, editRun("edr_1", extendapi.StatusFailed)); err != nil {
		t.Fatal(err)
	}
	want := Event{Tenant: tenantA, Kind: EventRun, RunID: "edr_1", Status: "FAILED", FailureReason: "CORRUPT_FILE", At: testStart}
	ignoreOrigin := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Origin" || p.Last().String() == ".Snapshot" }, cmp.Ignore())
	for name, sub := range map[string]*Subscription{"same replica": onOneA, "other replica": onTwoA} {
		select {
		case got := <-sub.C:
			if diff := cmp.Diff(want, got, ignoreOrigin); diff != "" {
				t.Errorf("%s (-want +got):\n%s", name, diff)
			}
			// The snapshot travels too, so the other replica's streams render
			// without reading the store.
			if snap := got.Snapshot; snap == nil || snap.RunID != "edr_1" || snap.Status != "FAILED" || snap.FailureMessage != "xref table not found" || !snap.At.Equal(testStart) {
				t.Errorf("%s: snapshot %+v", name, snap)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no event", name)
		}
	}
	// A second event from the other side, to be sure nothing else is queued.
	if err := two.Publish(ctx, Event{Tenant: tenantA, Kind: EventRun, RunID: "edr_2"}); err != nil {
		t.Fatal(err)
	}
	for name, sub := range map[string]*Subscription{"origin": onTwoA, "remote": onOneA} {
		select {
		case got := <-sub.C:
			if got.RunID != "edr_2" {
				t.Fatalf("%s: got %+v, want edr_2 (an event delivered twice?)", name, got)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no event", name)
		}
	}
	select {
	case e := <-onTwoB.C:
		t.Fatalf("tenant B heard %+v", e)
	case e := <-onOneA.C:
		t.Fatalf("duplicate %+v", e)
	case <-time.After(200 * time.Millisecond):
	}
}
