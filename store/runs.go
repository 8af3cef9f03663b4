package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Run statuses the store reasons about. Any other status is kept as given
// and ranks with PROCESSING (not finished).
const (
	StatusProcessing = "PROCESSING"
	StatusProcessed  = "PROCESSED"
	StatusFailed     = "FAILED"
)

// Where a snapshot was seen (RunObservation.Via, RunSnapshot.SeenVia).
const (
	ViaList     = "list"     // a runs list page read from Extend
	ViaRun      = "run"      // a run page (GET /edit_runs/{id})
	ViaWebhook  = "webhook"  // an edit_run.* webhook event
	ViaBackfill = "backfill" // walking Extend's list to fill history
	ViaRefresh  = "refresh"  // the refresher polling a watched run
	// ViaReconcile: the reconciler asking, with a service key, about a run
	// whose webhook never came.
	ViaReconcile = "reconcile"
	ViaSeed      = "seed" // editwatch seed (synthetic)
)

// IsFinished reports whether a status is terminal: PROCESSED or FAILED.
func IsFinished(status string) bool { return status == StatusProcessed || status == StatusFailed }

// RunFacts is what Extend says about a run, reduced to what history keeps:
// counts, timings, reasons, credits and the file's name, never a presigned
// URL or a filled value. Nil pointers and zero times are unknown.
type RunFacts struct {
	Status         string
	FailureReason  string
	FailureMessage string
	FileID         string
	FileName       string
	// Source is the run's origin as Extend's list reports it (API, STUDIO…).
	Source          string
	PageCount       *int64
	FieldCount      *int64 // fields in the schema
	FieldsDetected  *int64
	FieldsAnnotated *int64
	FieldsFilled    *int64 // len(output.filledValues)
	ProcessingMs    *float64
	DetectionMs     *float64
	AnnotationMs    *float64
	FillingMs       *float64
	Credits         *float64
	CreatedAt       time.Time // from Extend, when given
	UpdatedAt       time.Time // from Extend's list, when given
}

// RunObservation is one sighting of a run, the input of UpsertRuns.
type RunObservation struct {
	RunID string
	RunFacts
	SeenAt    time.Time // defaults to the store's clock
	Via       string    // one of the Via constants
	Synthetic bool      // written by editwatch seed
}

// RunSnapshot is a run as history keeps it: the winning observation,
// completed by what earlier ones knew.
type RunSnapshot struct {
	ID     int64 // the store's row ID; orders runs seen at the same time
	Tenant string
	RunID  string
	RunFacts
	// At is CreatedAt when known, else FirstSeenAt: lists, time ranges and
	// rollups place the run there.
	At          time.Time
	FirstSeenAt time.Time
	LastSeenAt  time.Time
	// FinishedAt is when the run was first known finished: Extend's
	// updatedAt of that snapshot when given, else when Editwatch saw it.
	FinishedAt time.Time
	SeenVia    string
	Synthetic  bool
	// DeletedAt marks a tombstone: the run was deleted and no later
	// sighting brings it back. Tombstones keep no file name or message.
	DeletedAt time.Time
}

// Deleted reports whether the snapshot is a tombstone.
func (r RunSnapshot) Deleted() bool { return !r.DeletedAt.IsZero() }

// RunChange is what one UpsertRuns or MarkRunDeleted did to one run.
type RunChange struct {
	RunID  string
	Before RunSnapshot // zero (ID 0) when the run was new
	After  RunSnapshot
	// Changed: something other than the seen times differs, so live pages
	// should hear about it.
	Changed bool
}

// Created reports whether the run entered history with this change.
func (c RunChange) Created() bool { return c.Before.ID == 0 && c.After.ID != 0 }

// StatusChanged reports whether the run's status moved.
func (c RunChange) StatusChanged() bool { return c.Before.Status != c.After.Status }

// statusRank orders statuses for precedence: a finished run beats one
// still processing (or in a state we do not know).
func statusRank(status string) int {
	if IsFinished(status) {
		return 2
	}
	return 1
}

