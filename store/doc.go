// Package store keeps Editwatch's server-side state in SQLite (the embedded
// default, modernc.org/sqlite without cgo) or PostgreSQL (pgx): sessions, the
// Extend connections of a session with their API keys sealed at rest, the
// append-only audit log, a small settings table, and the run history:
// tenants, run snapshots with their trigram-indexed file names, hourly and
// daily rollups, webhook endpoints and deliveries (runs.go, rollups.go,
// search.go, webhooks.go).
//
// Queries are written by hand once, with "?" placeholders. What differs
// between the databases (placeholders, row locking, LIKE or ILIKE, planner
// hints, the file-name search strategy) is one dialect value chosen by
// Open (dialect.go); file-name search has a strategy per database behind
// the nameSearch interface (search_sqlite.go, search_postgres.go); the
// queries of the runs list are rendered whole by one function, runSQL
// (runquery.go). A database that does not answer is reported as
// ErrUnavailable (unavailable.go). Replicas sharing a PostgreSQL database
// hear each other through a Listener (LISTEN/NOTIFY, listen.go) and agree
// on which of them does a piece of work with a lease (lease.go); the
// store is the only package that imports the database drivers.
//
// Times are stored as Unix milliseconds (UTC) in both dialects so the
// same SQL compares and buckets them; the schema of each dialect lives in
// migrations/<dialect>/ and is applied by goose.
package store
