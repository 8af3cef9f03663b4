package store

import (
	"context"
	"fmt"
	"time"
)

// ServiceKeyTenants lists the tenants that opted in to a service key: the
// only ones whose runs are reconciled with nobody logged in.
func (s *Store) ServiceKeyTenants(ctx context.Context) ([]string, error) {
	tenants, err := s.queryStrings(ctx, `SELECT tenant FROM tenants WHERE service_key_sealed IS NOT NULL ORDER BY tenant`)
	if err != nil {
		return nil, fmt.Errorf("store: tenants with a service key: %w", err)
	}
	return tenants, nil
}

// UnsettledRuns returns up to n runs of tenant still processing that
// nobody has seen since seenBefore (their webhook never came, or was
// lost) and that were created after createdAfter, least recently seen
// first. Synthetic runs and tombstones are never unsettled: Extend has
// nothing to say about them.
func (s *Store) UnsettledRuns(ctx context.Context, tenant string, seenBefore, createdAfter time.Time, n int) ([]RunSnapshot, error) {
	rows, err := s.query(ctx, `SELECT `+snapshotColumns+` FROM run_snapshots
		WHERE tenant = ? AND status = 'PROCESSING' AND synthetic = 0 AND deleted_at IS NULL
			AND last_seen_at < ? AND at >= ?
		ORDER BY last_seen_at, id LIMIT ?`, tenant, millis(seenBefore), millis(createdAfter), max(n, 1))
	if err != nil {
		return nil, fmt.Errorf("store: unsettled runs of %s: %w", tenant, err)
	}
	defer rows.Close()
	var runs []RunSnapshot
	for rows.Next() {
		r, err := scanSnapshot(rows)
		if err != nil {
			return nil, fmt.Errorf("store: unsettled runs of %s: %w", tenant, err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unsettled runs of %s: %w", tenant, err)
	}
	return runs, nil
}
