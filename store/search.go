package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidCursor reports a RunFilter.Cursor that ListRuns did not make.
var ErrInvalidCursor = errors.New("store: invalid runs cursor")

// Bounds of one ListRuns page.
const (
	DefaultRunLimit = 50
	MaxRunLimit     = 1000
)

// searchWindow is how many of the newest rows that pass the other filters
// a search scans before it turns to an index (see ListRuns).
var searchWindow = 2000

// RunFilter selects runs of one tenant's history; zero fields do not
// filter. Deleted runs never match.
type RunFilter struct {
	Tenant string // required
	Status string
	// FailureReason selects one reason; FailureReasonNone the failed runs
	// that gave none.
	FailureReason string
	From, To      time.Time // RunSnapshot.At in [From, To)
	Source        string
	// FileName is a case-insensitive substring of the file name.
	FileName string
	// RunIDPrefix is a prefix of the run ID (byte-wise).
	RunIDPrefix string
	Limit       int    // DefaultRunLimit when 0, at most MaxRunLimit
	Cursor      string // the NextCursor of the previous page
	// Sort is SortCreated (the zero value), SortProcessing, SortCredits
	// or SortFilled; Ascending reverses it (newest or largest first
	// otherwise).
	Sort      string
	Ascending bool
	// NotDismissed leaves out the runs dismissed from the stuck-runs list
	// (DismissRun).
	NotDismissed bool
}

// RunPage is one page of runs, newest first.
type RunPage struct {
	Runs []RunSnapshot
	// NextCursor continues with older runs; "" on the last page.
	NextCursor string
}

func encodeCursor(r RunSnapshot) string {
	return strconv.FormatInt(millis(r.At), 10) + "." + strconv.FormatInt(r.ID, 10)
}

func decodeCursor(c string) (at, id int64, err error) {
	a, b, ok := strings.Cut(c, ".")
	if !ok {
		return 0, 0, ErrInvalidCursor
	}
	at, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return 0, 0, ErrInvalidCursor
	}
	return at, id, nil
}

// nameSearch is how a dialect finds runs by a substring of their file
// name: SQLite's FTS5 trigram table beside run_snapshots
// (search_sqlite.go) or PostgreSQL's pg_trgm index on the column itself
// (search_postgres.go). Terms shorter than three characters have no
// trigram: they never reach probe or restrict.
type nameSearch interface {
	// migrate builds what the search needs once the schema is migrated.
	migrate(ctx context.Context, s *Store) error
	// indexed reports whether an index serves the search.
	indexed(ctx context.Context, s *Store) (bool, error)
	// probe selects rows of the term's matches straight from the index,
	// so that a LIMIT bounds the count; "" when the index cannot stop
	// early.
	probe(term string) (query string, args []any)
	// restrict is a condition on run_snapshots that makes the index drive
	// a query for the term, with the other filters hidden from the
	// planner; "" when the name condition itself reads the index.
	restrict(term string) (cond string, args []any)
	// reindex, indexNew and forget keep the index in step with the rows
	// of run_snapshots a transaction writes, bulk-loads (with IDs from
	// firstID) or deletes.
	reindex(ctx context.Context, s *Store, tx *sql.Tx, id int64, oldName, newName string) error
	indexNew(ctx context.Context, tx *sql.Tx, runs []RunSnapshot, firstID int64) error
	forget(ctx context.Context, tx *sql.Tx, ids []any) error
	// hotQueries are the statements reindex runs, prepared with the
	// store's other hot statements.
	hotQueries() []string
}

// SearchIndexed reports whether file-name search is served by an index
// (always on SQLite; on PostgreSQL when pg_trgm could be installed).
func (s *Store) SearchIndexed(ctx context.Context) (bool, error) {
	return s.d.names.indexed(ctx, s)
}

// hasTrigram reports whether a file-name term is long enough for a
// trigram index.
func hasTrigram(term string) bool { return utf8.RuneCountInString(term) >= 3 }

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// prefixUpperBound is the smallest string greater than every string that
// starts with p, if there is one.
func prefixUpperBound(p string) (string, bool) {
	r := []rune(p)
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] < utf8.MaxRune {
			r[i]++
			if r[i] >= 0xD800 && r[i] <= 0xDFFF { // skip surrogates, not valid in UTF-8
				r[i] = 0xE000
			}
			return string(r[:i+1]), true
		}
	}
	return "", false
}

