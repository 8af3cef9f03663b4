package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
)

// hotStatements are the ingest path's statements, prepared on the writer
// pool once the schema is migrated. Inside a transaction they are bound to
// its connection with Tx.StmtContext, which reuses the preparation on
// SQLite's single writer connection (and prepares once per connection on
// PostgreSQL).
type hotStatements struct {
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// hotQueries are prepared by prepareHot, with the file-name search's own
// (nameSearch.hotQueries); any other query runs unprepared.
var hotQueries = [...]string{
	snapshotInsert,
	snapshotUpdate,
	minuteRollups.insertOne,
	minuteRollups.update,
	hourRollups.insertOne,
	hourRollups.update,
	dayRollups.insertOne,
	dayRollups.update,
	webhookEventInsert,
	webhookEndpointTouch,
	webhookEventMarkApplied,
	tenantUpsert,
}

// hotLockingReads are hot reads of rows about to be rewritten, prepared in
// their locking form (dialect.forUpdate), the one their callers run.
var hotLockingReads = [...]string{
	snapshotSelectOne,
	minuteRollups.selectOne,
	hourRollups.selectOne,
	dayRollups.selectOne,
}

// prepareHot prepares the hot statements of the store's dialect.
func (s *Store) prepareHot(ctx context.Context) error {
	s.hot.mu.Lock()
	defer s.hot.mu.Unlock()
	if s.hot.stmts == nil {
		s.hot.stmts = map[string]*sql.Stmt{}
	}
	queries := slices.Concat(hotQueries[:], s.d.names.hotQueries())
	if s.d.eventTurns {
		queries = append(queries, webhookEventInsertInTurn)
	}
	for _, q := range hotLockingReads {
		queries = append(queries, s.d.forUpdate(q))
	}
	for _, q := range queries {
		bound := s.d.rebind(q)
		if _, ok := s.hot.stmts[bound]; ok {
			continue
		}
		stmt, err := s.write.PrepareContext(ctx, bound)
		if err != nil {
			return fmt.Errorf("store: prepare: %w", err)
		}
		s.hot.stmts[bound] = stmt
	}
	return nil
}

func (s *Store) hotStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, string) {
	bound := s.d.rebind(query)
	s.hot.mu.RLock()
	stmt := s.hot.stmts[bound]
	s.hot.mu.RUnlock()
	if stmt == nil {
		return nil, bound
	}
	return tx.StmtContext(ctx, stmt), bound
}

// txExec runs query in tx, prepared when it is a hot one.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if stmt, _ := s.hotStmt(ctx, tx, query); stmt != nil {
		return stmt.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.d.rebind(query), args...)
}

// txQueryRow runs query in tx, prepared when it is a hot one.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if stmt, _ := s.hotStmt(ctx, tx, query); stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, s.d.rebind(query), args...)
}
