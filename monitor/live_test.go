package monitor

import (
	"context"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store/storetest"
)

func TestNewLiveNeedsMonitorAndBroker(t *testing.T) {
	st := openStore(t, storetest.SQLiteDSN(t))
	mon := New(st, nil, Options{})
	cases := []struct {
		name string
		opts LiveOptions
	}{
		{"no monitor", LiveOptions{Broker: NewMemoryBroker()}},
		{"no broker", LiveOptions{Monitor: mon}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewLive(context.Background(), tc.opts); err == nil {
				t.Error("accepted")
			}
		})
	}
	live, err := NewLive(context.Background(), LiveOptions{Monitor: mon, Broker: NewMemoryBroker(), PublicURL: " https://ew.example/ "})
	if err != nil {
		t.Fatal(err)
	}
	if live.Heartbeat != DefaultHeartbeat || live.PublicURL != "https://ew.example/" {
		t.Errorf("defaults: heartbeat %v, public URL %q", live.Heartbeat, live.PublicURL)
	}
}

// Background work runs under the lifecycle context, and Wait returns once
// it has ended with that context.
func TestLiveBackgroundEndsWithItsContext(t *testing.T) {
	st := openStore(t, storetest.SQLiteDSN(t))
	ctx, cancel := context.WithCancel(context.Background())
	live, err := NewLive(ctx, LiveOptions{Monitor: New(st, nil, Options{}), Broker: NewMemoryBroker()})
	if err != nil {
		t.Fatal(err)
	}
	started, ended := make(chan struct{}), make(chan struct{})
	live.Background(func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		close(ended)
	})
	<-started
	cancel()
	live.Wait()
	select {
	case <-ended:
	default:
		t.Fatal("Wait returned before the background work ended")
	}
}

// IngestBackfill counts the runs new to history, not those it already had.
func TestIngestBackfillCountsNewRuns(t *testing.T) {
	st := openStore(t, storetest.SQLiteDSN(t))
	mon := New(st, nil, Options{})
	ctx := context.Background()
	first := []extendapi.EditRun{editRun("edr_1", extendapi.StatusProcessed), editRun("edr_2", extendapi.StatusFailed)}
	if n, err := mon.IngestBackfill(ctx, tenantA, first); err != nil || n != 2 {
		t.Fatalf("first page: %d new, %v; want 2", n, err)
	}
	again := append(first, editRun("edr_3", extendapi.StatusProcessed))
	if n, err := mon.IngestBackfill(ctx, tenantA, again); err != nil || n != 1 {
		t.Fatalf("page with one new run: %d new, %v; want 1", n, err)
	}
}
