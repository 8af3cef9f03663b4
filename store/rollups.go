package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// RollupBucket is the granularity of the rollup table: one row per tenant
// and hour. Series steps are whole multiples of it.
const RollupBucket = time.Hour

// Timing metrics kept as histograms (indexes of Aggregate.Timings).
const (
	MetricProcessing = iota
	MetricDetection
	MetricAnnotation
	MetricFilling
	metricCount
)

// RollupMinute is the granularity of the finest rollup table, which ranges
// that do not start or end on a whole hour read at their edges.
const RollupMinute = time.Minute

// RollupDay is the granularity of the daily rollup table (UTC days).
const RollupDay = 24 * time.Hour

func bucketOf(t time.Time) int64 { return floorMs(millis(t), RollupBucket.Milliseconds()) }

func floorMs(ms, size int64) int64 { return ms - ((ms%size)+size)%size }

func ceilMs(ms, size int64) int64 {
	f := floorMs(ms, size)
	if f == ms {
		return ms
	}
	return f + size
}

// Aggregate sums the finished runs of a span of time.
type Aggregate struct {
	// Runs counts finished runs by status (PROCESSED, FAILED).
	Runs map[string]int64
	// Failures counts failed runs by failure reason ("" when none given).
	Failures map[string]int64
	Credits  float64
	Pages    int64
	// FieldsFilled of FieldsTotal fields in the schema, over the
	// FieldReports runs that reported both. Most runs reach history from
	// Extend's list, which carries neither, so a fill ratio says how many
	// runs it stands on.
	FieldsFilled int64
	FieldsTotal  int64
	FieldReports int64
	// Timings of the processed runs, in ms, indexed by Metric*; nil when
	// none was reported.
	Timings [metricCount]Histogram
}

// Finished is how many runs finished in the span.
func (a Aggregate) Finished() int64 { return a.Runs[StatusProcessed] + a.Runs[StatusFailed] }

// SuccessRate is the share of finished runs that were processed (0 when
// none finished).
func (a Aggregate) SuccessRate() float64 {
	if a.Finished() == 0 {
		return 0
	}
	return float64(a.Runs[StatusProcessed]) / float64(a.Finished())
}

// FillRatio is FieldsFilled / FieldsTotal (0 when unknown).
func (a Aggregate) FillRatio() float64 {
	if a.FieldsTotal == 0 {
		return 0
	}
	return float64(a.FieldsFilled) / float64(a.FieldsTotal)
}

// Processing is the processing-time histogram (Timings[MetricProcessing]).
func (a Aggregate) Processing() Histogram { return a.Timings[MetricProcessing] }

// addRun adds sign times a run's contribution: only finished, live runs
// count; timings only for processed ones.
func (a *Aggregate) addRun(r RunSnapshot, sign int64) {
	if !IsFinished(r.Status) || r.Deleted() {
		return
	}
	a.init()
	a.Runs[r.Status] += sign
	if r.Status == StatusFailed {
		a.Failures[r.FailureReason] += sign
	}
	if r.PageCount != nil {
		a.Pages += sign * *r.PageCount
	}
	if r.FieldsFilled != nil && r.FieldCount != nil {
		a.FieldsFilled += sign * *r.FieldsFilled
		a.FieldsTotal += sign * *r.FieldCount
		a.FieldReports += sign
	}
	if r.Credits != nil {
		a.Credits += float64(sign) * *r.Credits
	}
	if r.Status != StatusProcessed {
		return
	}
	for metric, ms := range [metricCount]*float64{r.ProcessingMs, r.DetectionMs, r.AnnotationMs, r.FillingMs} {
		if ms != nil {
			if a.Timings[metric] == nil {
				a.Timings[metric] = make(Histogram, HistogramBins)
			}
			a.Timings[metric][HistogramBin(*ms)] += sign
		}
	}
}

func (a *Aggregate) init() {
	if a.Runs == nil {
		a.Runs = map[string]int64{}
	}
	if a.Failures == nil {
		a.Failures = map[string]int64{}
	}
}

// merge adds b to a.
func (a *Aggregate) merge(b Aggregate) {
	a.init()
	for k, v := range b.Runs {
		a.Runs[k] += v
	}
	for k, v := range b.Failures {
		a.Failures[k] += v
	}
	a.Credits += b.Credits
	a.Pages += b.Pages
	a.FieldsFilled += b.FieldsFilled
	a.FieldsTotal += b.FieldsTotal
	a.FieldReports += b.FieldReports
	for m := range b.Timings {
		if b.Timings[m] != nil {
			a.Timings[m].Add(b.Timings[m])
		}
	}
}

