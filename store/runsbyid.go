package store

import (
	"context"
	"fmt"
)

// runsByIDChunk bounds the run IDs of one query of GetRuns.
const runsByIDChunk = 500

// GetRuns returns the snapshots history has of runIDs in a tenant, by run
// ID (tombstones too: check Deleted); a run history has not seen is
// missing from the map. One query per 500 IDs, for pages that show many
// runs' statuses at once (a bulk re-run's progress).
func (s *Store) GetRuns(ctx context.Context, tenant string, runIDs []string) (map[string]RunSnapshot, error) {
	out := make(map[string]RunSnapshot, len(runIDs))
	for start := 0; start < len(runIDs); start += runsByIDChunk {
		part := runIDs[start:min(start+runsByIDChunk, len(runIDs))]
		args := make([]any, 0, len(part)+1)
		args = append(args, tenant)
		for _, id := range part {
			args = append(args, id)
		}
		runs, err := s.scanRuns(ctx, `SELECT `+snapshotColumns+` FROM run_snapshots WHERE tenant = ? AND run_id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: runs by ID: %w", err)
		}
		for _, r := range runs {
			out[r.RunID] = r
		}
	}
	return out, nil
}
