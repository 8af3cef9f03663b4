package store

import (
	"context"
	"slices"
	"strings"
)

// runQuery is one read of a tenant's runs in the filter's sort (newest
// first by default); runSQL renders it whole.
type runQuery struct {
	filter RunFilter
	limit  int
	// window > 0 looks for the search's matches only among the newest
	// window rows that pass the other filters.
	window int
	// countWindow counts the rows of the window instead (up to window).
	countWindow bool
	// byIndex reads the search's matches through its index: the run-ID
	// index for a prefix, the file-name index for a name.
	byIndex bool
	// oldest selects the smallest time of the rows that pass the filters
	// (no search).
	oldest bool
	// countUpTo counts the rows that pass the filters and the search,
	// stopping at countUpTo (with window > 0, among the window's rows).
	countUpTo int
}

// runSQL renders q: every query ListRuns runs has its shape here.
func (s *Store) runSQL(q runQuery) (string, []any, error) {
	f := q.filter
	order := orderSQL(f)
	table, hidden := "run_snapshots", false
	var where []string
	var args []any
	add := func(cond string, arg ...any) {
		where = append(where, cond)
		args = append(args, arg...)
	}
	if q.byIndex {
		switch {
		case f.RunIDPrefix != "":
			table = s.d.indexedBy("run_snapshots", "run_snapshots_run")
		case hasTrigram(f.FileName):
			if cond, condArgs := s.d.names.restrict(f.FileName); cond != "" {
				add(cond, condArgs...)
				hidden = true
			}
		}
	}

	// The filters other than the search. Hidden, they leave the choice
	// of index to the search (SQLite's unary +).
	col := func(name string) string {
		if hidden {
			return s.d.unindexed(name)
		}
		return name
	}
	add(col("tenant")+" = ?", f.Tenant)
	add("deleted_at IS NULL")
	if f.Status != "" {
		add(col("status")+" = ?", f.Status)
	}
	switch f.FailureReason {
	case "":
	case FailureReasonNone:
		add(col("failure_reason")+" = ?", "")
	default:
		add(col("failure_reason")+" = ?", f.FailureReason)
	}
	if !f.From.IsZero() {
		add(col("at")+" >= ?", millis(f.From))
	}
	if !f.To.IsZero() {
		add(col("at")+" < ?", millis(f.To))
	}
	if f.Source != "" {
		add("source = ?", f.Source)
	}
	if f.NotDismissed {
		add(notDismissed)
	}
	if f.Cursor != "" && !isDefaultSort(f) {
		cond, condArgs, err := sortedCursorCond(f, f.Cursor)
		if err != nil {
			return "", nil, err
		}
		add(cond, condArgs...)
	} else if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, err
		}
		add("("+col("at")+" < ? OR ("+col("at")+" = ? AND id < ?))", at, at, id)
	}
	filters, filterArgs := strings.Join(where, " AND "), args

	// The search.
	where, args = nil, nil
	if f.FileName != "" {
		add("file_name "+s.d.like+` ? ESCAPE '\'`, "%"+escapeLike(f.FileName)+"%")
	}
	if f.RunIDPrefix != "" {
		cond, bounds := runIDRange(f.RunIDPrefix)
		add(cond, bounds...)
	}
	search, searchArgs := strings.Join(where, " AND "), args

	switch {
	case q.oldest:
		return `SELECT MIN(at) FROM ` + table + ` WHERE ` + filters, filterArgs, nil
	case q.countUpTo > 0 && q.window > 0:
		inner := `SELECT file_name, run_id FROM run_snapshots WHERE ` + filters + order + ` LIMIT ?`
		cond := ""
		if search != "" {
			cond = ` WHERE ` + search
		}
		return `SELECT COUNT(*) FROM (SELECT 1 FROM (` + inner + `) w` + cond + ` LIMIT ?) c`,
			slices.Concat(filterArgs, []any{q.window}, searchArgs, []any{q.countUpTo}), nil
	case q.countUpTo > 0:
		cond := filters
		if search != "" {
			cond += ` AND ` + search
		}
		return `SELECT COUNT(*) FROM (SELECT 1 FROM ` + table + ` WHERE ` + cond + ` LIMIT ?) c`,
			slices.Concat(filterArgs, searchArgs, []any{q.countUpTo}), nil
	case q.countWindow:
		return `SELECT COUNT(*) FROM (SELECT 1 FROM run_snapshots WHERE ` + filters + ` LIMIT ?) w`,
			slices.Concat(filterArgs, []any{q.window}), nil
	case q.window > 0:
		return `SELECT ` + snapshotColumns + ` FROM (SELECT ` + snapshotColumns + ` FROM run_snapshots WHERE ` + filters + order + ` LIMIT ?) w` +
				` WHERE ` + search + order + ` LIMIT ?`,
			slices.Concat(filterArgs, []any{q.window}, searchArgs, []any{q.limit}), nil
	case search == "":
		return `SELECT ` + snapshotColumns + ` FROM ` + table + ` WHERE ` + filters + order + ` LIMIT ?`,
			slices.Concat(filterArgs, []any{q.limit}), nil
	default:
		return `SELECT ` + snapshotColumns + ` FROM ` + table + ` WHERE ` + filters + ` AND ` + search + order + ` LIMIT ?`,
			slices.Concat(filterArgs, searchArgs, []any{q.limit}), nil
	}
}

// runIDRange is the index range of run IDs starting with prefix.
func runIDRange(prefix string) (cond string, args []any) {
	if upper, ok := prefixUpperBound(prefix); ok {
		return "run_id >= ? AND run_id < ?", []any{prefix, upper}
	}
	return "run_id >= ?", []any{prefix}
}

// searchIsRare reports whether the search term matches fewer than
// searchWindow runs, asking its index with a bounded probe: a count that
// stops at the window size.
func (s *Store) searchIsRare(ctx context.Context, f RunFilter) (bool, error) {
	var (
		probe string
		args  []any
	)
	switch {
	case f.RunIDPrefix != "":
		cond, bounds := runIDRange(f.RunIDPrefix)
		probe = `SELECT 1 FROM ` + s.d.indexedBy("run_snapshots", "run_snapshots_run") + ` WHERE tenant = ? AND ` + cond
		args = append([]any{f.Tenant}, bounds...)
	case hasTrigram(f.FileName):
		if probe, args = s.d.names.probe(f.FileName); probe == "" {
			return false, nil
		}
	default:
		return false, nil
	}
	var matches int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM (`+probe+` LIMIT ?) probe`, append(args, searchWindow)...).Scan(&matches); err != nil {
		return false, err
	}
	return matches < searchWindow, nil
}
