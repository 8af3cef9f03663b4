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
	Tenant        string // required
	Status        string
	FailureReason string
	From, To      time.Time // RunSnapshot.At in [From, To)
	Source        string
	// FileName is a case-insensitive substring of the file name.
	FileName string
	// RunIDPrefix is a prefix of the run ID (byte-wise).
	RunIDPrefix string
	Limit       int    // DefaultRunLimit when 0, at most MaxRunLimit
	Cursor      string // the NextCursor of the previous page
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

// runConditions renders the filters other than the two searches. With
// unindexed, SQLite is told not to use an index for them (a unary +), so
// it drives the query from the search index instead.
func (s *Store) runConditions(f RunFilter, unindexed bool) ([]string, []any, error) {
	col := func(name string) string {
		if unindexed && s.dialect == DialectSQLite {
			return "+" + name
		}
		return name
	}
	where := []string{col("tenant") + " = ?", "deleted_at IS NULL"}
	args := []any{f.Tenant}
	add := func(cond string, arg ...any) {
		where = append(where, cond)
		args = append(args, arg...)
	}
	if f.Status != "" {
		add(col("status")+" = ?", f.Status)
	}
	if f.FailureReason != "" {
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
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, nil, err
		}
		add("("+col("at")+" < ? OR ("+col("at")+" = ? AND id < ?))", at, at, id)
	}
	return where, args, nil
}

// searchConditions renders the file-name and run-ID searches.
func (s *Store) searchConditions(f RunFilter) ([]string, []any) {
	var (
		where []string
		args  []any
	)
	if f.FileName != "" {
		op := "LIKE"
		if s.dialect == DialectPostgres {
			op = "ILIKE"
		}
		where = append(where, "file_name "+op+` ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(f.FileName)+"%")
	}
	if f.RunIDPrefix != "" {
		where = append(where, "run_id >= ?")
		args = append(args, f.RunIDPrefix)
		if upper, ok := prefixUpperBound(f.RunIDPrefix); ok {
			where = append(where, "run_id < ?")
			args = append(args, upper)
		}
	}
	return where, args
}

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

const runOrder = ` ORDER BY at DESC, id DESC`

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
	}
	return page, nil
}

func (s *Store) listRuns(ctx context.Context, f RunFilter, n int) ([]RunSnapshot, error) {
	where, args, err := s.runConditions(f, false)
	if err != nil {
		return nil, err
	}
	search, searchArgs := s.searchConditions(f)
	if len(search) == 0 {
		return s.selectRuns(ctx, `SELECT `+snapshotColumns+` FROM run_snapshots WHERE `+strings.Join(where, " AND ")+runOrder+` LIMIT ?`,
			append(args, n)...)
	}
	// A search whose term is rare goes straight to its index, reading
	// only the matches.
	rare, err := s.searchIsRare(ctx, f)
	if err != nil {
		return nil, err
	}
	if rare {
		return s.searchIndexed(ctx, f, search, searchArgs, n)
	}
	// A common term: the newest rows of the window, filtered by the search,
	// fill the page.
	windowed := `SELECT ` + snapshotColumns + ` FROM (SELECT ` + snapshotColumns + ` FROM run_snapshots WHERE ` +
		strings.Join(where, " AND ") + runOrder + ` LIMIT ?) w WHERE ` + strings.Join(search, " AND ") + runOrder + ` LIMIT ?`
	wargs := append(append(append([]any{}, args...), searchWindow), searchArgs...)
	runs, err := s.selectRuns(ctx, windowed, append(wargs, n)...)
	if err != nil || len(runs) >= n {
		return runs, err
	}
	var inWindow int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM run_snapshots WHERE `+strings.Join(where, " AND ")+` LIMIT ?) w`,
		append(append([]any{}, args...), searchWindow)...).Scan(&inWindow); err != nil {
		return nil, err
	}
	if inWindow < searchWindow {
		return runs, nil // the window held every candidate
	}
	return s.searchIndexed(ctx, f, search, searchArgs, n)
}

// searchIsRare reports whether the search term matches fewer than
// searchWindow runs, asking its index with a bounded probe: a count that
// stops at the window size.
func (s *Store) searchIsRare(ctx context.Context, f RunFilter) (bool, error) {
	var (
		q    string
		args []any
	)
	switch {
	case f.RunIDPrefix != "":
		q = `SELECT 1 FROM run_snapshots WHERE tenant = ? AND run_id >= ?`
		if s.dialect == DialectSQLite {
			q = `SELECT 1 FROM run_snapshots INDEXED BY run_snapshots_run WHERE tenant = ? AND run_id >= ?`
		}
		args = []any{f.Tenant, f.RunIDPrefix}
		if upper, ok := prefixUpperBound(f.RunIDPrefix); ok {
			q += ` AND run_id < ?`
			args = append(args, upper)
		}
	case utf8.RuneCountInString(f.FileName) < 3:
		return false, nil
	case s.dialect == DialectSQLite:
		// Matches of every tenant: an upper bound of this tenant's. FTS5
		// reads its doclists lazily, so the LIMIT bounds the probe.
		q = `SELECT rowid FROM run_snapshot_names WHERE run_snapshot_names MATCH ?`
		args = []any{`"` + strings.ReplaceAll(f.FileName, `"`, `""`) + `"`}
	default:
		// A pg_trgm GIN index answers with a bitmap of every match before
		// any LIMIT applies, so a probe would cost as much as a common
		// term's matches: PostgreSQL goes to the window first.
		return false, nil
	}
	var matches int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM (`+q+` LIMIT ?) probe`, append(args, searchWindow)...).Scan(&matches); err != nil {
		return false, err
	}
	return matches < searchWindow, nil
}

// searchIndexed answers a search from an index: what it reads grows with
// the number of matches, not with history.
func (s *Store) searchIndexed(ctx context.Context, f RunFilter, search []string, searchArgs []any, n int) ([]RunSnapshot, error) {
	if s.dialect == DialectSQLite {
		if f.RunIDPrefix != "" {
			where, args, err := s.runConditions(f, false)
			if err != nil {
				return nil, err
			}
			q := `SELECT ` + snapshotColumns + ` FROM run_snapshots INDEXED BY run_snapshots_run WHERE ` +
				strings.Join(append(where, search...), " AND ") + runOrder + ` LIMIT ?`
			return s.selectRuns(ctx, q, append(append(args, searchArgs...), n)...)
		}
		if utf8.RuneCountInString(f.FileName) >= 3 {
			where, args, err := s.runConditions(f, true)
			if err != nil {
				return nil, err
			}
			q := `SELECT ` + snapshotColumns + ` FROM run_snapshots WHERE id IN
				(SELECT rowid FROM run_snapshot_names WHERE run_snapshot_names MATCH ?) AND ` +
				strings.Join(append(where, search...), " AND ") + runOrder + ` LIMIT ?`
			phrase := `"` + strings.ReplaceAll(f.FileName, `"`, `""`) + `"`
			return s.selectRuns(ctx, q, append(append(append([]any{phrase}, args...), searchArgs...), n)...)
		}
	}
	where, args, err := s.runConditions(f, false)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + snapshotColumns + ` FROM run_snapshots WHERE ` + strings.Join(append(where, search...), " AND ") + runOrder + ` LIMIT ?`
	return s.selectRuns(ctx, q, append(append(args, searchArgs...), n)...)
}