// zero reports whether a adds nothing.
func (a Aggregate) zero() bool {
	if a.Pages != 0 || a.FieldsFilled != 0 || a.FieldsTotal != 0 || a.FieldReports != 0 || math.Abs(a.Credits) > 1e-9 {
		return false
	}
	for _, m := range []map[string]int64{a.Runs, a.Failures} {
		for _, v := range m {
			if v != 0 {
				return false
			}
		}
	}
	for _, h := range a.Timings {
		for _, c := range h {
			if c != 0 {
				return false
			}
		}
	}
	return true
}

// encodeFailures writes the reasons with a count, sorted: uvarint(n), then
// for each uvarint(len), the reason, varint(count).
func encodeFailures(m map[string]int64) []byte {
	reasons := make([]string, 0, len(m))
	for reason, n := range m {
		if n != 0 {
			reasons = append(reasons, reason)
		}
	}
	slices.Sort(reasons)
	out := binary.AppendUvarint(make([]byte, 0, 16*len(reasons)+1), uint64(len(reasons)))
	for _, reason := range reasons {
		out = binary.AppendUvarint(out, uint64(len(reason)))
		out = append(out, reason...)
		out = binary.AppendVarint(out, m[reason])
	}
	return out
}

// encodeTimings writes, for each metric, the number of non-empty bins and
// then (bin, count) pairs, all varints.
func encodeTimings(t [metricCount]Histogram) []byte {
	out := make([]byte, 0, 64)
	for _, h := range t {
		n := 0
		for _, c := range h {
			if c != 0 {
				n++
			}
		}
		out = binary.AppendUvarint(out, uint64(n))
		for i, c := range h {
			if c != 0 {
				out = binary.AppendUvarint(out, uint64(i))
				out = binary.AppendVarint(out, c)
			}
		}
	}
	return out
}

var errBadRollup = errors.New("malformed rollup")

// addEncoded adds an encoded row's failures and timings to a, without
// building an Aggregate per row: a 30-day series decodes 720 of them.
// reasonNames interns failure reasons: there are a dozen, and decoding a
// 30-day chart would otherwise allocate one string per reason and row.
var reasonNames = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

func internReason(b []byte) string {
	reasonNames.RLock()
	s, ok := reasonNames.m[string(b)]
	reasonNames.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	reasonNames.Lock()
	if len(reasonNames.m) < 1024 { // Extend's reasons are few; never grow without bound
		reasonNames.m[s] = s
	}
	reasonNames.Unlock()
	return s
}

func (a *Aggregate) addEncoded(failures, timings []byte) error {
	a.init()
	n, k := binary.Uvarint(failures)
	if k <= 0 {
		return errBadRollup
	}
	failures = failures[k:]
	for range n {
		l, k := binary.Uvarint(failures)
		if k <= 0 || uint64(len(failures)-k) < l {
			return errBadRollup
		}
		reason := failures[k : k+int(l)]
		failures = failures[k+int(l):]
		c, k := binary.Varint(failures)
		if k <= 0 {
			return errBadRollup
		}
		failures = failures[k:]
		a.Failures[internReason(reason)] += c
	}
	for m := range a.Timings {
		n, k := binary.Uvarint(timings)
		if k <= 0 || n > HistogramBins {
			return errBadRollup
		}
		timings = timings[k:]
		if n > 0 && a.Timings[m] == nil {
			a.Timings[m] = make(Histogram, HistogramBins)
		}
		for range n {
			bin, k := binary.Uvarint(timings)
			if k <= 0 || bin >= HistogramBins {
				return errBadRollup
			}
			timings = timings[k:]
			c, k := binary.Varint(timings)
			if k <= 0 {
				return errBadRollup
			}
			timings = timings[k:]
			a.Timings[m][bin] += c
		}
	}
	return nil
}

// rollupDelta accumulates what a transaction adds to and removes from the
// rollups, per minute, hour and day, so each row is written once, in a
// fixed order (no deadlocks between PostgreSQL transactions touching the
// same rows).
type rollupDelta struct {
	minutes map[int64]*Aggregate // minute start -> delta
	buckets map[int64]*Aggregate // hour start -> delta
	days    map[int64]*Aggregate // UTC midnight -> delta
}