// observationWins decides whether obs replaces the stored snapshot: a
// tombstone is final; a finished status beats PROCESSING; between two of
// the same kind the later updatedAt where both have one, else the later
// time Editwatch saw them (a tie goes to the newcomer, which is at least
// as fresh).
func observationWins(old RunSnapshot, obs RunObservation) bool {
	if old.Deleted() {
		return false
	}
	if ro, rn := statusRank(old.Status), statusRank(obs.Status); ro != rn {
		return rn > ro
	}
	if !old.UpdatedAt.IsZero() && !obs.UpdatedAt.IsZero() && !old.UpdatedAt.Equal(obs.UpdatedAt) {
		return obs.UpdatedAt.After(old.UpdatedAt)
	}
	return !obs.SeenAt.Before(old.LastSeenAt)
}

// mergeFacts keeps the winner's facts and fills what it does not know from
// the loser: the file and creation time always (they never change), the
// outcome (reason, counts, timings, credits) only when both describe the
// same status, so a FAILED run never borrows a PROCESSED one's metrics.
func mergeFacts(win, lose RunFacts) RunFacts {
	m := win
	m.FileID = orString(m.FileID, lose.FileID)
	m.FileName = orString(m.FileName, lose.FileName)
	m.Source = orString(m.Source, lose.Source)
	m.PageCount = orPtr(m.PageCount, lose.PageCount)
	if m.CreatedAt.IsZero() {
		m.CreatedAt = lose.CreatedAt
	}
	if lose.UpdatedAt.After(m.UpdatedAt) {
		m.UpdatedAt = lose.UpdatedAt
	}
	if win.Status != lose.Status {
		return m
	}
	m.FailureReason = orString(m.FailureReason, lose.FailureReason)
	m.FailureMessage = orString(m.FailureMessage, lose.FailureMessage)
	m.FieldCount = orPtr(m.FieldCount, lose.FieldCount)
	m.FieldsDetected = orPtr(m.FieldsDetected, lose.FieldsDetected)
	m.FieldsAnnotated = orPtr(m.FieldsAnnotated, lose.FieldsAnnotated)
	m.FieldsFilled = orPtr(m.FieldsFilled, lose.FieldsFilled)
	m.ProcessingMs = orPtr(m.ProcessingMs, lose.ProcessingMs)
	m.DetectionMs = orPtr(m.DetectionMs, lose.DetectionMs)
	m.AnnotationMs = orPtr(m.AnnotationMs, lose.AnnotationMs)
	m.FillingMs = orPtr(m.FillingMs, lose.FillingMs)
	m.Credits = orPtr(m.Credits, lose.Credits)
	return m
}

// applyObservation is the snapshot after obs, given the stored one (exists
// false: none yet). It is pure, so the precedence rules are tested without
// a database.
func applyObservation(tenant string, old RunSnapshot, exists bool, obs RunObservation) RunSnapshot {
	if !exists {
		next := RunSnapshot{
			Tenant: tenant, RunID: obs.RunID, RunFacts: obs.RunFacts,
			FirstSeenAt: obs.SeenAt, LastSeenAt: obs.SeenAt, SeenVia: obs.Via, Synthetic: obs.Synthetic,
		}
		if IsFinished(next.Status) {
			next.FinishedAt = orTime(obs.UpdatedAt, obs.SeenAt)
		}
		next.At = orTime(next.CreatedAt, next.FirstSeenAt)
		return next
	}
	if old.Deleted() {
		return old
	}
	next := old
	if observationWins(old, obs) {
		next.RunFacts = mergeFacts(obs.RunFacts, old.RunFacts)
		next.SeenVia = obs.Via
	} else {
		next.RunFacts = mergeFacts(old.RunFacts, obs.RunFacts)
	}
	if obs.SeenAt.Before(next.FirstSeenAt) {
		next.FirstSeenAt = obs.SeenAt
	}
	if obs.SeenAt.After(next.LastSeenAt) {
		next.LastSeenAt = obs.SeenAt
	}
	if next.FinishedAt.IsZero() && IsFinished(next.Status) {
		next.FinishedAt = orTime(obs.UpdatedAt, obs.SeenAt)
	}
	next.Synthetic = old.Synthetic && obs.Synthetic
	next.At = orTime(next.CreatedAt, next.FirstSeenAt)
	return next
}

// sameExceptSeen reports whether two snapshots differ only in when they
// were last seen and through what.
func sameExceptSeen(a, b RunSnapshot) bool {
	a.LastSeenAt, b.LastSeenAt = time.Time{}, time.Time{}
	a.SeenVia, b.SeenVia = "", ""
	return sameSnapshot(a, b)
}

