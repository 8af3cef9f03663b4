package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// What alert rules measure. Every query is bounded by the rule's window
// (or, for runs still processing, by their status) through the indexes on
// (tenant, at) and (tenant, status, at) of migration 4, so evaluating a
// rule costs the same with a thousand runs of history or ten million.

// AlertOutcomes counts the finished runs of a window.
type AlertOutcomes struct {
	Processed int64
	// Failed counts the failed runs by failure reason ("" when Extend
	// gave none).
	Failed map[string]int64
}

// FailedTotal is the number of failed runs, whatever the reason.
func (o AlertOutcomes) FailedTotal() int64 {
	var n int64
	for _, c := range o.Failed {
		n += c
	}
	return n
}

// AlertOutcomes counts the finished, not deleted runs of tenant created
// in [since, until).
func (s *Store) AlertOutcomes(ctx context.Context, tenant string, since, until time.Time) (AlertOutcomes, error) {
	out := AlertOutcomes{Failed: map[string]int64{}}
	rows, err := s.query(ctx, `SELECT status, failure_reason, COUNT(*) FROM run_snapshots
		WHERE tenant = ? AND status IN (?, ?) AND at >= ? AND at < ? AND deleted_at IS NULL
		GROUP BY status, failure_reason`, tenant, StatusProcessed, StatusFailed, millis(since), millis(until))
	if err != nil {
		return out, fmt.Errorf("store: alert outcomes of %s: %w", tenant, err)
	}
	defer rows.Close()
	for rows.Next() {
		var status, reason string
		var n int64
		if err := rows.Scan(&status, &reason, &n); err != nil {
			return out, fmt.Errorf("store: alert outcomes of %s: %w", tenant, err)
		}
		if status == StatusProcessed {
			out.Processed += n
		} else {
			out.Failed[reason] += n
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: alert outcomes of %s: %w", tenant, err)
	}
	return out, nil
}

// AlertStuckRuns counts tenant's runs still PROCESSING that were created
// before startedBefore, and returns up to limit of their IDs, oldest
// first.
func (s *Store) AlertStuckRuns(ctx context.Context, tenant string, startedBefore time.Time, limit int) (int64, []string, error) {
	var n int64
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM run_snapshots
		WHERE tenant = ? AND status = ? AND at < ? AND deleted_at IS NULL`, tenant, StatusProcessing, millis(startedBefore)).Scan(&n); err != nil {
		return 0, nil, fmt.Errorf("store: stuck runs of %s: %w", tenant, err)
	}
	if n == 0 {
		return 0, nil, nil
	}
	ids, err := s.queryStrings(ctx, `SELECT run_id FROM run_snapshots
		WHERE tenant = ? AND status = ? AND at < ? AND deleted_at IS NULL ORDER BY at, id LIMIT ?`,
		tenant, StatusProcessing, millis(startedBefore), limit)
	if err != nil {
		return 0, nil, fmt.Errorf("store: stuck runs of %s: %w", tenant, err)
	}
	return n, ids, nil
}

// AlertProcessingTimes returns the processing times (ms) of tenant's
// PROCESSED runs created in [since, until).
func (s *Store) AlertProcessingTimes(ctx context.Context, tenant string, since, until time.Time) ([]float64, error) {
	rows, err := s.query(ctx, `SELECT processing_ms FROM run_snapshots
		WHERE tenant = ? AND status = ? AND at >= ? AND at < ? AND deleted_at IS NULL AND processing_ms IS NOT NULL`,
		tenant, StatusProcessed, millis(since), millis(until))
	if err != nil {
		return nil, fmt.Errorf("store: processing times of %s: %w", tenant, err)
	}
	defer rows.Close()
	var out []float64
	for rows.Next() {
		var v float64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: processing times of %s: %w", tenant, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// AlertCredits sums the credits of tenant's runs created in [since, until).
func (s *Store) AlertCredits(ctx context.Context, tenant string, since, until time.Time) (float64, error) {
	var sum sql.NullFloat64
	if err := s.queryRow(ctx, `SELECT SUM(credits) FROM run_snapshots
		WHERE tenant = ? AND at >= ? AND at < ? AND deleted_at IS NULL`, tenant, millis(since), millis(until)).Scan(&sum); err != nil {
		return 0, fmt.Errorf("store: credits of %s: %w", tenant, err)
	}
	return sum.Float64, nil
}

// AlertLastRunAt is when tenant's newest run in history was created (or
// first seen); zero when it has none.
func (s *Store) AlertLastRunAt(ctx context.Context, tenant string) (time.Time, error) {
	var at sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MAX(at) FROM run_snapshots WHERE tenant = ?`, tenant).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("store: last run of %s: %w", tenant, err)
	}
	return nullTime(at), nil
}

// AlertExampleRuns returns up to limit IDs of tenant's runs created in
// [since, until), newest first, with the status given ("" for any) and
// the failure reason given ("" for any).
func (s *Store) AlertExampleRuns(ctx context.Context, tenant string, since, until time.Time, status, reason string, limit int) ([]string, error) {
	q := `SELECT run_id FROM run_snapshots WHERE tenant = ? AND at >= ? AND at < ? AND deleted_at IS NULL`
	args := []any{tenant, millis(since), millis(until)}
	if status != "" {
		q += ` AND status = ?`
		args = append(args, status)
	}
	if reason != "" {
		q += ` AND failure_reason = ?`
		args = append(args, reason)
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ?`
	ids, err := s.queryStrings(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: example runs of %s: %w", tenant, err)
	}
	return ids, nil
}
