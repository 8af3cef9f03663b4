package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ApplyWebhookEventRuns applies the runs of a stored webhook event to
// tenant's history and marks the event applied with outcome(changes), in
// one transaction, unless the event is applied already: then it changes
// nothing and applied is false. Checking before the upsert (under a row
// lock on PostgreSQL; SQLite has one writer) is what keeps two appliers of
// one event (a redelivery racing the first delivery's apply, a retry after
// a database failure, a restart's sweep) from applying it twice: a second
// upsert would stamp the run as seen again and could undo a newer event of
// the same run.
func (s *Store) ApplyWebhookEventRuns(ctx context.Context, tenant string, obs []RunObservation, eventRowID int64,
	outcome func([]RunChange) string) (changes []RunChange, applied bool, err error) {
	if len(obs) == 0 {
		return nil, false, errors.New("store: apply webhook event: no runs")
	}
	batch, err := s.batchObservations(obs)
	if err != nil {
		return nil, false, fmt.Errorf("store: apply webhook event %d: %w", eventRowID, err)
	}
	lock := s.d.rebind(s.d.forUpdate(`SELECT applied_at FROM webhook_events WHERE id = ?`))
	err = s.inWriteTx(ctx, func(tx *sql.Tx) error {
		changes, applied = nil, false
		var appliedAt sql.NullInt64
		err := tx.QueryRowContext(ctx, lock, eventRowID).Scan(&appliedAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("webhook event %d: %w", eventRowID, ErrNotFound)
		case err != nil:
			return err
		case appliedAt.Valid:
			return nil
		}
		if changes, err = s.upsertInTx(ctx, tx, tenant, batch); err != nil {
			return err
		}
		if _, err := s.txExec(ctx, tx, webhookEventMarkApplied, millis(s.now()), outcome(changes), "", eventRowID); err != nil {
			return fmt.Errorf("mark webhook event %d applied: %w", eventRowID, err)
		}
		applied = true
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: apply webhook event %d to %s: %w", eventRowID, tenant, err)
	}
	if applied {
		s.noteTenant(tenant, batch.fromExtend, batch.synthetic)
	}
	return changes, applied, nil
}
