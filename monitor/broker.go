package monitor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/editwatch/editwatch/store"
)

// Event kinds.
const (
	// EventRun: a run's snapshot changed (it appeared, or its status or
	// facts moved).
	EventRun = "run"
	// EventDeleted: a run was deleted.
	EventDeleted = "deleted"
)

// Event tells a tenant's open pages that something changed. Snapshot is
// the history row just written, from which each event stream renders its
// own fragment (no store read, no Extend call per viewer); it stays on the
// server: what reaches a browser is its rendered fragment and the state
// fields here, never the snapshot itself.
type Event struct {
	Tenant        string    `json:"tenant"`
	Kind          string    `json:"kind"`
	RunID         string    `json:"runId"`
	Status        string    `json:"status,omitempty"`
	PrevStatus    string    `json:"prevStatus,omitempty"`
	FailureReason string    `json:"failureReason,omitempty"`
	At            time.Time `json:"at"`
	// Origin names the broker that published the event, so a replica
	// ignores its own events coming back through NOTIFY.
	Origin string `json:"origin,omitempty"`
	// Snapshot is the run as history now has it; nil when the event was
	// too large to carry it between replicas (readers then ask the store).
	Snapshot *store.RunSnapshot `json:"snapshot,omitempty"`
}

// Publisher is what Monitor needs of a broker.
type Publisher interface {
	Publish(ctx context.Context, e Event) error
}

// DefaultSubscriptionBuffer is how many events a slow subscriber may fall
// behind before events for it are dropped.
const DefaultSubscriptionBuffer = 64

// MemoryBroker fans events out to the subscribers of their tenant in this
// process. Publishing never blocks: a subscriber whose buffer is full
// misses the event (Subscription.Dropped counts them), so one stalled
// stream cannot hold up webhooks or other streams.
type MemoryBroker struct {
	mu     sync.RWMutex
	subs   map[string]map[*Subscription]struct{}
	closed bool
}

// NewMemoryBroker returns an empty broker.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{subs: map[string]map[*Subscription]struct{}{}}
}

// Subscription receives the events of one tenant on C until Close (or
// until the broker closes, which closes C).
type Subscription struct {
	C       <-chan Event
	ch      chan Event
	tenant  string
	broker  *MemoryBroker
	dropped atomic.Uint64
	once    sync.Once
}

// Dropped is how many events this subscriber missed because it fell
// behind; a page can reload when it grows.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close unsubscribes and closes C. It is safe to call more than once.
func (s *Subscription) Close() {
	s.broker.mu.Lock()
	defer s.broker.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	s.once.Do(func() {
		if set := s.broker.subs[s.tenant]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				delete(s.broker.subs, s.tenant)
			}
		}
		close(s.ch)
	})
}

// Subscribe starts receiving a tenant's events; buffer ≤ 0 means
// DefaultSubscriptionBuffer. On a closed broker C is closed at once.
func (b *MemoryBroker) Subscribe(tenant string, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = DefaultSubscriptionBuffer
	}
	ch := make(chan Event, buffer)
	s := &Subscription{C: ch, ch: ch, tenant: tenant, broker: b}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.once.Do(func() { close(ch) })
		return s
	}
	if b.subs[tenant] == nil {
		b.subs[tenant] = map[*Subscription]struct{}{}
	}
	b.subs[tenant][s] = struct{}{}
	return s
}

// Publish hands e to every subscriber of e.Tenant without waiting.
func (b *MemoryBroker) Publish(_ context.Context, e Event) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs[e.Tenant] {
		select {
		case s.ch <- e:
		default:
			s.dropped.Add(1)
		}
	}
	return nil
}

// Subscribers is how many subscriptions a tenant has.
func (b *MemoryBroker) Subscribers(tenant string) int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.subs[tenant])
}

// Close ends every subscription (their channels close, so event streams
// finish cleanly at shutdown) and refuses new ones.
func (b *MemoryBroker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, set := range b.subs {
		for s := range set {
			s.closeLocked()
		}
	}
}
