package store

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/editwatch/editwatch/store/storetest"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		dialect *dialect
		in      string
		want    string
	}{
		{sqliteDialect, "SELECT a FROM t WHERE b = ? AND c > ?", "SELECT a FROM t WHERE b = ? AND c > ?"},
		{postgresDialect, "SELECT a FROM t WHERE b = ? AND c > ?", "SELECT a FROM t WHERE b = $1 AND c > $2"},
		{postgresDialect, "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"},
		{postgresDialect, "SELECT 1", "SELECT 1"},
	}
	for _, tt := range tests {
		if got := tt.dialect.rebind(tt.in); got != tt.want {
			t.Errorf("%s rebind(%q) = %q, want %q", tt.dialect.name, tt.in, got, tt.want)
		}
	}
}

func TestOpenMigratePing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn)
		want := DialectSQLite
		if isPostgresDSN(dsn) {
			want = DialectPostgres
		}
		if s.Dialect() != want {
			t.Errorf("Dialect() = %q, want %q", s.Dialect(), want)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		// Migrating again, on the same or on a new handle, changes nothing.
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		again := openMigrated(t, dsn)
		current, latest, err := again.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if current != latest || latest < 3 {
			t.Fatalf("SchemaVersion = %d of %d, want all (at least 3) applied", current, latest)
		}
		var applied int
		if err := again.queryRow(ctx, `SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
			t.Fatal(err)
		}
		if want := migrationCount(t, again); applied != want {
			t.Fatalf("goose_db_version holds %d applied versions, want %d (each applied once)", applied, want)
		}
	})
}

func TestOpenSQLiteSetup(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "nested", "dir")
	path := filepath.Join(dir, "editwatch.db")
	s := openMigrated(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not created in a missing directory: %v", err)
	}
	pragmas := []struct {
		db    string
		query string
		want  string
	}{
		{"write", "PRAGMA journal_mode", "wal"},
		{"write", "PRAGMA foreign_keys", "1"},
		{"write", "PRAGMA busy_timeout", "5000"},
		{"read", "PRAGMA foreign_keys", "1"},
		{"read", "PRAGMA query_only", "1"},
		{"read", "PRAGMA busy_timeout", "5000"},
	}
	for _, p := range pragmas {
		db := s.write
		if p.db == "read" {
			db = s.read
		}
		var got string
		if err := db.QueryRowContext(ctx, p.query).Scan(&got); err != nil {
			t.Fatalf("%s: %v", p.query, err)
		}
		if got != p.want {
			t.Errorf("%s pool: %s = %q, want %q", p.db, p.query, got, p.want)
		}
	}
	if n := s.write.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
}

func TestOpenRejectsAmbiguousSQLitePath(t *testing.T) {
	for _, path := range []string{"", "data/x.db?mode=ro", "file:x.db", "x#y.db"} {
		if s, err := Open(context.Background(), path, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// Several replicas starting at once on one PostgreSQL database must all
// succeed, with every migration applied exactly once.
func TestConcurrentMigratePostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	const replicas = 4
	stores := make([]*Store, replicas)
	for i := range stores {
		s, err := Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	// goose creates its version table with retries a second apart, which
	// would stagger the replicas; with the table in place they all race
	// for the first migration, and only the lock keeps them apart.
	if current, _, err := stores[0].SchemaVersion(ctx); err != nil || current != 0 {
		t.Fatalf("SchemaVersion before migrating = %d, %v; want 0", current, err)
	}
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Migrate: %v", i, err)
		}
	}
	current, latest, err := stores[0].SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if current != latest {
		t.Fatalf("schema at %d, want %d", current, latest)
	}
	var rows, distinct int
	err = stores[0].queryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).
		Scan(&rows, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if want := migrationCount(t, stores[0]); rows != distinct || rows != want {
		t.Fatalf("goose_db_version: %d rows for %d versions, want %d each applied once", rows, distinct, want)
	}
}

// migrationCount is the number of embedded migrations of s's dialect.
// Versions are reserved per change, so a branch may lack one between
// others: the count, not the newest version, is how many apply.
func migrationCount(t *testing.T, s *Store) int {
	t.Helper()
	dir := "migrations/sqlite"
	if s.Dialect() == "postgres" {
		dir = "migrations/postgres"
	}
	files, err := fs.Glob(migrationFiles, dir+"/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}
