// Package storetest gives tests a fresh, isolated database for each
// backend Editwatch supports: a SQLite file in a temporary directory
// always, and a new schema of the PostgreSQL database named by
// EDITWATCH_TEST_POSTGRES when that variable is set. It also holds a
// controllable clock.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// PostgresEnv names the variable holding the PostgreSQL URL tests use,
// e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "EDITWATCH_TEST_POSTGRES"

// Backend is a database kind tests run against.
type Backend struct {
	Name string
	// NewDSN returns the DSN of an empty database private to t, removed
	// when t ends. It skips t when the backend is not available.
	NewDSN func(t testing.TB) string
}

// Backends lists SQLite and PostgreSQL; run each as a subtest, so the
// PostgreSQL one reports a skip when EDITWATCH_TEST_POSTGRES is unset.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", NewDSN: SQLiteDSN},
		{Name: "postgres", NewDSN: PostgresDSN},
	}
}

// SQLiteDSN returns the path of a database file in a fresh temporary
// directory (the file itself does not exist yet).
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "data", "editwatch.db")
}

// PostgresDSN creates a schema named ew_test_<random> in the database of
// EDITWATCH_TEST_POSTGRES and returns that URL with search_path set to
// it; the schema is dropped, with everything in it, when t ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a database URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	schema := "ew_test_" + hex.EncodeToString(suffix)

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", PostgresEnv, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Clock is a manual clock for code that takes a func() time.Time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