func newRollupDelta() *rollupDelta {
	return &rollupDelta{minutes: map[int64]*Aggregate{}, buckets: map[int64]*Aggregate{}, days: map[int64]*Aggregate{}}
}

// absorb adds o's changes to d's.
func (d *rollupDelta) absorb(o *rollupDelta) {
	for _, pair := range [3][2]map[int64]*Aggregate{{d.minutes, o.minutes}, {d.buckets, o.buckets}, {d.days, o.days}} {
		into, from := pair[0], pair[1]
		for k, a := range from {
			if cur, ok := into[k]; ok {
				cur.merge(*a)
			} else {
				into[k] = a
			}
		}
	}
}

func (d *rollupDelta) add(r RunSnapshot)     { d.apply(r, 1) }
func (d *rollupDelta) retract(r RunSnapshot) { d.apply(r, -1) }

func (d *rollupDelta) apply(r RunSnapshot, sign int64) {
	if !IsFinished(r.Status) || r.Deleted() {
		return
	}
	minute := floorMs(millis(r.At), RollupMinute.Milliseconds())
	hour := bucketOf(r.At)
	day := floorMs(hour, RollupDay.Milliseconds())
	for _, target := range []struct {
		m map[int64]*Aggregate
		k int64
	}{{d.minutes, minute}, {d.buckets, hour}, {d.days, day}} {
		a := target.m[target.k]
		if a == nil {
			a = &Aggregate{}
			target.m[target.k] = a
		}
		a.addRun(r, sign)
	}
}

const rollupColumns = `bucket, processed, failed, credits, pages, fields_filled, fields_total, field_reports, failures, timings`

// rollupTable names one rollup table and its statements.
type rollupTable struct {
	name                         string
	size                         int64 // bucket size, ms
	selectOne, insertOne, update string
}

