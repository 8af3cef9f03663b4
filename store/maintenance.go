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
	for _, q := range s.d.optimize {
		if _, err := s.write.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: optimize: %s: %w", q, err)
		}
	}
	return nil
}
