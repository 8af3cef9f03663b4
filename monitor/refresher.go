package monitor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// FetchFunc fetches a run's current state, with the key of someone
// watching it (GET /edit_runs/{id} through their client, which holds the
// workspace's rate budget).
type FetchFunc func(ctx context.Context) (*extendapi.EditRun, error)

// RefresherOptions shape the polling of watched runs. The defaults
// (DefaultRefresherOptions) are the Extend SDKs' createAndPoll: every
// second for the first 30 s, then 1 s growing ×1.15 per poll up to 30 s,
// each delay jittered ±25 %.
type RefresherOptions struct {
	FastPeriod   time.Duration
	FastInterval time.Duration
	InitialDelay time.Duration // the first delay after FastPeriod
	Multiplier   float64
	MaxDelay     time.Duration
	// Jitter is the ± fraction applied to every delay; 0 means none.
	Jitter float64
	// OnRun receives every fetched run (wire it to Monitor.Ingest with
	// store.ViaRefresh); OnGone a run the API no longer has (404: wire it
	// to Monitor.RecordDeleted). Both may be nil.
	OnRun  func(ctx context.Context, tenant string, run extendapi.EditRun)
	OnGone func(ctx context.Context, tenant, runID string)
	Logger *slog.Logger
}

// DefaultRefresherOptions are the SDK's polling defaults.
func DefaultRefresherOptions() RefresherOptions {
	return RefresherOptions{FastPeriod: 30 * time.Second, FastInterval: time.Second, InitialDelay: time.Second,
		Multiplier: 1.15, MaxDelay: 30 * time.Second, Jitter: 0.25}
}

// Refresher polls the PROCESSING runs that someone is watching: one
// upstream call per run per interval however many watch it, and none once
// nobody does. It stops polling a run once it has finished or is gone.
type Refresher struct {
	opts   RefresherOptions
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	runs map[watchKey]*watchedRun
	seq  uint64
}

type watchKey struct{ tenant, runID string }

type watchedRun struct {
	watchers holders[FetchFunc] // the most recent watcher's key polls
	polling  bool
	done     bool // finished or gone: nothing more to poll
	wake     chan struct{}
}

// NewRefresher returns a Refresher; zero durations and multiplier take
// the defaults. Close stops it.
func NewRefresher(opts RefresherOptions) *Refresher {
	d := DefaultRefresherOptions()
	if opts.FastPeriod <= 0 {
		opts.FastPeriod = d.FastPeriod
	}
	if opts.FastInterval <= 0 {
		opts.FastInterval = d.FastInterval
	}
	if opts.InitialDelay <= 0 {
		opts.InitialDelay = d.InitialDelay
	}
	if opts.Multiplier < 1 {
		opts.Multiplier = d.Multiplier
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = d.MaxDelay
	}
	opts.Jitter = min(max(opts.Jitter, 0), 0.9)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Refresher{opts: opts, ctx: ctx, cancel: cancel, runs: map[watchKey]*watchedRun{}}
}

// Watch registers interest in a run until the returned stop is called
// (call it when the page's event stream ends). fetch is used while this
// watcher is the most recent one.
func (r *Refresher) Watch(tenant, runID string, fetch FetchFunc) (stop func()) {
	key := watchKey{tenant, runID}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	id := r.seq
	w := r.runs[key]
	if w == nil {
		w = &watchedRun{watchers: newHolders[FetchFunc](), wake: make(chan struct{})}
		r.runs[key] = w
	}
	w.watchers.add(id, fetch)
	if !w.polling && !w.done && r.ctx.Err() == nil {
		w.polling = true
		r.wg.Add(1)
		go r.poll(key, w)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if w.watchers.remove(id) {
				if r.runs[key] == w {
					delete(r.runs, key)
				}
				close(w.wake) // the poller stops now rather than after its sleep
			}
		})
	}
}

// Watched is how many runs are being polled or waited on.
func (r *Refresher) Watched() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}

// Delay is the wait before the next poll, elapsed after polling started
// and with polls made since the fast period ended (without jitter).
func (o RefresherOptions) Delay(elapsed time.Duration, backoffPolls int) time.Duration {
	if elapsed < o.FastPeriod {
		return o.FastInterval
	}
	d := float64(o.InitialDelay) * math.Pow(o.Multiplier, float64(backoffPolls))
	return time.Duration(min(d, float64(o.MaxDelay)))
}

func (r *Refresher) poll(key watchKey, w *watchedRun) {
	defer r.wg.Done()
	start := time.Now()
	backoffPolls := 0
	for {
		elapsed := time.Since(start)
		delay := r.opts.Delay(elapsed, backoffPolls)
		if elapsed >= r.opts.FastPeriod {
			backoffPolls++
		}
		if r.opts.Jitter > 0 {
			delay = time.Duration(float64(delay) * (1 + r.opts.Jitter*(2*rand.Float64()-1)))
		}
		timer := time.NewTimer(delay)
		select {
		case <-r.ctx.Done():
			timer.Stop()
			return
		case <-w.wake:
			timer.Stop()
			return
		case <-timer.C:
		}
		r.mu.Lock()
		fetch := w.watchers.current()
		r.mu.Unlock()
		if fetch == nil {
			return
		}
		run, err := fetch(r.ctx)
		switch {
		case errors.Is(err, extendapi.ErrNotFound):
			if r.opts.OnGone != nil {
				r.opts.OnGone(r.ctx, key.tenant, key.runID)
			}
			r.finish(w)
			return
		case err != nil:
			// Rate limits and outages: keep the schedule; the client has
			// already retried what was safe.
			if r.ctx.Err() == nil {
				r.opts.Logger.Debug("monitor: refresh failed", "tenant", key.tenant, "run", key.runID, "err", err)
			}
			continue
		}
		if r.opts.OnRun != nil {
			r.opts.OnRun(r.ctx, key.tenant, *run)
		}
		if run.Status.Terminal() {
			r.finish(w)
			return
		}
	}
}

func (r *Refresher) finish(w *watchedRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w.done, w.polling = true, false
}

// Close stops every poll and waits for them.
func (r *Refresher) Close() {
	r.cancel()
	r.wg.Wait()
}
