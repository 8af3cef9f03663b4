package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RecordRerun notes that run newRunID of tenant is a re-run of runID,
// made through Editwatch. Extend keeps no such link; this is the only
// record of it. Recording the same run twice keeps the first.
func (s *Store) RecordRerun(ctx context.Context, tenant, newRunID, runID string) error {
	_, err := s.exec(ctx, `INSERT INTO run_lineage (tenant, run_id, rerun_of, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant, run_id) DO NOTHING`, tenant, newRunID, runID, millis(s.now()))
	if err != nil {
		return fmt.Errorf("store: record re-run %s of %s: %w", newRunID, runID, err)
	}
	return nil
}

// Lineage is what Editwatch recorded of a run's re-runs.
type Lineage struct {
	// RerunOf is the run this one re-ran ("" when it was not re-run
	// through Editwatch).
	RerunOf string
	// RerunAs are the re-runs of this run made through Editwatch, oldest
	// first.
	RerunAs []string
}

// maxRerunsListed bounds RerunAs.
const maxRerunsListed = 20

// RunLineage reads the lineage of run runID of tenant.
func (s *Store) RunLineage(ctx context.Context, tenant, runID string) (Lineage, error) {
	var l Lineage
	err := s.queryRow(ctx, `SELECT rerun_of FROM run_lineage WHERE tenant = ? AND run_id = ?`, tenant, runID).Scan(&l.RerunOf)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("store: lineage of %s: %w", runID, err)
	}
	if l.RerunAs, err = s.queryStrings(ctx, `SELECT run_id FROM run_lineage WHERE tenant = ? AND rerun_of = ? ORDER BY created_at, run_id LIMIT ?`,
		tenant, runID, maxRerunsListed); err != nil {
		return l, fmt.Errorf("store: re-runs of %s: %w", runID, err)
	}
	return l, nil
}
