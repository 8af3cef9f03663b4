package store

import (
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// The dialects a Store speaks.
const (
	DialectSQLite   Dialect = "sqlite"
	DialectPostgres Dialect = "postgres"
)

// dialect is everything that differs between the databases a Store
// speaks, chosen once by Open. The rest of the package writes each query
// once, with "?" placeholders, and asks this value for the differing
// pieces instead of testing which database it talks to.
type dialect struct {
	name Dialect
	// numbered: placeholders are PostgreSQL's $1, $2… rather than "?".
	numbered bool
	// lockRows: transactions write concurrently, so a row read to be
	// rewritten is locked (FOR UPDATE). SQLite has one writer connection,
	// which holds the whole database for its transaction.
	lockRows bool
	// replicas: several processes share the database, so work only one
	// of them may do takes a lease (TryLease) and they hear each other
	// through LISTEN/NOTIFY (Listen). One process owns a SQLite file.
	replicas bool
	// plannerHints: the query planner takes hints in the SQL (SQLite's
	// INDEXED BY and unary +), which the search queries use to pick the
	// index that bounds their work.
	plannerHints bool
	// like is the case-insensitive LIKE operator: SQLite's LIKE folds
	// ASCII case already; PostgreSQL's needs ILIKE.
	like string
	// assignsIDs: one writer, so a bulk load may number its rows itself
	// (and index their names in the same multi-row statements).
	assignsIDs bool
	// bulkLoad runs at the start of a bulk-load transaction.
	bulkLoad []string
	// optimize refreshes the planner's statistics (Optimize).
	optimize []string
	goose    goose.Dialect
	// names finds runs by a substring of their file name.
	names nameSearch
	// deliveries writes a batch of webhook deliveries in one transaction.
	deliveries deliveryWriter
	// eventTurns: concurrent deliveries of one webhook event take turns
	// by an advisory lock (webhookEventTurnClass). SQLite's one writer
	// takes turns already.
	eventTurns bool
}

var (
	sqliteDialect = &dialect{
		name: DialectSQLite, plannerHints: true, like: "LIKE", assignsIDs: true,
		// Inserting at random places of the run-ID index wants its pages
		// in memory; SQLite's default cache is 2 MB.
		bulkLoad:   []string{`PRAGMA cache_size = -262144`},
		optimize:   []string{`PRAGMA analysis_limit = 1000`, `PRAGMA optimize = 0x10002`, `PRAGMA wal_checkpoint(TRUNCATE)`},
		goose:      goose.DialectSQLite3,
		names:      sqliteNameSearch{},
		deliveries: txDeliveryWriter{},
	}
	postgresDialect = &dialect{
		name: DialectPostgres, numbered: true, lockRows: true, replicas: true, like: "ILIKE",
		optimize:   []string{`ANALYZE run_snapshots, run_rollups_minute, run_rollups, run_rollups_daily, webhook_events`},
		goose:      goose.DialectPostgres,
		names:      postgresNameSearch{},
		deliveries: pipelinedDeliveryWriter{},
		eventTurns: true,
	}
)

// rebind turns the "?" placeholders of a query into PostgreSQL's "$n". The
// queries of this package never hold a literal '?'.
func (d *dialect) rebind(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// forUpdate is query, a SELECT, locking the rows it reads until the
// transaction ends where writers run concurrently.
func (d *dialect) forUpdate(query string) string {
	if d.lockRows {
		return query + ` FOR UPDATE`
	}
	return query
}

// indexedBy tells the planner which index to read table through, where
// the planner takes hints.
func (d *dialect) indexedBy(table, index string) string {
	if d.plannerHints {
		return table + ` INDEXED BY ` + index
	}
	return table
}

// unindexed keeps the planner from serving a condition on column from an
// index (SQLite's unary +), so it drives the query from another one.
func (d *dialect) unindexed(column string) string {
	if d.plannerHints {
		return "+" + column
	}
	return column
}
