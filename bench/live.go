package bench

import (
	"context"
	"encoding/json"
	"math"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// createRuns starts rate runs a second in the sandbox until end, through
// its API and not the dashboard, so the event streams have changes to
// carry. It begins once every stream is open, so each can hear of every
// run.
func (l *load) createRuns(ctx context.Context, sb *extendapi.Client, template *extendapi.CreateEditRunRequest, rate float64, end time.Time) {
	if rate <= 0 {
		return
	}
	select {
	case <-l.live.allOpen:
	case <-ctx.Done():
		return
	case <-time.After(time.Until(end)):
		return
	}
	start := time.Now()
	n := int(math.Round(rate * end.Sub(start).Seconds()))
	var wg sync.WaitGroup
	for i := range n {
		if sleep(ctx, time.Until(start.Add(time.Duration(float64(i)/rate*float64(time.Second))))) != nil {
			break
		}
		wg.Go(func() {
			run, err := sb.CreateEditRun(ctx, template)
			l.live.created(run, err)
		})
	}
	wg.Wait()
}

// liveTracker counts what the event streams receive, and which of the
// runs the harness created reached every stream.
type liveTracker struct {
	mu           sync.Mutex
	events       int
	changes      int
	seen         []map[string]bool // per stream: runs it heard of
	open         []bool            // per stream: opened once
	opened       int
	allOpen      chan struct{} // closed once every stream opened
	createdRuns  []string
	createErrors []string
}

func newLiveTracker(streams int) *liveTracker {
	t := &liveTracker{seen: make([]map[string]bool, streams), open: make([]bool, streams), allOpen: make(chan struct{})}
	for i := range t.seen {
		t.seen[i] = map[string]bool{}
	}
	if streams == 0 {
		close(t.allOpen)
	}
	return t
}

func (t *liveTracker) streamOpen(stream int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open[stream] {
		return
	}
	t.open[stream] = true
	if t.opened++; t.opened == len(t.open) {
		close(t.allOpen)
	}
}

func (t *liveTracker) event(stream int, name, data string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events++
	if name != "run" {
		return
	}
	t.changes++
	var e struct {
		RunID string `json:"runId"`
	}
	if json.Unmarshal([]byte(data), &e) == nil && e.RunID != "" {
		t.seen[stream][e.RunID] = true
	}
}

func (t *liveTracker) created(run *extendapi.EditRun, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.createErrors = append(t.createErrors, err.Error())
		return
	}
	t.createdRuns = append(t.createdRuns, run.ID)
}

// delivered is how many created runs every stream heard of.
func (t *liveTracker) delivered() (delivered, created int) {
	missing := t.missing()
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.createdRuns) - len(missing), len(t.createdRuns)
}

// missing lists the created runs some stream has not heard of.
func (t *liveTracker) missing() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ids []string
	for _, id := range t.createdRuns {
		for _, seen := range t.seen {
			if !seen[id] {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids
}

// drain waits, up to drainTimeout, until every created run reached every
// stream.
func (t *liveTracker) drain(ctx context.Context) {
	deadline := time.Now().Add(drainTimeout)
	for time.Now().Before(deadline) {
		if d, c := t.delivered(); d == c || len(t.seen) == 0 {
			return
		}
		if sleep(ctx, 100*time.Millisecond) != nil {
			return
		}
	}
}

func (t *liveTracker) stats(streams int) LiveStats {
	delivered, created := t.delivered()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := LiveStats{Streams: streams, Events: t.events, Changes: t.changes, RunsCreated: created, RunsDelivered: delivered,
		CreateErrors: len(t.createErrors)}
	if len(t.createErrors) > 0 {
		s.CreateErrorSample = t.createErrors[0]
	}
	return s
}
