package handlers

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// databaseRetryAfter is what a page tells the browser to wait before
// trying again when the database did not answer.
const databaseRetryAfter = 10 * time.Second

// SQLite primary result codes that mean the database could not be used
// right now (locked by another program, unreadable, full), as opposed to a
// mistake in a query.
var sqliteUnavailableCodes = map[int]bool{
	5:  true, // SQLITE_BUSY: another connection (a backup?) holds the lock past the busy timeout
	6:  true, // SQLITE_LOCKED
	8:  true, // SQLITE_READONLY: the file or its directory turned read-only
	10: true, // SQLITE_IOERR
	13: true, // SQLITE_FULL: the disk is full
	14: true, // SQLITE_CANTOPEN
	15: true, // SQLITE_PROTOCOL
}

// storeUnavailable reports whether err means the database did not answer
// or refused the connection (it is down, restarting, locked, full), which
// the person can only wait out, rather than a bug.
func storeUnavailable(err error) bool {
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		return sqliteUnavailableCodes[sqliteErr.Code()&0xff]
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 53: insufficient resources (too many
		// connections, disk full); 57: operator intervention (shutdown,
		// terminated, cannot connect now); 58: system error (I/O).
		for _, class := range []string{"08", "53", "57", "58"} {
			if strings.HasPrefix(pgErr.Code, class) {
				return true
			}
		}
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	// Failed before anything reached PostgreSQL (dial, TLS, a dead pool
	// connection).
	return pgconn.SafeToRetry(err)
}

// errDatabaseUnavailable is the page for a request that could not read or
// write the database.
func errDatabaseUnavailable(err error) *PageError {
	return &PageError{Status: http.StatusServiceUnavailable, Heading: "Editwatch's database is not answering", Category: "database",
		Explanation: "Editwatch could not read or save what this page needs, because its database did not answer: it may be down, " +
			"restarting, full, or locked by another program such as a backup. Nothing was half-saved. Try again in a moment; " +
			"if it goes on, tell whoever runs Editwatch.",
		RetryAfter: databaseRetryAfter, Err: err}
}
