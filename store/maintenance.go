package store

import (
	"context"
	"fmt"
)

// Optimize refreshes the query planner's statistics (SQLite's PRAGMA
// optimize, PostgreSQL's ANALYZE of the history tables) and, on SQLite,
// folds the write-ahead log back into the database file. Run it after a
// bulk load (editwatch seed) and after retention purges: without
// statistics the planner can pick a poor index on a large history, and a
// long write-ahead log makes every page read look it up first.
func (s *Store) Optimize(ctx context.Context) error {
	var stmts []string
	if s.dialect == DialectSQLite {
		stmts = []string{`PRAGMA analysis_limit = 1000`, `PRAGMA optimize = 0x10002`, `PRAGMA wal_checkpoint(TRUNCATE)`}
	} else {
		stmts = []string{`ANALYZE run_snapshots, run_rollups, webhook_events`}
	}
	for _, q := range stmts {
		if _, err := s.write.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: optimize: %s: %w", q, err)
		}
	}
	return nil
}