// ListRuns returns a page of a tenant's runs, newest first (keyset
// pagination on At and ID, so a page costs the same deep in history).
//
// A search (FileName, RunIDPrefix) first probes its index (SQLite's FTS5
// trigram index or PostgreSQL's pg_trgm for file names, the run-ID index
// for prefixes) with a count that stops at a few thousand. A rare term is
// then answered from the index, reading only its matches; a common one by
// scanning the newest rows that pass the other filters, up to a window of
// that size, which a common term fills a page from. Either way the work is
// bounded by the window, not by history; only a term that is common
// overall yet absent from the newest window falls back to the index with
// all its matches. File-name terms shorter than three characters have no
// trigram and are searched by scanning.
func (s *Store) ListRuns(ctx context.Context, f RunFilter) (RunPage, error) {
	if f.Tenant == "" {
		return RunPage{}, errors.New("store: list runs: no tenant")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultRunLimit
	}
	limit = min(limit, MaxRunLimit)
	runs, err := s.listRuns(ctx, f, limit+1)
	if err != nil {
		return RunPage{}, fmt.Errorf("store: list runs: %w", err)
	}
	page := RunPage{Runs: runs}
	if len(runs) > limit {
		page.Runs = runs[:limit]
		page.NextCursor = encodeCursor(runs[limit-1])
		if !isDefaultSort(f) {
			page.NextCursor = encodeSortedCursor(f, runs[limit-1])
		}
	}
	return page, nil
}

func (s *Store) listRuns(ctx context.Context, f RunFilter, n int) ([]RunSnapshot, error) {
	if f.FileName == "" && f.RunIDPrefix == "" {
		return s.selectRuns(ctx, runQuery{filter: f, limit: n})
	}
	// A search whose term is rare goes straight to its index, reading
	// only the matches.
	rare, err := s.searchIsRare(ctx, f)
	if err != nil {
		return nil, err
	}
	if rare {
		return s.selectRuns(ctx, runQuery{filter: f, limit: n, byIndex: true})
	}
	// A common term: the newest rows of the window, filtered by the search,
	// fill the page.
	runs, err := s.selectRuns(ctx, runQuery{filter: f, limit: n, window: searchWindow})
	if err != nil || len(runs) >= n {
		return runs, err
	}
	q, args, err := s.runSQL(runQuery{filter: f, window: searchWindow, countWindow: true})
	if err != nil {
		return nil, err
	}
	var inWindow int
	if err := s.queryRow(ctx, q, args...).Scan(&inWindow); err != nil {
		return nil, err
	}
	if inWindow < searchWindow {
		return runs, nil // the window held every candidate
	}
	return s.selectRuns(ctx, runQuery{filter: f, limit: n, byIndex: true})
}

func (s *Store) selectRuns(ctx context.Context, rq runQuery) ([]RunSnapshot, error) {
	q, args, err := s.runSQL(rq)
	if err != nil {
		return nil, err
	}
	return s.scanRuns(ctx, q, args...)
}

