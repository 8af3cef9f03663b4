package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// sqliteNameSearch finds file names through run_snapshot_names, an FTS5
// table with the trigram tokenizer whose rowid is the run's row ID. The
// store keeps it in step with run_snapshots itself: SQLite has no index
// type that serves a substring of a column.
type sqliteNameSearch struct{}

const (
	nameIndexInsert = `INSERT INTO run_snapshot_names (rowid, file_name) VALUES (?, ?)`
	nameIndexDelete = `DELETE FROM run_snapshot_names WHERE rowid = ?`
)

func (sqliteNameSearch) migrate(context.Context, *Store) error { return nil }

func (sqliteNameSearch) indexed(context.Context, *Store) (bool, error) { return true, nil }

// phrase is term as one FTS5 phrase: its trigrams, in order.
func (sqliteNameSearch) phrase(term string) string {
	return `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
}

// probe selects the matches of every tenant, an upper bound of one
// tenant's. FTS5 reads its doclists lazily, so a LIMIT bounds the probe.
func (n sqliteNameSearch) probe(term string) (string, []any) {
	return `SELECT rowid FROM run_snapshot_names WHERE run_snapshot_names MATCH ?`, []any{n.phrase(term)}
}

// restrict drives the query from the trigram table, then checks the other
// filters on the rows it names.
func (n sqliteNameSearch) restrict(term string) (string, []any) {
	return `id IN (SELECT rowid FROM run_snapshot_names WHERE run_snapshot_names MATCH ?)`, []any{n.phrase(term)}
}

func (sqliteNameSearch) reindex(ctx context.Context, s *Store, tx *sql.Tx, id int64, oldName, newName string) error {
	if oldName == newName {
		return nil
	}
	if oldName != "" {
		if _, err := s.txExec(ctx, tx, nameIndexDelete, id); err != nil {
			return fmt.Errorf("unindex file name: %w", err)
		}
	}
	if newName != "" {
		if _, err := s.txExec(ctx, tx, nameIndexInsert, id, newName); err != nil {
			return fmt.Errorf("index file name: %w", err)
		}
	}
	return nil
}

func (sqliteNameSearch) indexNew(ctx context.Context, tx *sql.Tx, runs []RunSnapshot, firstID int64) error {
	var b strings.Builder
	b.WriteString("INSERT INTO run_snapshot_names (rowid, file_name) VALUES ")
	args := make([]any, 0, 2*len(runs))
	for i, r := range runs {
		if r.FileName == "" {
			continue
		}
		if len(args) > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, firstID+int64(i), r.FileName)
	}
	if len(args) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("index file names: %w", err)
	}
	return nil
}

func (sqliteNameSearch) forget(ctx context.Context, tx *sql.Tx, ids []any) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM run_snapshot_names WHERE rowid IN (`+placeholders(len(ids))+`)`, ids...)
	return err
}

func (sqliteNameSearch) hotQueries() []string { return []string{nameIndexInsert, nameIndexDelete} }