func newRollupTable(name string, size time.Duration) rollupTable {
	sel := `SELECT ` + rollupColumns + ` FROM ` + name + ` WHERE tenant = ? AND bucket = ?`
	return rollupTable{
		name: name, size: size.Milliseconds(),
		selectOne: sel,
		insertOne: `INSERT INTO ` + name + ` (tenant, ` + rollupColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, bucket) DO NOTHING RETURNING bucket`,
		update: `UPDATE ` + name + ` SET processed = ?, failed = ?, credits = ?, pages = ?,
			fields_filled = ?, fields_total = ?, field_reports = ?, failures = ?, timings = ? WHERE tenant = ? AND bucket = ?`,
	}
}

var (
	minuteRollups = newRollupTable("run_rollups_minute", RollupMinute)
	hourRollups   = newRollupTable("run_rollups", RollupBucket)
	dayRollups    = newRollupTable("run_rollups_daily", RollupDay)
)

// rollupRecord is a run_rollups row as scanned, before decoding.
type rollupRecord struct {
	bucket, processed, failed, pages, filled, total, reports int64
	credits                                                  float64
	failures, timings                                        []byte
}

func (r *rollupRecord) scan(row rowScanner) error { return row.Scan(r.targets()...) }

// targets are the scan destinations of rollupColumns, in order.
func (r *rollupRecord) targets() []any {
	return []any{&r.bucket, &r.processed, &r.failed, &r.credits, &r.pages, &r.filled, &r.total, &r.reports, &r.failures, &r.timings}
}

// addTo decodes the row into a, adding.
func (r *rollupRecord) addTo(a *Aggregate) error {
	if err := a.addEncoded(r.failures, r.timings); err != nil {
		return fmt.Errorf("rollup %d: %w", r.bucket, err)
	}
	a.Runs[StatusProcessed] += r.processed
	a.Runs[StatusFailed] += r.failed
	a.Credits += r.credits
	a.Pages += r.pages
	a.FieldsFilled += r.filled
	a.FieldsTotal += r.total
	a.FieldReports += r.reports
	return nil
}

func scanRollup(row rowScanner) (int64, Aggregate, error) {
	var (
		rec rollupRecord
		a   Aggregate
	)
	if err := rec.scan(row); err != nil {
		return 0, Aggregate{}, err
	}
	return rec.bucket, a, rec.addTo(&a)
}

func rollupArgs(a Aggregate) []any {
	return []any{a.Runs[StatusProcessed], a.Runs[StatusFailed], a.Credits, a.Pages, a.FieldsFilled, a.FieldsTotal, a.FieldReports,
		encodeFailures(a.Failures), encodeTimings(a.Timings)}
}

// applyRollupDelta adds the net changes to the minute, hour and day rows,
// reading and rewriting each touched row once (locked on PostgreSQL).
func (s *Store) applyRollupDelta(ctx context.Context, tx *sql.Tx, tenant string, d *rollupDelta) error {
	if !s.noMinuteRollups {
		if err := s.applyRollupRows(ctx, tx, tenant, minuteRollups, d.minutes); err != nil {
			return err
		}
	}
	if err := s.applyRollupRows(ctx, tx, tenant, hourRollups, d.buckets); err != nil {
		return err
	}
	return s.applyRollupRows(ctx, tx, tenant, dayRollups, d.days)
}

func (s *Store) applyRollupRows(ctx context.Context, tx *sql.Tx, tenant string, table rollupTable, deltas map[int64]*Aggregate) error {
	buckets := make([]int64, 0, len(deltas))
	for b, a := range deltas {
		if !a.zero() {
			buckets = append(buckets, b)
		}
	}
	slices.Sort(buckets)
	selectQ := s.d.forUpdate(table.selectOne)
	for _, b := range buckets {
		delta := deltas[b]
		for attempt := 0; ; attempt++ {
			_, current, err := scanRollup(s.txQueryRow(ctx, tx, selectQ, tenant, b))
			if errors.Is(err, sql.ErrNoRows) {
				if attempt > 0 {
					return fmt.Errorf("%s %d: neither inserted nor found", table.name, b)
				}
				var inserted int64
				err := s.txQueryRow(ctx, tx, table.insertOne, append([]any{tenant, b}, rollupArgs(*delta)...)...).Scan(&inserted)
				if errors.Is(err, sql.ErrNoRows) {
					continue // a concurrent transaction created the row: read it
				}
				if err != nil {
					return fmt.Errorf("%s %d: %w", table.name, b, err)
				}
				break
			}
			if err != nil {
				return fmt.Errorf("%s %d: %w", table.name, b, err)
			}
			current.merge(*delta)
			if _, err := s.txExec(ctx, tx, table.update, append(rollupArgs(current), tenant, b)...); err != nil {
				return fmt.Errorf("%s %d: %w", table.name, b, err)
			}
			break
		}
	}
	return nil
}

// SeriesPoint is one step of a series: the runs whose time (RunSnapshot.At)
// falls in [Start, End).
type SeriesPoint struct {
	// Start is a whole step from the series' first step, except for the
	// first point, which starts where the range does; End is Start's step
	// end, except for the last point, which ends where the range does.
	Start, End time.Time
	Aggregate
}

// Series is the rollups of a time range, by step, plus the whole range.
type Series struct {
	From, To time.Time // the range asked for, exactly
	Step     time.Duration
	Points   []SeriesPoint // every step of the range, empty ones included
	Total    Aggregate
}

// SeriesQuery selects a series. The steps are counted from From floored to
// the hour; the first and last points are cut to the range, so every
// count is exact. Step is rounded up to whole hours. A series of whole
// days that starts at a UTC midnight reads the daily rollups (a 30-day
// chart is 30 rows); any other reads the hourly ones (720 rows for 30
// days), which also serves days of a time zone whose offset is whole
// hours. What the range holds of its edge hours comes from the minute
// rollups and the seconds at its very edges from the snapshots.
type SeriesQuery struct {
	Tenant   string
	From, To time.Time
	Step     time.Duration
}

// MaxSeriesPoints bounds a series, so a silly step cannot build a huge one.
const MaxSeriesPoints = 2000

// RunSeries reads the rollups of a tenant over a range: one row per day
// or hour of the range at most, and a few dozen minute rows and seconds
// of snapshots at its edges, so its cost follows the length of the range,
// never the number of runs in it.
func (s *Store) RunSeries(ctx context.Context, q SeriesQuery) (Series, error) {
	step := max(q.Step, RollupBucket)
	step = (step + RollupBucket - 1) / RollupBucket * RollupBucket
	stepMs := step.Milliseconds()
	lo, hi := millis(q.From), millis(q.To)
	from := bucketOf(q.From)
	if hi <= lo {
		return Series{}, fmt.Errorf("store: run series: empty range %s..%s", q.From, q.To)
	}
	n := (hi - from + stepMs - 1) / stepMs
	if n > MaxSeriesPoints {
		return Series{}, fmt.Errorf("store: run series: %d points of %s, more than %d", n, step, MaxSeriesPoints)
	}
	series := Series{From: fromMillis(lo), To: fromMillis(hi), Step: step, Points: make([]SeriesPoint, n)}
	for i := range series.Points {
		start := from + int64(i)*stepMs
		series.Points[i].Start = fromMillis(max(start, lo))
		series.Points[i].End = fromMillis(min(start+stepMs, hi))
		series.Points[i].init()
	}
	series.Total.init()
	table, levels := hourRollups, rangeLevels[2:]
	if stepMs%dayRollups.size == 0 && from%dayRollups.size == 0 {
		table, levels = dayRollups, rangeLevels[1:]
	}
	pointOf := func(ms int64) *Aggregate { return &series.Points[(ms-from)/stepMs].Aggregate }
	inLo, inHi := ceilMs(lo, table.size), floorMs(hi, table.size)
	fail := func(err error) (Series, error) { return Series{}, fmt.Errorf("store: run series: %w", err) }
	if inLo > inHi {
		// Within one bucket of the table, so within the one point.
		if err := s.addRange(ctx, q.Tenant, lo, hi, levels, pointOf(lo)); err != nil {
			return fail(err)
		}
	} else {
		// Each row is decoded once, straight into its point; the total is
		// the sum of the points. The edges lie within a bucket each.
		if inLo < inHi {
			if err := s.addRollupRows(ctx, q.Tenant, table, inLo, inHi, pointOf); err != nil {
				return fail(err)
			}
		}
		if err := s.addRange(ctx, q.Tenant, lo, inLo, levels, pointOf(lo)); err != nil {
			return fail(err)
		}
		if inHi < hi {
			if err := s.addRange(ctx, q.Tenant, inHi, hi, levels, pointOf(inHi)); err != nil {
				return fail(err)
			}
		}
	}
	for i := range series.Points {
		series.Total.merge(series.Points[i].Aggregate)
	}
	return series, nil
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}

// Stuck-run threshold: StuckFactor times the p95 processing time of the
// last StuckWindow, at least StuckMinimum.
const (
	StuckFactor  = 5
	StuckWindow  = 7 * 24 * time.Hour
	StuckMinimum = 10 * time.Minute
)

// RunTotal sums a tenant's finished runs whose time is in [from, to), to
// the hour (from is floored, to ceiled): the whole UTC days inside from
// the daily rollups, the hours at the edges from the hourly ones, so a
// week costs at most 7 + 48 rows.
func (s *Store) RunTotal(ctx context.Context, tenant string, from, to time.Time) (Aggregate, error) {
	lo, hi := bucketOf(from), ceilMs(millis(to), hourRollups.size)
	var total Aggregate
	total.init()
	if hi <= lo {
		return total, nil
	}
	dayLo, dayHi := ceilMs(lo, dayRollups.size), floorMs(hi, dayRollups.size)
	type part struct {
		table  rollupTable
		lo, hi int64
	}
	parts := []part{{hourRollups, lo, hi}}
	if dayLo < dayHi {
		parts = []part{{hourRollups, lo, dayLo}, {dayRollups, dayLo, dayHi}, {hourRollups, dayHi, hi}}
	}
	for _, p := range parts {
		if p.hi <= p.lo {
			continue
		}
		if err := s.addRollupRows(ctx, tenant, p.table, p.lo, p.hi, func(int64) *Aggregate { return &total }); err != nil {
			return Aggregate{}, fmt.Errorf("store: run total: %w", err)
		}
	}
	return total, nil
}

// StuckThreshold is how long a run may stay PROCESSING before it is
// flagged as stuck in a tenant, as of now.
func (s *Store) StuckThreshold(ctx context.Context, tenant string, now time.Time) (time.Duration, error) {
	total, err := s.RunTotal(ctx, tenant, now.Add(-StuckWindow), now)
	if err != nil {
		return 0, err
	}
	p95 := time.Duration(total.Processing().P95() * float64(time.Millisecond))
	return max(StuckMinimum, StuckFactor*p95), nil
}
