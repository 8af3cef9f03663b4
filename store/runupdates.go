package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// snapshotUpsertChunk bounds the rows of one multi-row update (27
// parameters each).
const snapshotUpsertChunk = 200

// snapshotUpsertSet rewrites every column of a conflicting row but its key.
var snapshotUpsertSet = func() string {
	var set []string
	for _, c := range strings.Split(snapshotInsertColumns, ",") {
		if c = strings.TrimSpace(c); c != "tenant" && c != "run_id" {
			set = append(set, c+" = excluded."+c)
		}
	}
	return strings.Join(set, ", ")
}()

// updateSnapshots writes runs locked in this transaction, several in one
// statement: an insert of rows that all exist, so each updates its own.
// A webhook batch updates a run per event, and a statement each would
// cost a round trip to PostgreSQL each.
func (s *Store) updateSnapshots(ctx context.Context, tx *sql.Tx, changes []RunChange) error {
	if len(changes) == 1 {
		return s.updateSnapshot(ctx, tx, changes[0].Before, changes[0].After)
	}
	for start := 0; start < len(changes); start += snapshotUpsertChunk {
		part := changes[start:min(start+snapshotUpsertChunk, len(changes))]
		args := make([]any, 0, len(part)*snapshotInsertArity)
		for _, c := range part {
			args = append(args, snapshotArgs(c.After)...)
		}
		q := `INSERT INTO run_snapshots (` + snapshotInsertColumns + `) VALUES ` + valueRows(len(part), snapshotInsertArity) +
			` ON CONFLICT (tenant, run_id) DO UPDATE SET ` + snapshotUpsertSet
		if _, err := tx.ExecContext(ctx, s.d.rebind(q), args...); err != nil {
			return fmt.Errorf("update %d runs: %w", len(part), err)
		}
		for _, c := range part {
			if err := s.d.names.reindex(ctx, s, tx, c.After.ID, c.Before.FileName, c.After.FileName); err != nil {
				return err
			}
		}
	}
	return nil
}

// valueRows is n rows of arity placeholders each, for a VALUES list.
func valueRows(n, arity int) string {
	row := "(" + placeholders(arity) + ")"
	return strings.Repeat(row+", ", n-1) + row
}
