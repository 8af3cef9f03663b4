package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGBroker carries events between replicas sharing a PostgreSQL database
// with LISTEN/NOTIFY. Subscribers are local (a MemoryBroker): an event
// published here reaches them at once and every other replica through
// NOTIFY; notifications this broker sent itself are ignored.
type PGBroker struct {
	local   *MemoryBroker
	pool    *pgxpool.Pool
	dsn     string
	channel string
	origin  string
	logger  *slog.Logger

	cancel    context.CancelFunc
	done      chan struct{}
	ready     chan struct{}
	readyOnce sync.Once
}

// PGBrokerOptions configure NewPGBroker; the zero value is fine.
type PGBrokerOptions struct {
	Logger *slog.Logger
	// Channel overrides the NOTIFY channel. By default it is derived from
	// the connection's schema, so installations (and tests) in different
	// schemas of one database do not hear each other.
	Channel string
}

// maxNotifyPayload is PostgreSQL's limit on a NOTIFY payload, less a margin.
const maxNotifyPayload = 7900

// NewPGBroker connects to dsn (a postgres:// URL) and starts listening.
// Close stops it. Ready is closed once the first LISTEN is in place.
func NewPGBroker(ctx context.Context, dsn string, opts PGBrokerOptions) (*PGBroker, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("monitor: broker: parse database URL: %w", err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("monitor: broker: connect: %w", err)
	}
	channel := opts.Channel
	if channel == "" {
		var schema string
		if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			pool.Close()
			return nil, fmt.Errorf("monitor: broker: current schema: %w", err)
		}
		h := fnv.New32a()
		h.Write([]byte(schema))
		channel = fmt.Sprintf("editwatch_events_%08x", h.Sum32())
	}
	origin := make([]byte, 8)
	if _, err := rand.Read(origin); err != nil {
		pool.Close()
		return nil, fmt.Errorf("monitor: broker: %w", err)
	}
	listenCtx, cancel := context.WithCancel(context.Background())
	b := &PGBroker{
		local: NewMemoryBroker(), pool: pool, dsn: dsn, channel: channel, origin: hex.EncodeToString(origin),
		logger: logger, cancel: cancel, done: make(chan struct{}), ready: make(chan struct{}),
	}
	go b.listen(listenCtx)
	return b, nil
}

// Ready is closed once the broker listens, so events from other replicas
// reach its subscribers from then on.
func (b *PGBroker) Ready() <-chan struct{} { return b.ready }

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
	if err != nil {
		return fmt.Errorf("monitor: broker: encode event: %w", err)
	}
	if len(payload) > maxNotifyPayload {
		return fmt.Errorf("monitor: broker: event of %d bytes is over NOTIFY's limit", len(payload))
	}
	if _, err := b.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, b.channel, string(payload)); err != nil {
		return fmt.Errorf("monitor: broker: notify: %w", err)
	}
	return nil
}

// listen holds a connection in LISTEN and forwards notifications to the
// local subscribers, reconnecting with backoff (1 s doubling to 30 s) when
// the connection drops. Events sent while it was down are lost: pages
// catch up on their next load, and the store has the truth.
func (b *PGBroker) listen(ctx context.Context) {
	defer close(b.done)
	delay := time.Second
	for ctx.Err() == nil {
		err := b.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		b.logger.Warn("monitor: broker: LISTEN connection lost; reconnecting", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func (b *PGBroker) listenOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, b.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{b.channel}.Sanitize()); err != nil {
		return err
	}
	b.readyOnce.Do(func() { close(b.ready) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var e Event
		if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
			b.logger.Warn("monitor: broker: unreadable notification", "err", err)
			continue
		}
		if e.Origin == b.origin {
			continue
		}
		_ = b.local.Publish(ctx, e)
	}
}

// Close stops listening, closes the pool and ends every subscription.
func (b *PGBroker) Close() error {
	b.cancel()
	<-b.done
	b.pool.Close()
	b.local.Close()
	return nil
}
