// Package store keeps Editwatch's server-side state in SQLite (the embedded
// default, modernc.org/sqlite without cgo) or PostgreSQL (pgx): sessions, the
// Extend connections of a session with their API keys sealed at rest, the
// append-only audit log, a small settings table, and the run history:
// tenants, run snapshots with their trigram-indexed file names, hourly and
// daily rollups, webhook endpoints and deliveries (runs.go, rollups.go,
// search.go, webhooks.go).
//
// Queries are written by hand once, with "?" placeholders, and rebound to
// "$n" on PostgreSQL. Times are stored as Unix milliseconds (UTC) in both
// dialects so the same SQL compares and buckets them; the schema of each
// dialect lives in migrations/<dialect>/ and is applied by goose.
package store
