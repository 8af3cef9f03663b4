package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// sqliteBusyError is a real SQLITE_BUSY, through the store's classifying
// driver: a write while another connection holds the database, with no
// busy timeout.
func sqliteBusyError(t *testing.T) error {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	db, err := openClassified("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	if _, err := holder.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec("INSERT INTO t VALUES (1)")
	if err == nil {
		t.Fatal("a write went through an exclusive lock")
	}
	return err
}

func TestIsUnavailable(t *testing.T) {
	busy := sqliteBusyError(t)
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"sqlite busy", fmt.Errorf("store: create session: %w", busy), true},
		{"postgres terminated", fmt.Errorf("load session: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"postgres too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"postgres connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"postgres refused connection", &pgconn.ConnectError{}, true},
		{"dead pool connection", fmt.Errorf("store: %w", driver.ErrBadConn), true},
		{"postgres unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"not found", ErrNotFound, false},
		{"context canceled", context.Canceled, false},
	}
	for _, tt := range tests {
		if got := isUnavailable(tt.err); got != tt.want {
			t.Errorf("%s: isUnavailable = %v, want %v", tt.name, got, tt.want)
		}
		classified := classify(tt.err)
		if got := errors.Is(classified, ErrUnavailable); got != tt.want {
			t.Errorf("%s: errors.Is(classify(err), ErrUnavailable) = %v, want %v", tt.name, got, tt.want)
		}
		if !errors.Is(classified, tt.err) {
			t.Errorf("%s: classify lost the cause: %#v", tt.name, classified)
		}
	}
	if got, want := classify(busy).Error(), busy.Error(); got != want {
		t.Errorf("classify changed the message: %q, want %q", got, want)
	}
	// The busy error came through the store's driver: it is marked already.
	if !errors.Is(busy, ErrUnavailable) {
		t.Errorf("SQLITE_BUSY from the store's driver is not ErrUnavailable: %v", busy)
	}
}

// A store whose database refuses connections says so with ErrUnavailable,
// from Open onwards.
func TestOpenUnavailablePostgres(t *testing.T) {
	// Port 1 on the loopback interface: nothing listens, the refusal is
	// immediate.
	_, err := Open(context.Background(), "postgres://editwatch@127.0.0.1:1/editwatch?sslmode=disable&connect_timeout=5", nil)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open of a database that refuses connections: %v, want ErrUnavailable", err)
	}
}

// Errors of queries that are wrong are not ErrUnavailable.
func TestQueryMistakeIsNotUnavailable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		s := openMigrated(t, dsn)
		_, err := s.exec(context.Background(), `INSERT INTO no_such_table VALUES (1)`)
		if err == nil || errors.Is(err, ErrUnavailable) {
			t.Fatalf("a query on a missing table: %v, want an error that is not ErrUnavailable", err)
		}
	})
}