func (s *Store) selectRuns(ctx context.Context, q string, args ...any) ([]RunSnapshot, error) {
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

// RunCounts counts a tenant's runs by status over a range.
type RunCounts struct {
	ByStatus map[string]int64
	Total    int64
}

// CountRuns counts the runs of a tenant whose time (At) is in [from, to),
// by status (zero from/to: unbounded). The whole hours inside the range
// come from the rollups and only the partial hours at its edges, and the
// runs still processing, from the snapshots, so the cost does not grow
// with history.
func (s *Store) CountRuns(ctx context.Context, tenant string, from, to time.Time) (RunCounts, error) {
	lo, hi := int64(math.MinInt64/2), int64(math.MaxInt64/2)
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
	size := RollupBucket.Milliseconds()
	hourLo := lo + ((size-lo%size)%size+size)%size // ceil to the hour
	hourHi := hi - (hi%size+size)%size             // floor to the hour
	fail := func(err error) (RunCounts, error) {
		return RunCounts{}, fmt.Errorf("store: count runs of %s: %w", tenant, err)
	}
	countFinished := func(a, b int64) error {
		rows, err := s.query(ctx, `SELECT status, COUNT(*) FROM run_snapshots
			WHERE tenant = ? AND status IN (?, ?) AND at >= ? AND at < ? AND deleted_at IS NULL GROUP BY status`,
			tenant, StatusProcessed, StatusFailed, a, b)
		if err != nil {
			return err
		}
		for rows.Next() {
			var status string
			var n int64
			if err := rows.Scan(&status, &n); err != nil {
				rows.Close()
				return err
			}
			counts.ByStatus[status] += n
		}
		return closeRows(rows)
	}
	if hourLo >= hourHi {
		if err := countFinished(lo, hi); err != nil {
			return fail(err)
		}
	} else {
		if err := countFinished(lo, hourLo); err != nil {
			return fail(err)
		}
		if err := countFinished(hourHi, hi); err != nil {
			return fail(err)
		}
		var processed, failed sql.NullInt64
		if err := s.queryRow(ctx, `SELECT SUM(processed), SUM(failed) FROM run_rollups
			WHERE tenant = ? AND bucket >= ? AND bucket < ?`, tenant, hourLo, hourHi).Scan(&processed, &failed); err != nil {
			return fail(err)
		}
		counts.ByStatus[StatusProcessed] += processed.Int64
		counts.ByStatus[StatusFailed] += failed.Int64
	}
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
	return RunFilter{Tenant: tenant, Status: StatusProcessing, To: now.Add(-threshold)}
}
