package monitor

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// fakeRun answers fetches of one run, counting them; it finishes after
// finishAfter fetches (0: never).
type fakeRun struct {
	calls       atomic.Int64
	finishAfter int64
	mu          sync.Mutex
	at          []time.Duration // when each fetch happened, from start
	start       time.Time
}

func (f *fakeRun) fetch(id string) FetchFunc {
	return func(ctx context.Context) (*extendapi.EditRun, error) {
		n := f.calls.Add(1)
		f.mu.Lock()
		f.at = append(f.at, time.Since(f.start))
		f.mu.Unlock()
		status := extendapi.StatusProcessing
		if f.finishAfter > 0 && n >= f.finishAfter {
			status = extendapi.StatusProcessed
		}
		return &extendapi.EditRun{ID: id, Status: status}, nil
	}
}

func noJitter() RefresherOptions {
	o := DefaultRefresherOptions()
	o.Jitter = 0
	return o
}

// TestRefresherCoalesces: fifty watchers of one run cost one call a
// second, not fifty; nobody watching costs nothing.
func TestRefresherCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ingested atomic.Int64
		opts := noJitter()
		opts.OnRun = func(ctx context.Context, tenant string, run extendapi.EditRun) { ingested.Add(1) }
		r := NewRefresher(opts)
		defer r.Close()
		f := &fakeRun{start: time.Now()}
		var stops []func()
		for range 50 {
			stops = append(stops, r.Watch(tenantA, "edr_1", f.fetch("edr_1")))
		}
		time.Sleep(10*time.Second + 500*time.Millisecond)
		synctest.Wait()
		if got := f.calls.Load(); got != 10 {
			t.Fatalf("50 watchers for 10.5 s made %d calls, want 10 (one a second)", got)
		}
		if ingested.Load() != 10 {
			t.Fatalf("ingested %d", ingested.Load())
		}
		for _, stop := range stops[1:] {
			stop()
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := f.calls.Load(); got != 15 {
			t.Fatalf("one watcher left: %d calls after 15.5 s, want 15", got)
		}
		stops[0]()
		synctest.Wait()
		before := f.calls.Load()
		time.Sleep(time.Minute)
		synctest.Wait()
		if f.calls.Load() != before || r.Watched() != 0 {
			t.Fatalf("nobody watching, yet %d more calls (%d watched)", f.calls.Load()-before, r.Watched())
		}
	})
}

// TestRefresherBacksOff: every second for 30 s, then 1 s × 1.15 per poll up
// to 30 s, the SDK's schedule.
func TestRefresherBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewRefresher(noJitter())
		defer r.Close()
		f := &fakeRun{start: time.Now()}
		stop := r.Watch(tenantA, "edr_slow", f.fetch("edr_slow"))
		defer stop()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		f.mu.Lock()
		at := append([]time.Duration(nil), f.at...)
		f.mu.Unlock()
		var want []time.Duration
		opts := noJitter()
		for elapsed, n := time.Duration(0), 0; ; {
			d := opts.Delay(elapsed, n)
			if elapsed >= opts.FastPeriod {
				n++
			}
			elapsed += d
			if elapsed > 10*time.Minute {
				break
			}
			want = append(want, elapsed)
		}
		if len(at) != len(want) {
			t.Fatalf("%d polls in 10 min, want %d: %v", len(at), len(want), at)
		}
		for i := range want {
			if at[i] != want[i] {
				t.Fatalf("poll %d at %s, want %s", i, at[i], want[i])
			}
		}
		// The schedule itself: 30 polls a second apart, then growing gaps
		// that reach the 30 s ceiling.
		if at[29] != 30*time.Second || at[30]-at[29] != time.Second || at[31]-at[30] != 1150*time.Millisecond {
			t.Fatalf("schedule around the fast period: %v", at[27:33])
		}
		if last := at[len(at)-1] - at[len(at)-2]; last != 30*time.Second {
			t.Fatalf("last gap %s, want the 30 s ceiling", last)
		}
	})
}

// TestRefresherStopsWhenFinishedOrGone and keeps separate runs separate.
func TestRefresherStopsWhenFinishedOrGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gone []string
		var mu sync.Mutex
		opts := noJitter()
		opts.OnGone = func(ctx context.Context, tenant, runID string) {
			mu.Lock()
			gone = append(gone, tenant+"|"+runID)
			mu.Unlock()
		}
		r := NewRefresher(opts)
		defer r.Close()
		finishing := &fakeRun{start: time.Now(), finishAfter: 3}
		defer r.Watch(tenantA, "edr_fin", finishing.fetch("edr_fin"))()
		var deletedCalls atomic.Int64
		defer r.Watch(tenantB, "edr_del", func(ctx context.Context) (*extendapi.EditRun, error) {
			deletedCalls.Add(1)
			return nil, extendapi.ErrNotFound
		})()
		time.Sleep(time.Minute)
		synctest.Wait()
		if finishing.calls.Load() != 3 || deletedCalls.Load() != 1 {
			t.Fatalf("calls after finish: %d, after 404: %d", finishing.calls.Load(), deletedCalls.Load())
		}
		if len(gone) != 1 || gone[0] != tenantB+"|edr_del" {
			t.Fatalf("gone: %v", gone)
		}
		// Another watcher of the finished run starts nothing new.
		defer r.Watch(tenantA, "edr_fin", finishing.fetch("edr_fin"))()
		time.Sleep(time.Minute)
		synctest.Wait()
		if finishing.calls.Load() != 3 {
			t.Fatalf("a finished run was polled again: %d", finishing.calls.Load())
		}
	})
}

func TestRefresherJitterBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewRefresher(DefaultRefresherOptions())
		f := &fakeRun{start: time.Now()}
		stop := r.Watch(tenantA, "edr_j", f.fetch("edr_j"))
		time.Sleep(20 * time.Second)
		synctest.Wait()
		stop()
		r.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		prev := time.Duration(0)
		for _, at := range f.at {
			if gap := at - prev; gap < 750*time.Millisecond || gap > 1250*time.Millisecond {
				t.Fatalf("gap %s outside 1 s ± 25 %%", gap)
			}
			prev = at
		}
		if len(f.at) < 16 || len(f.at) > 26 {
			t.Fatalf("%d polls in 20 s", len(f.at))
		}
	})
}
