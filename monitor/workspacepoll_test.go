package monitor

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store/storetest"
)

// countingList answers a workspace's first page, counting the calls.
func countingList(calls *atomic.Int64) ListFunc {
	return func(ctx context.Context) ([]extendapi.EditRun, error) {
		calls.Add(1)
		return []extendapi.EditRun{editRun("edr_new", extendapi.StatusProcessing)}, nil
	}
}

// TestWorkspacePollerShared: twenty viewers of a workspace cost one list
// per interval; nobody wanting it costs nothing; a background want (such
// as alerts) keeps it polled with no viewer at all.
func TestWorkspacePollerShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ingested atomic.Int64
		p := NewWorkspacePoller(WorkspacePollerOptions{Interval: 2 * time.Second,
			Ingest: func(ctx context.Context, tenant string, runs []extendapi.EditRun) error {
				if tenant != tenantA || len(runs) != 1 {
					t.Errorf("ingest %s %d runs", tenant, len(runs))
				}
				ingested.Add(1)
				return nil
			}})
		defer p.Close()
		var calls atomic.Int64
		var stops []func()
		for range 20 {
			stops = append(stops, p.Want(tenantA, "viewer", countingList(&calls)))
		}
		time.Sleep(9 * time.Second)
		synctest.Wait()
		// At 0, 2, 4, 6 and 8 s.
		if got := calls.Load(); got != 5 {
			t.Errorf("20 viewers for 9 s at a 2 s interval: %d lists, want 5", got)
		}
		if ingested.Load() != calls.Load() {
			t.Errorf("ingested %d pages of %d", ingested.Load(), calls.Load())
		}
		for _, stop := range stops {
			stop()
			stop() // idempotent
		}
		synctest.Wait()
		before := calls.Load()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := calls.Load(); got != before || len(p.Wanted(tenantA)) != 0 {
			t.Errorf("nobody watching: %d more lists, wanted for %v", got-before, p.Wanted(tenantA))
		}

		var alertCalls atomic.Int64
		stopAlerts := p.Want(tenantA, "alerts", countingList(&alertCalls))
		viewer := p.Want(tenantA, "viewer", countingList(&calls))
		viewer()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := alertCalls.Load(); got != 3 || !slices.Equal(p.Wanted(tenantA), []string{"alerts"}) {
			t.Errorf("alerts alone for 5 s: %d lists (want 3), wanted for %v", got, p.Wanted(tenantA))
		}
		stopAlerts()
	})
}

// TestWorkspacePollerOneReplica: two replicas sharing a PostgreSQL store
// both have a viewer of the same workspace; only the lease holder polls,
// and when it stops the other takes over.
func TestWorkspacePollerOneReplica(t *testing.T) {
	for _, b := range storetest.Backends() {
		if b.Name != "postgres" {
			continue // SQLite has one process: its lease is always granted
		}
		t.Run(b.Name, func(t *testing.T) {
			st := openStore(t, b.NewDSN(t))
			first := NewWorkspacePoller(WorkspacePollerOptions{Store: st, Interval: 100 * time.Millisecond})
			defer first.Close()
			second := NewWorkspacePoller(WorkspacePollerOptions{Store: st, Interval: 100 * time.Millisecond})
			defer second.Close()
			var firstCalls, secondCalls atomic.Int64
			stopFirst := first.Want(tenantA, "viewer", countingList(&firstCalls))
			waitUntil(t, "the first replica polls", func() bool { return firstCalls.Load() >= 3 })
			stopSecond := second.Want(tenantA, "viewer", countingList(&secondCalls))
			defer stopSecond()
			from := firstCalls.Load()
			waitUntil(t, "the first replica polls on", func() bool { return firstCalls.Load() >= from+5 })
			if got := secondCalls.Load(); got != 0 {
				t.Fatalf("the second replica polled %d times while the first held the lease", got)
			}
			stopFirst() // releases the lease
			waitUntil(t, "the second replica takes over", func() bool { return secondCalls.Load() >= 2 })
		})
	}
}

// waitUntil polls cond for up to a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
