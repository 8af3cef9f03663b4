package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotifyUnsupported reports Listen on a SQLite store: one process owns
// a SQLite file, so there is no other replica to hear.
var ErrNotifyUnsupported = errors.New("store: notifications between replicas need PostgreSQL")

// MaxNotifyPayload is the longest payload Notify sends: PostgreSQL's
// NOTIFY limit, less a margin.
const MaxNotifyPayload = 7900

// Listener carries short messages between the processes sharing a
// PostgreSQL database, with LISTEN/NOTIFY on one channel. Every listener
// on the channel receives every payload, its own included.
type Listener struct {
	pool    *pgxpool.Pool
	dsn     string
	channel string
	logger  *slog.Logger
	c       chan string

	cancel    context.CancelFunc
	done      chan struct{}
	ready     chan struct{}
	readyOnce sync.Once
	closeOnce sync.Once
}

// ListenOptions configure Listen; the zero value is fine.
type ListenOptions struct {
	Logger *slog.Logger
	// Channel overrides the channel's name. By default it is derived from
	// the connection's schema, so installations (and tests) in different
	// schemas of one database do not hear each other.
	Channel string
	// Buffer is how many payloads may wait for the reader of
	// Notifications before the listening connection waits too (256 when
	// zero).
	Buffer int
}

// Listen connects to the store's PostgreSQL database and starts listening
// (ErrNotifyUnsupported on SQLite). Close stops it. Ready is closed once
// the first LISTEN is in place.
func (s *Store) Listen(ctx context.Context, opts ListenOptions) (*Listener, error) {
	if !s.d.replicas {
		return nil, ErrNotifyUnsupported
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg, err := pgxpool.ParseConfig(s.dsn)
	if err != nil {
		return nil, fmt.Errorf("store: listen: parse database URL: %w", err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: listen: connect: %w", classify(err))
	}
	channel := opts.Channel
	if channel == "" {
		var schema string
		if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			pool.Close()
			return nil, fmt.Errorf("store: listen: current schema: %w", classify(err))
		}
		h := fnv.New32a()
		h.Write([]byte(schema))
		channel = fmt.Sprintf("editwatch_events_%08x", h.Sum32())
	}
	buffer := opts.Buffer
	if buffer <= 0 {
		buffer = 256
	}
	listenCtx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		pool: pool, dsn: s.dsn, channel: channel, logger: logger, c: make(chan string, buffer),
		cancel: cancel, done: make(chan struct{}), ready: make(chan struct{}),
	}
	go l.listen(listenCtx)
	return l, nil
}

// Ready is closed once the listener listens, so payloads notified from
// then on reach Notifications.
func (l *Listener) Ready() <-chan struct{} { return l.ready }

// Notifications delivers the payloads notified on the channel, by every
// process, in order. It is closed by Close.
func (l *Listener) Notifications() <-chan string { return l.c }

// Notify sends payload to every listener of the channel.
func (l *Listener) Notify(ctx context.Context, payload string) error {
	if len(payload) > MaxNotifyPayload {
		return fmt.Errorf("store: notify: a payload of %d bytes is over NOTIFY's limit", len(payload))
	}
	if _, err := l.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, l.channel, payload); err != nil {
		return fmt.Errorf("store: notify: %w", classify(err))
	}
	return nil
}

// listen holds a connection in LISTEN and forwards notifications,
// reconnecting with backoff (1 s doubling to 30 s) when the connection
// drops. Payloads sent while it was down are lost: readers must treat a
// notification as a hint, with the tables as the truth.
func (l *Listener) listen(ctx context.Context) {
	defer close(l.done)
	delay := time.Second
	for ctx.Err() == nil {
		err := l.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		l.logger.Warn("store: LISTEN connection lost; reconnecting", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func (l *Listener) listenOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, l.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return err
	}
	l.readyOnce.Do(func() { close(l.ready) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		select {
		case l.c <- n.Payload:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops listening, closes the connections and then Notifications.
// It is safe to call more than once.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.cancel()
		<-l.done
		l.pool.Close()
		close(l.c)
	})
	return nil
}