// scanRuns runs a query of snapshotColumns and reads every run it returns.
func (s *Store) scanRuns(ctx context.Context, q string, args ...any) ([]RunSnapshot, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var runs []RunSnapshot
	for rows.Next() {
		r, err := scanSnapshot(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, closeRows(rows)
}

// RunsSeq yields every run that f selects, newest first, a page at a time
// (f.Limit is the page size): constant memory for exports of any size.
func (s *Store) RunsSeq(ctx context.Context, f RunFilter) iter.Seq2[RunSnapshot, error] {
	return func(yield func(RunSnapshot, error) bool) {
		if f.Limit <= 0 {
			f.Limit = 500
		}
		for {
			page, err := s.ListRuns(ctx, f)
			if err != nil {
				yield(RunSnapshot{}, err)
				return
			}
			for _, r := range page.Runs {
				if !yield(r, nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			f.Cursor = page.NextCursor
		}
	}
}

// FailureReasonNone is the RunFilter.FailureReason of runs that failed
// without a reason (Extend's reasons are upper-case words).
const FailureReasonNone = "-"

// CountMatching counts the runs f selects (its Limit and Cursor aside), up
// to limit, reading at most limit rows: exact reports whether n is the
// whole count; otherwise at least n runs match. A search term common
// enough to need a scan is counted among the newest limit rows that pass
// the other filters, so a rare term costs its matches and a common one at
// most limit rows, never all of history.
func (s *Store) CountMatching(ctx context.Context, f RunFilter, limit int) (n int64, exact bool, err error) {
	if f.Tenant == "" {
		return 0, false, errors.New("store: count runs: no tenant")
	}
	f.Cursor = ""
	q := runQuery{filter: f, countUpTo: limit + 1}
	searching := f.FileName != "" || f.RunIDPrefix != ""
	if searching {
		rare, err := s.searchIsRare(ctx, f)
		if err != nil {
			return 0, false, fmt.Errorf("store: count runs: %w", err)
		}
		if rare {
			q.byIndex = true
		} else {
			q.window = limit
		}
	}
	sqlText, args, err := s.runSQL(q)
	if err != nil {
		return 0, false, fmt.Errorf("store: count runs: %w", err)
	}
	if err := s.queryRow(ctx, sqlText, args...).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("store: count runs: %w", err)
	}
	if n > int64(limit) {
		return int64(limit), false, nil
	}
	if q.window > 0 {
		// The matches were counted among the newest limit rows: exact only
		// when those were all the rows.
		sqlText, args, err := s.runSQL(runQuery{filter: RunFilter{Tenant: f.Tenant, Status: f.Status, FailureReason: f.FailureReason,
			From: f.From, To: f.To, Source: f.Source}, countUpTo: limit + 1})
		if err != nil {
			return 0, false, fmt.Errorf("store: count runs: %w", err)
		}
		var rows int64
		if err := s.queryRow(ctx, sqlText, args...).Scan(&rows); err != nil {
			return 0, false, fmt.Errorf("store: count runs: %w", err)
		}
		return n, rows <= int64(limit), nil
	}
	return n, true, nil
}

// OldestRunAt is the time of the oldest run f's filters select (its
// search, Limit and Cursor aside); zero when none. Give it a narrow range:
// without an index on its filters it reads the range's runs.
func (s *Store) OldestRunAt(ctx context.Context, f RunFilter) (time.Time, error) {
	f.Cursor, f.FileName, f.RunIDPrefix = "", "", ""
	q, args, err := s.runSQL(runQuery{filter: f, oldest: true})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: oldest run: %w", err)
	}
	var at sql.NullInt64
	if err := s.queryRow(ctx, q, args...).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("store: oldest run: %w", err)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return fromMillis(at.Int64), nil
}

// RunCounts counts a tenant's runs by status over a range.
type RunCounts struct {
	ByStatus map[string]int64
	Total    int64
}

// CountRuns counts the runs of a tenant whose time (At) is in [from, to),
// by status (zero from/to: unbounded). The finished runs come from the
// rollups, exactly (see RangeTotal), and the runs still processing from
// the snapshots, so the cost does not grow with history.
func (s *Store) CountRuns(ctx context.Context, tenant string, from, to time.Time) (RunCounts, error) {
	lo, hi := int64(math.MinInt64/4), int64(math.MaxInt64/4)
	if !from.IsZero() {
		lo = millis(from)
	}
	if !to.IsZero() {
		hi = millis(to)
	}
	counts := RunCounts{ByStatus: map[string]int64{}}
	if hi <= lo {
		return counts, nil
	}
	fail := func(err error) (RunCounts, error) {
		return RunCounts{}, fmt.Errorf("store: count runs of %s: %w", tenant, err)
	}
	var finished Aggregate
	finished.init()
	if err := s.addRange(ctx, tenant, lo, hi, rangeLevels, &finished); err != nil {
		return fail(err)
	}
	counts.ByStatus[StatusProcessed] = finished.Runs[StatusProcessed]
	counts.ByStatus[StatusFailed] = finished.Runs[StatusFailed]
	var processing int64
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM run_snapshots
		WHERE tenant = ? AND status = ? AND at >= ? AND at < ? AND deleted_at IS NULL`,
		tenant, StatusProcessing, lo, hi).Scan(&processing); err != nil {
		return fail(err)
	}
	if processing > 0 {
		counts.ByStatus[StatusProcessing] = processing
	}
	for st, n := range counts.ByStatus {
		if n == 0 {
			delete(counts.ByStatus, st)
			continue
		}
		counts.Total += n
	}
	return counts, nil
}

// StuckFilter selects a tenant's stuck runs: still PROCESSING and older
// than threshold (see StuckThreshold) as of now.
func StuckFilter(tenant string, now time.Time, threshold time.Duration) RunFilter {
	return RunFilter{Tenant: tenant, Status: StatusProcessing, To: now.Add(-threshold), NotDismissed: true}
}
