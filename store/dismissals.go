package store

import (
	"context"
	"fmt"
)

// notDismissed is the runs-list condition of RunFilter.NotDismissed.
const notDismissed = `NOT EXISTS (SELECT 1 FROM run_dismissals d WHERE d.tenant = run_snapshots.tenant AND d.run_id = run_snapshots.run_id)`

// DismissRun takes run runID of tenant off the stuck-runs list (a person
// looked at it and decided it needs nothing more). The run stays in
// history; dismissing it twice is not an error.
func (s *Store) DismissRun(ctx context.Context, tenant, runID string) error {
	_, err := s.exec(ctx, `INSERT INTO run_dismissals (tenant, run_id, dismissed_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant, run_id) DO NOTHING`, tenant, runID, millis(s.now()))
	if err != nil {
		return fmt.Errorf("store: dismiss run %s: %w", runID, err)
	}
	return nil
}
