package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound reports a row that does not exist, has expired, or belongs
	// to another session.
	ErrNotFound = errors.New("store: not found")
	// ErrNoSealer reports a method that needs encryption on a Store opened
	// without WithSealer.
	ErrNoSealer = errors.New("store: no sealer configured (an encryption key is required)")
)

// sqliteBusyTimeout is how long a SQLite connection waits for a lock held
// by another process (e.g. `editwatch backup`) before giving up.
const sqliteBusyTimeout = 5 * time.Second

// Store is the database handle shared by the whole process. It is safe for
// concurrent use.
type Store struct {
	// d is what differs between SQLite and PostgreSQL (dialect.go).
	d *dialect
	// dsn is the PostgreSQL URL Listen opens its own connection with.
	dsn string
	// write takes every statement that changes data. On SQLite it holds a
	// single connection, so writers queue in Go instead of failing with
	// SQLITE_BUSY; on PostgreSQL it is the same pool as read.
	write *sql.DB
	read  *sql.DB

	logger *slog.Logger
	now    func() time.Time
	sealer *Sealer

	// hot holds statements of the ingest path prepared once (see
	// prepareHot), so a webhook does not pay SQL parsing a dozen times.
	hot hotStatements
	// tenantFlags remembers the history-source flags already stored per
	// tenant, so ingesting a page does not rewrite the tenant row.
	tenantFlags sync.Map
	// endpointTouched remembers, per webhook endpoint, the last delivery
	// time a webhook batch committed, so the next batches within the
	// second do not ask the database to record it again.
	endpointTouched sync.Map
	// minuteHorizon caches minutesSince (rollupranges.go).
	minuteHorizon atomic.Pointer[int64]
	// noMinuteRollups is set by tests that write to a schema older than
	// the minute rollups (migration 10), to check older migrations.
	noMinuteRollups bool
}

// Option configures Open.
type Option func(*Store)

// WithClock replaces time.Now, so tests control session expiry and
// timestamps.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithSealer sets the sealer that encrypts session values and API keys.
// Methods that need it return ErrNoSealer without one.
func WithSealer(sealer *Sealer) Option {
	return func(s *Store) { s.sealer = sealer }
}

// Open connects to dsn: a SQLite file path (its directory is created when
// missing) or a postgres:// or postgresql:// URL. It does not migrate; call
// Migrate.
func Open(ctx context.Context, dsn string, logger *slog.Logger, opts ...Option) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Store{logger: logger, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	var err error
	if isPostgresDSN(dsn) {
		err = s.openPostgres(ctx, dsn)
	} else {
		err = s.openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func (s *Store) openPostgres(ctx context.Context, dsn string) error {
	db, err := openClassified("pgx", dsn)
	if err != nil {
		return fmt.Errorf("store: open postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("store: connect to postgres: %w", err)
	}
	s.d, s.dsn = postgresDialect, dsn
	s.write, s.read = db, db
	return nil
}

func (s *Store) openSQLite(ctx context.Context, path string) error {
	if path == "" {
		return errors.New("store: empty database path")
	}
	// The driver cuts the file name at the first '?', so such a path would
	// silently open another file.
	if strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return fmt.Errorf("store: sqlite path %q must be a plain file path without '?' or '#'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("store: create database directory: %w", err)
		}
	}
	if err := s.privateSQLiteFiles(path); err != nil {
		return err
	}
	common := "?_pragma=busy_timeout(" + strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=mmap_size(268435456)&_pragma=cache_size(-16384)"
	// WAL lets readers run beside the single writer. journal_mode is
	// persistent, so the writer sets it before any reader opens. Webhook
	// bursts rewrite the same few pages (this hour's rollup, the index
	// tails) in every transaction; checkpointing every 10,000 frames
	// instead of SQLite's 1,000 copies each of them back a tenth as often
	// (the log may reach about 40 MiB between checkpoints).
	write, err := openClassified("sqlite", path+common+"&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(10000)&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	read, err := openClassified("sqlite", path+common+"&_query_only=1")
	if err != nil {
		write.Close()
		return fmt.Errorf("store: open sqlite %s for reading: %w", path, err)
	}
	readers := max(4, runtime.NumCPU())
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return fmt.Errorf("store: open sqlite %s for reading: %w", path, err)
	}
	s.d = sqliteDialect
	s.write, s.read = write, read
	return nil
}

// Dialect reports which database the Store talks to.
func (s *Store) Dialect() Dialect { return s.d.name }

// Now is the Store's clock, the one that decides session expiry.
func (s *Store) Now() time.Time { return s.now() }

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if s.read != s.write {
		if err := s.read.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping readers: %w", err)
		}
	}
	return nil
}

// Close releases the connection pools.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.write.ExecContext(ctx, s.d.rebind(query), args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.read.QueryContext(ctx, s.d.rebind(query), args...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.read.QueryRowContext(ctx, s.d.rebind(query), args...)
}

// inWriteTx runs fn in a transaction on the writer pool, committing when fn
// returns nil.
func (s *Store) inWriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// inWriteTxRetryingDeadlocks is inWriteTx for a transaction that may
// deadlock with another over the same rows taken in another order, and
// can simply run again: fn starts from nothing each time (it resets what
// it fills in) and PostgreSQL has rolled the loser back whole. The
// webhook paths take their locks in one order (see
// webhookEventTurnClass); this covers a writer outside them that does
// not.
func (s *Store) inWriteTxRetryingDeadlocks(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.inWriteTx(ctx, fn)
		if !isPgError(err, pgDeadlockDetected) || attempt == 3 {
			return err
		}
		s.logger.InfoContext(ctx, "store: a webhook transaction lost a deadlock; running it again", "attempt", attempt)
	}
}

// millis is how times are stored: Unix milliseconds, UTC.
func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
