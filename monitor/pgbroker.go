package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/editwatch/editwatch/store"
)

// maxNotifyPayload keeps notifications under PostgreSQL's 8000-byte limit.
const maxNotifyPayload = 7000

// PGBroker carries events between replicas sharing a PostgreSQL database
// through a store.Listener (LISTEN/NOTIFY). Subscribers are local (a
// MemoryBroker): an event published here reaches them at once and every
// other replica through the listener; notifications this broker sent
// itself are ignored.
type PGBroker struct {
	local    *MemoryBroker
	listener *store.Listener
	origin   string
	logger   *slog.Logger
	done     chan struct{}
}

// PGBrokerOptions configure NewPGBroker; the zero value is fine.
type PGBrokerOptions struct {
	Logger *slog.Logger
}

// NewPGBroker starts relaying between l and local subscribers; it owns l
// from then on (Close closes it). Ready is l's: closed once it listens.
func NewPGBroker(l *store.Listener, opts PGBrokerOptions) (*PGBroker, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	origin := make([]byte, 8)
	if _, err := rand.Read(origin); err != nil {
		return nil, fmt.Errorf("monitor: broker: %w", err)
	}
	b := &PGBroker{local: NewMemoryBroker(), listener: l, origin: hex.EncodeToString(origin), logger: logger, done: make(chan struct{})}
	go b.relay()
	return b, nil
}

// Ready is closed once the broker listens, so events from other replicas
// reach its subscribers from then on.
func (b *PGBroker) Ready() <-chan struct{} { return b.listener.Ready() }

// Subscribe starts receiving a tenant's events, from every replica.
func (b *PGBroker) Subscribe(tenant string, buffer int) *Subscription {
	return b.local.Subscribe(tenant, buffer)
}

// Publish delivers e to local subscribers and notifies the other
// replicas. The local delivery happens even when NOTIFY fails.
func (b *PGBroker) Publish(ctx context.Context, e Event) error {
	e.Origin = b.origin
	_ = b.local.Publish(ctx, e)
	payload, err := json.Marshal(e)
	if err == nil && len(payload) > maxNotifyPayload && e.Snapshot != nil {
		// PostgreSQL refuses larger notifications: the other replicas read
		// the snapshot from the store instead.
		e.Snapshot = nil
		payload, err = json.Marshal(e)
	}
	if err != nil {
		return fmt.Errorf("monitor: broker: encode event: %w", err)
	}
	if err := b.listener.Notify(ctx, string(payload)); err != nil {
		return fmt.Errorf("monitor: broker: %w", err)
	}
	return nil
}

// relay hands the events of other replicas to the local subscribers until
// the listener closes. Events sent while the listener was reconnecting
// are lost: pages catch up on their next load, and the store has the
// truth.
func (b *PGBroker) relay() {
	defer close(b.done)
	for payload := range b.listener.Notifications() {
		var e Event
		if err := json.Unmarshal([]byte(payload), &e); err != nil {
			b.logger.Warn("monitor: broker: unreadable notification", "err", err)
			continue
		}
		if e.Origin == b.origin {
			continue
		}
		_ = b.local.Publish(context.Background(), e)
	}
}

// Close stops listening and ends every subscription.
func (b *PGBroker) Close() error {
	err := b.listener.Close()
	<-b.done
	b.local.Close()
	return err
}
