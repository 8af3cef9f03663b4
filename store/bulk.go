package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// bulkRows is how many runs one multi-row INSERT carries (27 parameters
// each, well under SQLite's 32,766).
const bulkRows = 400

// InsertSyntheticRuns writes new synthetic runs (editwatch seed) into a
// tenant's history in one transaction, with multi-row inserts and the
// rollups summed in memory and written once per hour and status. Every run
// must be new: a run ID already in the tenant fails the whole call, so
// nothing is ever counted twice. Callers pass a batch at a time (tens of
// thousands of runs) to keep transactions and memory bounded.
func (s *Store) InsertSyntheticRuns(ctx context.Context, tenant string, runs []RunSnapshot) error {
	if len(runs) == 0 {
		return nil
	}
	delta := newRollupDelta()
	for i := range runs {
		r := &runs[i]
		if r.RunID == "" || r.Status == "" {
			return errors.New("store: insert synthetic runs: a run without ID or status")
		}
		r.Tenant, r.Synthetic, r.SeenVia = tenant, true, orString(r.SeenVia, ViaSeed)
		r.CreatedAt, r.UpdatedAt, r.FinishedAt, r.DeletedAt = msTime(r.CreatedAt), msTime(r.UpdatedAt), msTime(r.FinishedAt), msTime(r.DeletedAt)
		if r.FirstSeenAt.IsZero() {
			r.FirstSeenAt = orTime(r.CreatedAt, s.now())
		}
		r.FirstSeenAt = msTime(r.FirstSeenAt)
		r.LastSeenAt = msTime(orTime(r.LastSeenAt, r.FirstSeenAt))
		r.At = orTime(r.CreatedAt, r.FirstSeenAt)
		delta.add(*r)
	}
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.ensureTenant(ctx, tx, tenant, false, true); err != nil {
			return err
		}
		for _, q := range s.d.bulkLoad {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		var nextID int64
		if s.d.assignsIDs {
			// IDs assigned here let the file names go into their index by
			// multi-row insert too.
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM run_snapshots`).Scan(&nextID); err != nil {
				return err
			}
		}
		for start := 0; start < len(runs); start += bulkRows {
			part := runs[start:min(start+bulkRows, len(runs))]
			if err := s.insertSnapshotRows(ctx, tx, part, nextID); err != nil {
				return err
			}
			if nextID > 0 {
				if err := s.d.names.indexNew(ctx, tx, part, nextID); err != nil {
					return err
				}
				nextID += int64(len(part))
			}
		}
		return s.applyRollupDelta(ctx, tx, tenant, delta)
	})
	if err != nil {
		return fmt.Errorf("store: insert synthetic runs into %s: %w", tenant, err)
	}
	s.noteTenant(tenant, false, true)
	return nil
}

func (s *Store) insertSnapshotRows(ctx context.Context, tx *sql.Tx, runs []RunSnapshot, firstID int64) error {
	cols, arity := snapshotInsertColumns, snapshotInsertArity
	if firstID > 0 {
		cols, arity = "id, "+cols, arity+1
	}
	row := "(" + placeholders(arity) + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO run_snapshots (" + cols + ") VALUES ")
	args := make([]any, 0, len(runs)*arity)
	for i, r := range runs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
		if firstID > 0 {
			args = append(args, firstID+int64(i))
		}
		args = append(args, snapshotArgs(r)...)
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(b.String()), args...); err != nil {
		return fmt.Errorf("insert runs: %w", err)
	}
	return nil
}