// sameSnapshot compares every field, pointers by value.
func sameSnapshot(a, b RunSnapshot) bool {
	return a.ID == b.ID && a.Tenant == b.Tenant && a.RunID == b.RunID && a.Status == b.Status &&
		a.FailureReason == b.FailureReason && a.FailureMessage == b.FailureMessage && a.FileID == b.FileID &&
		a.FileName == b.FileName && a.Source == b.Source && a.SeenVia == b.SeenVia && a.Synthetic == b.Synthetic &&
		samePtr(a.PageCount, b.PageCount) && samePtr(a.FieldCount, b.FieldCount) && samePtr(a.FieldsDetected, b.FieldsDetected) &&
		samePtr(a.FieldsAnnotated, b.FieldsAnnotated) && samePtr(a.FieldsFilled, b.FieldsFilled) &&
		samePtr(a.ProcessingMs, b.ProcessingMs) && samePtr(a.DetectionMs, b.DetectionMs) && samePtr(a.AnnotationMs, b.AnnotationMs) &&
		samePtr(a.FillingMs, b.FillingMs) && samePtr(a.Credits, b.Credits) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) && a.At.Equal(b.At) && a.FirstSeenAt.Equal(b.FirstSeenAt) &&
		a.LastSeenAt.Equal(b.LastSeenAt) && a.FinishedAt.Equal(b.FinishedAt) && a.DeletedAt.Equal(b.DeletedAt)
}

func samePtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func orString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func orPtr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func orTime(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

// normalizeObservation truncates times to what the store keeps
// (milliseconds, UTC) so what UpsertRuns returns equals what it reads back.
func (s *Store) normalizeObservation(o *RunObservation) error {
	if o.RunID == "" {
		return errors.New("run without an ID")
	}
	if o.Status == "" {
		return fmt.Errorf("run %s without a status", o.RunID)
	}
	if o.SeenAt.IsZero() {
		o.SeenAt = s.now()
	}
	o.SeenAt = msTime(o.SeenAt)
	o.CreatedAt = msTime(o.CreatedAt)
	o.UpdatedAt = msTime(o.UpdatedAt)
	return nil
}

// msTime truncates t to milliseconds in UTC; the zero time stays zero.
func msTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return fromMillis(millis(t))
}

// UpsertRuns records sightings of runs in a tenant's history, in one
// transaction: each run's snapshot follows the precedence rules (see
// observationWins), and the hour rollups move with it, so a run is counted
// exactly once from when it is first known finished. Several observations
// of one run apply in order. It returns one change per distinct run, in
// the order of first appearance.
func (s *Store) UpsertRuns(ctx context.Context, tenant string, obs []RunObservation) ([]RunChange, error) {
	if len(obs) == 0 {
		return nil, nil
	}
	batch, err := s.batchObservations(obs)
	if err != nil {
		return nil, fmt.Errorf("store: upsert runs of %s: %w", tenant, err)
	}
	var changes []RunChange
	err = s.inWriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		changes, err = s.upsertInTx(ctx, tx, tenant, batch)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: upsert runs of %s: %w", tenant, err)
	}
	s.noteTenant(tenant, batch.fromExtend, batch.synthetic)
	return changes, nil
}

// observationBatch is a set of observations grouped by run, ready for a
// transaction.
type observationBatch struct {
	order                 []string
	byRun                 map[string][]RunObservation
	fromExtend, synthetic bool
}

func (s *Store) batchObservations(obs []RunObservation) (observationBatch, error) {
	b := observationBatch{byRun: map[string][]RunObservation{}}
	for i := range obs {
		o := obs[i]
		if err := s.normalizeObservation(&o); err != nil {
			return observationBatch{}, err
		}
		if _, seen := b.byRun[o.RunID]; !seen {
			b.order = append(b.order, o.RunID)
		}
		b.byRun[o.RunID] = append(b.byRun[o.RunID], o)
		b.fromExtend = b.fromExtend || !o.Synthetic
		b.synthetic = b.synthetic || o.Synthetic
	}
	return b, nil
}

// upsertInTx is the body of UpsertRuns, inside the caller's transaction.
func (s *Store) upsertInTx(ctx context.Context, tx *sql.Tx, tenant string, b observationBatch) ([]RunChange, error) {
	changes, delta, err := s.upsertSnapshotsInTx(ctx, tx, tenant, b)
	if err != nil {
		return nil, err
	}
	if err := s.applyRollupDelta(ctx, tx, tenant, delta); err != nil {
		return nil, err
	}
	return changes, nil
}

