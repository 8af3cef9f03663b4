package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// rangeLevels are the rollup tables an exact range reads, coarsest first;
// what no whole bucket of the finest covers comes from run_snapshots.
var rangeLevels = []rollupTable{dayRollups, hourRollups, minuteRollups}

// RangeTotal sums a tenant's finished runs whose time (At) is in
// [from, to), exactly: the whole days, hours and minutes inside the range
// from their rollups and only the seconds at its two edges from the
// snapshots, so it agrees with the runs list of the same range and costs
// a few dozen rows at most, however long the history.
func (s *Store) RangeTotal(ctx context.Context, tenant string, from, to time.Time) (Aggregate, error) {
	var total Aggregate
	total.init()
	if err := s.addRange(ctx, tenant, millis(from), millis(to), rangeLevels, &total); err != nil {
		return Aggregate{}, fmt.Errorf("store: range total of %s: %w", tenant, err)
	}
	return total, nil
}

// addRange adds the finished runs of [lo, hi) to a: the whole buckets of
// levels[0] inside the range from its table, the rest, at both edges,
// from the finer levels (and last from the snapshots).
func (s *Store) addRange(ctx context.Context, tenant string, lo, hi int64, levels []rollupTable, a *Aggregate) error {
	if hi <= lo {
		return nil
	}
	if len(levels) == 0 {
		return s.addSnapshots(ctx, tenant, lo, hi, a)
	}
	table := levels[0]
	inLo, inHi := ceilMs(lo, table.size), floorMs(hi, table.size)
	if inLo >= inHi {
		return s.addRange(ctx, tenant, lo, hi, levels[1:], a)
	}
	if table.name == minuteRollups.name {
		since, err := s.minutesSince(ctx)
		if err != nil {
			return err
		}
		if inLo < since {
			// Minute rows of runs stored before they existed are missing:
			// an edge this old (at most an hour) is counted run by run.
			return s.addSnapshots(ctx, tenant, lo, hi, a)
		}
	}
	if err := s.addRollupRows(ctx, tenant, table, inLo, inHi, func(int64) *Aggregate { return a }); err != nil {
		return err
	}
	if err := s.addRange(ctx, tenant, lo, inLo, levels[1:], a); err != nil {
		return err
	}
	return s.addRange(ctx, tenant, inHi, hi, levels[1:], a)
}

// addRollupRows adds the rows of table with bucket in [lo, hi) to the
// aggregate into picks for each.
func (s *Store) addRollupRows(ctx context.Context, tenant string, table rollupTable, lo, hi int64, into func(bucket int64) *Aggregate) error {
	rows, err := s.query(ctx, `SELECT `+rollupColumns+` FROM `+table.name+` WHERE tenant = ? AND bucket >= ? AND bucket < ?`,
		tenant, lo, hi)
	if err != nil {
		return err
	}
	for rows.Next() {
		var rec rollupRecord
		if err := rec.scan(rows); err != nil {
			rows.Close()
			return err
		}
		if err := rec.addTo(into(rec.bucket)); err != nil {
			rows.Close()
			return err
		}
	}
	return closeRows(rows)
}

// addSnapshots adds the finished runs of [lo, hi) to a, read one by one:
// only ever for less than a minute, or an hour older than the minute
// rollups.
func (s *Store) addSnapshots(ctx context.Context, tenant string, lo, hi int64, a *Aggregate) error {
	runs, err := s.scanRuns(ctx, `SELECT `+snapshotColumns+` FROM run_snapshots
		WHERE tenant = ? AND status IN (?, ?) AND at >= ? AND at < ? AND deleted_at IS NULL`,
		tenant, StatusProcessed, StatusFailed, lo, hi)
	if err != nil {
		return err
	}
	for _, r := range runs {
		a.addRun(r, 1)
	}
	return nil
}

// minutesSince is the first instant whose minute rollups are complete
// (set by the migration that made them); it never changes afterwards.
func (s *Store) minutesSince(ctx context.Context) (int64, error) {
	if v := s.minuteHorizon.Load(); v != nil {
		return *v, nil
	}
	var since int64
	err := s.queryRow(ctx, `SELECT since FROM rollup_minutes_since`).Scan(&since)
	if errors.Is(err, sql.ErrNoRows) {
		since = 0
	} else if err != nil {
		return 0, err
	}
	s.minuteHorizon.Store(&since)
	return since, nil
}

// FailureReasonsSeen lists the failure reasons of a tenant's history,
// sorted, "" (none given) included when some run gave none: read from the
// daily rollups, a row per day of history.
func (s *Store) FailureReasonsSeen(ctx context.Context, tenant string) ([]string, error) {
	var all Aggregate
	all.init()
	lo, hi := int64(math.MinInt64/4), int64(math.MaxInt64/4)
	if err := s.addRollupRows(ctx, tenant, dayRollups, lo, hi, func(int64) *Aggregate { return &all }); err != nil {
		return nil, fmt.Errorf("store: failure reasons of %s: %w", tenant, err)
	}
	reasons := make([]string, 0, len(all.Failures))
	for reason, n := range all.Failures {
		if n > 0 {
			reasons = append(reasons, reason)
		}
	}
	slices.Sort(reasons)
	return reasons, nil
}
