package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// purgeChunk bounds one purge transaction, so retention never holds the
// (SQLite) writer for long.
const purgeChunk = 5000

// PurgeHistoryBefore deletes the runs placed (At) before the UTC day that
// holds cutoff, and the rollups of those whole days, in every tenant; it
// reports how many runs went. Cutting at a midnight keeps the hourly and
// daily rollups equal to the sum of the snapshots still there.
func (s *Store) PurgeHistoryBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	hour := floorMs(millis(cutoff), RollupDay.Milliseconds())
	tenants, err := s.historyTenants(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: purge history: %w", err)
	}
	var total int64
	for _, tenant := range tenants {
		for {
			n, err := s.purgeRunsChunk(ctx, tenant, hour)
			if err != nil {
				return total, fmt.Errorf("store: purge history of %s: %w", tenant, err)
			}
			total += n
			if n < purgeChunk {
				break
			}
		}
		err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
			for _, table := range []rollupTable{minuteRollups, hourRollups, dayRollups} {
				if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM `+table.name+` WHERE tenant = ? AND bucket < ?`), tenant, hour); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("store: purge rollups of %s: %w", tenant, err)
		}
	}
	return total, nil
}

func (s *Store) historyTenants(ctx context.Context) ([]string, error) {
	return s.queryStrings(ctx, `SELECT tenant FROM tenants ORDER BY tenant`)
}

// queryStrings runs a query of one text column and returns its values.
func (s *Store) queryStrings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var values []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		values = append(values, v)
	}
	return values, closeRows(rows)
}

func (s *Store) purgeRunsChunk(ctx context.Context, tenant string, before int64) (int64, error) {
	var n int64
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.d.rebind(`SELECT id FROM run_snapshots WHERE tenant = ? AND at < ? ORDER BY at LIMIT ?`),
			tenant, before, purgeChunk)
		if err != nil {
			return err
		}
		var ids []any
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		n = int64(len(ids))
		for start := 0; start < len(ids); start += 500 {
			part := ids[start:min(start+500, len(ids))]
			if err := s.d.names.forget(ctx, tx, part); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM run_snapshots WHERE id IN (`+placeholders(len(part))+`)`), part...); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// PurgeWebhookEventsBefore deletes deliveries received before t and
// reports how many.
func (s *Store) PurgeWebhookEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM webhook_events WHERE received_at < ?`, millis(t))
	if err != nil {
		return 0, fmt.Errorf("store: purge webhook events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge webhook events: %w", err)
	}
	return n, nil
}

// PurgeLineageBefore deletes the lineage of re-runs made before t (the
// "re-run of" links between runs, which history keeps no longer than the
// runs themselves) and reports how many links went.
func (s *Store) PurgeLineageBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.purgeBefore(ctx, "lineage", `DELETE FROM run_lineage WHERE created_at < ?`, t)
}

// PurgeDismissalsBefore deletes the stuck-run dismissals made before t and
// reports how many went.
func (s *Store) PurgeDismissalsBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.purgeBefore(ctx, "dismissals", `DELETE FROM run_dismissals WHERE dismissed_at < ?`, t)
}

// purgeBefore runs a DELETE of the rows older than t (Unix milliseconds)
// and reports how many went.
func (s *Store) purgeBefore(ctx context.Context, what, query string, t time.Time) (int64, error) {
	res, err := s.exec(ctx, query, millis(t))
	if err != nil {
		return 0, fmt.Errorf("store: purge %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge %s: %w", what, err)
	}
	return n, nil
}