// upsertSnapshotsInTx writes the runs of upsertInTx and returns what the
// rollups must add, for the caller to write with applyRollupDelta: a
// webhook batch writes them last, as the rows every transaction of a
// tenant locks are best held for the least time.
func (s *Store) upsertSnapshotsInTx(ctx context.Context, tx *sql.Tx, tenant string, b observationBatch) ([]RunChange, *rollupDelta, error) {
	if err := s.ensureTenant(ctx, tx, tenant, b.fromExtend, b.synthetic); err != nil {
		return nil, nil, err
	}
	existing, err := s.lockSnapshots(ctx, tx, tenant, b.order)
	if err != nil {
		return nil, nil, err
	}
	delta := newRollupDelta()
	changes := make([]RunChange, 0, len(b.order))
	var updates []RunChange
	for _, runID := range b.order {
		before, exists := existing[runID]
		var change RunChange
		if exists {
			// Locked: written below, all in one statement.
			change = observedChange(tenant, before, b.byRun[runID])
			if !sameSnapshot(before, change.After) {
				updates = append(updates, change)
			}
		} else if change, err = s.writeObservations(ctx, tx, tenant, before, exists, b.byRun[runID]); err != nil {
			return nil, nil, err
		}
		delta.retract(change.Before)
		delta.add(change.After)
		changes = append(changes, change)
	}
	if err := s.updateSnapshots(ctx, tx, updates); err != nil {
		return nil, nil, err
	}
	return changes, delta, nil
}

// writeObservations applies one run's observations and writes the result.
func (s *Store) writeObservations(ctx context.Context, tx *sql.Tx, tenant string, before RunSnapshot, exists bool, obs []RunObservation) (RunChange, error) {
	next, nextExists := before, exists
	for _, o := range obs {
		next = applyObservation(tenant, next, nextExists, o)
		nextExists = true
	}
	if !exists {
		id, inserted, err := s.insertSnapshot(ctx, tx, next)
		if err != nil {
			return RunChange{}, err
		}
		if inserted {
			next.ID = id
			return RunChange{RunID: next.RunID, After: next, Changed: true}, nil
		}
		// Another replica inserted the run since we looked (PostgreSQL):
		// its row is committed now; start again from it.
		locked, err := s.lockSnapshots(ctx, tx, tenant, []string{next.RunID})
		if err != nil {
			return RunChange{}, err
		}
		current, ok := locked[next.RunID]
		if !ok {
			return RunChange{}, fmt.Errorf("run %s: neither inserted nor found", next.RunID)
		}
		return s.writeObservations(ctx, tx, tenant, current, true, obs)
	}
	change := observedChange(tenant, before, obs)
	if sameSnapshot(before, change.After) {
		return change, nil
	}
	if err := s.updateSnapshot(ctx, tx, before, change.After); err != nil {
		return RunChange{}, err
	}
	return change, nil
}

// observedChange is what obs make of a stored run.
func observedChange(tenant string, before RunSnapshot, obs []RunObservation) RunChange {
	next := before
	for _, o := range obs {
		next = applyObservation(tenant, next, true, o)
	}
	return RunChange{RunID: before.RunID, Before: before, After: next, Changed: !sameExceptSeen(before, next)}
}

const snapshotColumns = `id, tenant, run_id, at, status, failure_reason, failure_message, file_id, file_name, source,
	page_count, field_count, fields_detected, fields_annotated, fields_filled,
	processing_ms, detection_ms, annotation_ms, filling_ms, credits,
	created_at, updated_at, first_seen_at, last_seen_at, finished_at, seen_via, synthetic, deleted_at`

// snapshotInsertColumns are snapshotColumns without id, in the same order
// as snapshotArgs.
const snapshotInsertColumns = `tenant, run_id, at, status, failure_reason, failure_message, file_id, file_name, source,
	page_count, field_count, fields_detected, fields_annotated, fields_filled,
	processing_ms, detection_ms, annotation_ms, filling_ms, credits,
	created_at, updated_at, first_seen_at, last_seen_at, finished_at, seen_via, synthetic, deleted_at`

const snapshotInsertArity = 27

