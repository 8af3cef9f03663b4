package handlers

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	_ "modernc.org/sqlite"
)

// sqliteBusyError is a real SQLITE_BUSY: a write while another connection
// holds the database, with no busy timeout.
func sqliteBusyError(t *testing.T) error {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
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

func TestStoreUnavailable(t *testing.T) {
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
		{"not found", errors.New("store: not found"), false},
		{"context canceled", context.Canceled, false},
	}
	for _, tt := range tests {
		if got := storeUnavailable(tt.err); got != tt.want {
			t.Errorf("%s: storeUnavailable = %v, want %v", tt.name, got, tt.want)
		}
	}
	pe := describeError(fmt.Errorf("load session: %w", busy), errRunContext{}, "Extend")
	if pe.Status != http.StatusServiceUnavailable || pe.Heading != "Editwatch's database is not answering" || pe.RetryAfter <= 0 {
		t.Errorf("page for a locked database: %+v", pe)
	}
}
