package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/editwatch/editwatch/store"
)

// databaseRetryAfter is what a page tells the browser to wait before
// trying again when the database did not answer.
const databaseRetryAfter = 10 * time.Second

// storeUnavailable reports whether err means the database did not answer
// or refused the connection (it is down, restarting, locked, full), which
// the person can only wait out, rather than a bug. The store decides: it
// knows its drivers' errors.
func storeUnavailable(err error) bool { return errors.Is(err, store.ErrUnavailable) }

// errDatabaseUnavailable is the page for a request that could not read or
// write the database.
func errDatabaseUnavailable(err error) *PageError {
	return &PageError{Status: http.StatusServiceUnavailable, Heading: "Editwatch's database is not answering", Category: "database",
		Explanation: "Editwatch could not read or save what this page needs, because its database did not answer: it may be down, " +
			"restarting, full, or locked by another program such as a backup. Nothing was half-saved. Try again in a moment; " +
			"if it goes on, tell whoever runs Editwatch.",
		RetryAfter: databaseRetryAfter, Err: err}
}
