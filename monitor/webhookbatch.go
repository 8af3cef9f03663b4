package monitor

import (
	"context"
	"sync"
	"time"

	"github.com/editwatch/editwatch/store"
)

// Defaults of Options.WebhookBatch and Options.WebhookCommitInterval.
//
// The interval is a floor under a batch's cycle, not its length: a batch
// of 32 senders takes 3.5 to 4.5 ms here (the store's two round trips,
// then the senders' next deliveries). At 5 ms the writer slept 2 ms of
// every 5.3 ms cycle on a machine whose PostgreSQL answered fast, and
// ingest was capped at 32 deliveries per 5 ms whatever the database
// could do.
const (
	DefaultWebhookBatch          = 256
	DefaultWebhookCommitInterval = 3 * time.Millisecond
)

// webhookBatchTimeout bounds one batch's transaction. The writer does not
// stop when the request of one of its deliveries ends: the others wait
// for the commit.
const webhookBatchTimeout = time.Minute

// deliveryQueue is where concurrent deliveries wait for the one writer
// that stores them (group commit): on PostgreSQL every commit waits for
// the disk, so a transaction per delivery caps ingest at the disk's sync
// rate, whereas a batch pays one sync for all who arrived meanwhile.
type deliveryQueue struct {
	max      int
	interval time.Duration

	mu        sync.Mutex
	waiting   []*queuedDelivery
	writing   bool      // the writer goroutine is draining waiting
	lastStart time.Time // when the last batch began
	// answered is how many deliveries the last batch acknowledged: busy
	// senders whose next delivery is likely on its way.
	answered int
	// arrived wakes the writer while it waits for them (never blocks).
	arrived chan struct{}
}

type queuedDelivery struct {
	delivery store.WebhookDelivery
	done     chan store.WebhookDeliveryResult // buffered: the writer never waits on it
}

// storeDelivery stores (and applies) one delivery together with those
// that arrive at the same time, and returns once its batch has committed:
// only then may Extend be acknowledged. A delivery the database refuses
// fails alone (store.StoreWebhookDeliveries); an outage fails the batch.
func (m *Monitor) storeDelivery(ctx context.Context, d store.WebhookDelivery) store.WebhookDeliveryResult {
	q := &m.deliveries
	if q.max == 1 {
		return m.store.StoreWebhookDeliveries(ctx, []store.WebhookDelivery{d})[0]
	}
	qd := &queuedDelivery{delivery: d, done: make(chan store.WebhookDeliveryResult, 1)}
	q.mu.Lock()
	q.waiting = append(q.waiting, qd)
	start := !q.writing
	q.writing = true
	if q.arrived == nil {
		q.arrived = make(chan struct{}, 1)
	}
	arrived := q.arrived
	q.mu.Unlock()
	if start {
		go m.drainDeliveries()
	} else {
		select {
		case arrived <- struct{}{}:
		default: // the writer has a wake-up pending already
		}
	}
	select {
	case r := <-qd.done:
		return r
	case <-ctx.Done():
		// Not acknowledged, though its batch may still commit it: the
		// redelivery is then a duplicate, applied once.
		return store.WebhookDeliveryResult{Err: ctx.Err()}
	}
}

// drainDeliveries is the writer: it stores what is waiting, a batch at a
// time and at most one batch per interval, and ends when nothing is left.
func (m *Monitor) drainDeliveries() {
	q := &m.deliveries
	for {
		// Wait for the senders just answered first, then sleep what is
		// left of the interval: the other way round, the sleep (which
		// overshoots by up to a millisecond) came on top of that wait.
		q.awaitAnswered()
		q.mu.Lock()
		wait := q.interval - time.Since(q.lastStart)
		q.mu.Unlock()
		if wait > 0 {
			// Deliveries are coming fast: let this batch fill up.
			time.Sleep(wait)
		}
		q.mu.Lock()
		n := min(len(q.waiting), q.max)
		if n == 0 {
			q.writing = false
			q.waiting = nil
			q.answered = 0
			q.mu.Unlock()
			return
		}
		batch := q.waiting[:n:n]
		q.waiting = q.waiting[n:]
		q.lastStart = time.Now()
		q.mu.Unlock()

		ds := make([]store.WebhookDelivery, n)
		for i, qd := range batch {
			ds[i] = qd.delivery
		}
		ctx, cancel := context.WithTimeout(context.Background(), webhookBatchTimeout)
		results := m.store.StoreWebhookDeliveries(ctx, ds)
		cancel()
		q.mu.Lock()
		q.answered = n
		q.mu.Unlock()
		for i, qd := range batch {
			qd.done <- results[i]
		}
	}
}

// awaitAnswered waits for the senders the last batch answered to deliver
// again, so that they join the next batch: until they all have, or none
// has for a fifth of the interval, or an interval has passed. Without
// it, when a batch takes longer than the interval, the senders split into
// two groups that take turns, each waiting out the other's commit: half
// the deliveries per commit, and twice the wait.
func (q *deliveryQueue) awaitAnswered() {
	q.mu.Lock()
	want := min(q.max, len(q.waiting)+q.answered)
	arrived := q.arrived
	q.mu.Unlock()
	var idle, limit *time.Timer
	for {
		q.mu.Lock()
		n := len(q.waiting)
		q.mu.Unlock()
		if n >= want {
			return
		}
		if limit == nil {
			idle, limit = time.NewTimer(q.interval/5), time.NewTimer(q.interval)
			defer idle.Stop()
			defer limit.Stop()
		}
		select {
		case <-arrived:
			idle.Reset(q.interval / 5)
		case <-idle.C:
			return
		case <-limit.C:
			return
		}
	}
}