const (
	snapshotSelectOne = `SELECT ` + snapshotColumns + ` FROM run_snapshots WHERE tenant = ? AND run_id = ?`
	snapshotInsert    = `INSERT INTO run_snapshots (` + snapshotInsertColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, run_id) DO NOTHING RETURNING id`
	snapshotUpdate = `UPDATE run_snapshots SET at = ?, status = ?, failure_reason = ?, failure_message = ?, file_id = ?, file_name = ?, source = ?,
		page_count = ?, field_count = ?, fields_detected = ?, fields_annotated = ?, fields_filled = ?,
		processing_ms = ?, detection_ms = ?, annotation_ms = ?, filling_ms = ?, credits = ?,
		created_at = ?, updated_at = ?, first_seen_at = ?, last_seen_at = ?, finished_at = ?, seen_via = ?, synthetic = ?, deleted_at = ?
		WHERE id = ?`
)

func snapshotArgs(r RunSnapshot) []any {
	return []any{r.Tenant, r.RunID, millis(r.At), r.Status, r.FailureReason, r.FailureMessage, r.FileID, r.FileName, r.Source,
		r.PageCount, r.FieldCount, r.FieldsDetected, r.FieldsAnnotated, r.FieldsFilled,
		r.ProcessingMs, r.DetectionMs, r.AnnotationMs, r.FillingMs, r.Credits,
		nullMillis(r.CreatedAt), nullMillis(r.UpdatedAt), millis(r.FirstSeenAt), millis(r.LastSeenAt),
		nullMillis(r.FinishedAt), r.SeenVia, boolInt(r.Synthetic), nullMillis(r.DeletedAt)}
}

func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return millis(t)
}

type rowScanner interface{ Scan(dest ...any) error }

func scanSnapshot(row rowScanner) (RunSnapshot, error) {
	var (
		r                                         RunSnapshot
		at, firstSeen, lastSeen, synthetic        int64
		pages, fields, detected, annotated, fills sql.NullInt64
		procMs, detMs, annMs, fillMs, credits     sql.NullFloat64
		created, updated, finished, deleted       sql.NullInt64
	)
	err := row.Scan(&r.ID, &r.Tenant, &r.RunID, &at, &r.Status, &r.FailureReason, &r.FailureMessage, &r.FileID, &r.FileName, &r.Source,
		&pages, &fields, &detected, &annotated, &fills, &procMs, &detMs, &annMs, &fillMs, &credits,
		&created, &updated, &firstSeen, &lastSeen, &finished, &r.SeenVia, &synthetic, &deleted)
	if err != nil {
		return RunSnapshot{}, err
	}
	r.At, r.FirstSeenAt, r.LastSeenAt = fromMillis(at), fromMillis(firstSeen), fromMillis(lastSeen)
	r.PageCount, r.FieldCount, r.FieldsDetected = nullInt(pages), nullInt(fields), nullInt(detected)
	r.FieldsAnnotated, r.FieldsFilled = nullInt(annotated), nullInt(fills)
	r.ProcessingMs, r.DetectionMs, r.AnnotationMs = nullFloat(procMs), nullFloat(detMs), nullFloat(annMs)
	r.FillingMs, r.Credits = nullFloat(fillMs), nullFloat(credits)
	r.CreatedAt, r.UpdatedAt = nullTime(created), nullTime(updated)
	r.FinishedAt, r.DeletedAt = nullTime(finished), nullTime(deleted)
	r.Synthetic = synthetic != 0
	return r, nil
}

func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

func nullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

// lockSnapshots reads the stored snapshots of runIDs, locking their rows
// on PostgreSQL until the transaction ends (SQLite has one writer).
func (s *Store) lockSnapshots(ctx context.Context, tx *sql.Tx, tenant string, runIDs []string) (map[string]RunSnapshot, error) {
	found := make(map[string]RunSnapshot, len(runIDs))
	if len(runIDs) == 1 {
		r, err := scanSnapshot(s.txQueryRow(ctx, tx, s.d.forUpdate(snapshotSelectOne), tenant, runIDs[0]))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("read snapshot: %w", err)
		default:
			found[r.RunID] = r
		}
		return found, nil
	}
	const chunk = 500
	for start := 0; start < len(runIDs); start += chunk {
		ids := runIDs[start:min(start+chunk, len(runIDs))]
		args := make([]any, 0, len(ids)+1)
		args = append(args, tenant)
		for _, id := range ids {
			args = append(args, id)
		}
		q := `SELECT ` + snapshotColumns + ` FROM run_snapshots WHERE tenant = ? AND run_id IN (` + placeholders(len(ids)) + `)`
		if s.d.lockRows {
			q += ` ORDER BY run_id` // every writer locks in one order, so none waits on another in a circle
		}
		rows, err := tx.QueryContext(ctx, s.d.rebind(s.d.forUpdate(q)), args...)
		if err != nil {
			return nil, fmt.Errorf("read snapshots: %w", err)
		}
		for rows.Next() {
			r, err := scanSnapshot(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("read snapshots: %w", err)
			}
			found[r.RunID] = r
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("read snapshots: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read snapshots: %w", err)
		}
	}
	return found, nil
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// insertSnapshot inserts a new run; inserted is false when the run exists
// already (a concurrent insert on PostgreSQL).
func (s *Store) insertSnapshot(ctx context.Context, tx *sql.Tx, r RunSnapshot) (id int64, inserted bool, err error) {
	err = s.txQueryRow(ctx, tx, snapshotInsert, snapshotArgs(r)...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("insert run %s: %w", r.RunID, err)
	}
	if err := s.d.names.reindex(ctx, s, tx, id, "", r.FileName); err != nil {
		return 0, false, err
	}
	return id, true, nil
}

func (s *Store) updateSnapshot(ctx context.Context, tx *sql.Tx, before, r RunSnapshot) error {
	args := append(snapshotArgs(r)[2:], r.ID)
	if _, err := s.txExec(ctx, tx, snapshotUpdate, args...); err != nil {
		return fmt.Errorf("update run %s: %w", r.RunID, err)
	}
	return s.d.names.reindex(ctx, s, tx, r.ID, before.FileName, r.FileName)
}

// GetRun returns a run's snapshot in a tenant's history (a tombstone too:
// check Deleted), or ErrNotFound.
func (s *Store) GetRun(ctx context.Context, tenant, runID string) (RunSnapshot, error) {
	r, err := scanSnapshot(s.queryRow(ctx, `SELECT `+snapshotColumns+` FROM run_snapshots WHERE tenant = ? AND run_id = ?`, tenant, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return RunSnapshot{}, fmt.Errorf("store: run %s: %w", runID, ErrNotFound)
	}
	if err != nil {
		return RunSnapshot{}, fmt.Errorf("store: run %s: %w", runID, err)
	}
	return r, nil
}

// MarkRunDeleted makes a run a tombstone at time at: it leaves lists,
// counts and rollups, forgets its file name and message, and no later
// sighting brings it back. A run never seen gets a tombstone too, so a
// late webhook cannot resurrect it.
func (s *Store) MarkRunDeleted(ctx context.Context, tenant, runID string, at time.Time) (RunChange, error) {
	if at.IsZero() {
		at = s.now()
	}
	at = msTime(at)
	var change RunChange
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.ensureTenant(ctx, tx, tenant, false, false); err != nil {
			return err
		}
		for range 2 {
			existing, err := s.lockSnapshots(ctx, tx, tenant, []string{runID})
			if err != nil {
				return err
			}
			before, ok := existing[runID]
			if ok {
				change = RunChange{RunID: runID, Before: before, After: before}
				if before.Deleted() {
					return nil
				}
				next := before
				next.DeletedAt, next.FileName, next.FailureMessage = at, "", ""
				if err := s.updateSnapshot(ctx, tx, before, next); err != nil {
					return err
				}
				delta := newRollupDelta()
				delta.retract(before)
				change.After, change.Changed = next, true
				return s.applyRollupDelta(ctx, tx, tenant, delta)
			}
			tomb := RunSnapshot{Tenant: tenant, RunID: runID, At: at, FirstSeenAt: at, LastSeenAt: at, DeletedAt: at}
			id, inserted, err := s.insertSnapshot(ctx, tx, tomb)
			if err != nil {
				return err
			}
			if inserted {
				tomb.ID = id
				change = RunChange{RunID: runID, After: tomb, Changed: true}
				return nil
			}
		}
		return fmt.Errorf("run %s: neither inserted nor found", runID)
	})
	if err != nil {
		return RunChange{}, fmt.Errorf("store: delete run %s: %w", runID, err)
	}
	return change, nil
}
