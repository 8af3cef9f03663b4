package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FieldReports counts, among tenant's finished runs placed in [since,
// until), those that reported both their schema's field count and their
// filled values: the runs a fill ratio is made of. Most runs reach history
// from Extend's list, which carries neither, so a fill chart must say how
// few it stands on. It reads at most limit runs, the newest: when the
// range holds more, exact is false and both counts are of those limit.
// The rollups carry no such count, so this bounded read keeps a page's
// cost flat in the size of history.
func (s *Store) FieldReports(ctx context.Context, tenant string, since, until time.Time, limit int) (reported, finished int64, exact bool, err error) {
	const newest = `FROM run_snapshots
		WHERE tenant = ? AND at >= ? AND at < ? AND deleted_at IS NULL AND status IN (?, ?)
		ORDER BY at DESC`
	args := []any{tenant, millis(since), millis(until), StatusProcessed, StatusFailed}
	err = s.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN field_count IS NOT NULL AND fields_filled IS NOT NULL THEN 1 ELSE 0 END), 0)
		FROM (SELECT field_count, fields_filled `+newest+` LIMIT ?) recent`, append(args, limit)...).Scan(&finished, &reported)
	if err != nil {
		return 0, 0, false, fmt.Errorf("store: field reports of %s: %w", tenant, err)
	}
	if finished < int64(limit) {
		return reported, finished, true, nil
	}
	var more int
	switch err := s.queryRow(ctx, `SELECT 1 `+newest+` LIMIT 1 OFFSET ?`, append(args, limit)...).Scan(&more); {
	case errors.Is(err, sql.ErrNoRows):
		return reported, finished, true, nil
	case err != nil:
		return 0, 0, false, fmt.Errorf("store: field reports of %s: %w", tenant, err)
	}
	return reported, finished, false, nil
}
