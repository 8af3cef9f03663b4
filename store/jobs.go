package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Background jobs (bulk re-runs, history syncs) are rows rather than the
// memory of the process that runs them, so any replica's page reads their
// progress. The worker beats the job's heartbeat while it runs; a running
// job whose heartbeat is older than JobLostAfter lost its worker (the
// process died or hangs) and is shown as stopped.

// JobLostAfter is how old a running job's heartbeat may get before the
// job counts as stopped. Workers beat well within it.
const JobLostAfter = time.Minute

// JobState is where a job stands.
type JobState string

// The states of a job.
const (
	JobRunning JobState = "running"
	JobEnded   JobState = "ended"
)

// ItemState is where one run of a job stands.
type ItemState string

// The states of a job's item.
const (
	ItemPending ItemState = "pending" // not started
	ItemStarted ItemState = "started" // its request may be in flight
	ItemCreated ItemState = "created" // NewRunID is the run it started
	ItemFailed  ItemState = "failed"  // Error says why it was not started
	// ItemUnknown was in flight when its worker died: it may have started
	// a run and spent credits, so nothing retries it on its own.
	ItemUnknown ItemState = "unknown"
	// ItemDeleted: a bulk delete deleted the run in Extend; ItemGone:
	// Extend answered 404, so the run was gone already.
	ItemDeleted ItemState = "deleted"
	ItemGone    ItemState = "gone"
)

// ErrJobRunning refuses a second exclusive job of a kind for a tenant, or
// the resumption of a job whose worker still beats.
var ErrJobRunning = errors.New("store: the job is already running")

// Job is a background job. Spec and Progress are JSON owned by the job's
// kind; Stopped says why it ended early ("" if it did not). Worker names
// the one worker whose writes count: the job's own writes (BeatJob,
// StartJobItem, EndJob) name it, and resuming the job names a new one.
type Job struct {
	ID, Kind, Tenant string
	Worker           string
	SessionID, Actor string
	State            JobState
	Spec, Progress   string
	Stopped          string
	StartedAt        time.Time
	FinishedAt       time.Time // zero while it runs
	HeartbeatAt      time.Time
}

// Lost reports whether the job still counts as running but its worker
// has not beaten for JobLostAfter at now.
func (j Job) Lost(now time.Time) bool {
	return j.State == JobRunning && now.Sub(j.HeartbeatAt) > JobLostAfter
}

// JobItem is one run of a job.
type JobItem struct {
	Seq      int
	RunID    string
	State    ItemState
	NewRunID string
	Error    string
}

const jobColumns = `id, kind, tenant, worker, session_id, actor, state, spec, progress, stopped, started_at, finished_at, heartbeat_at`

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var (
		j                   Job
		started, heartbeat  int64
		finished            sql.NullInt64
		spec, prog, stopped string
	)
	err := row.Scan(&j.ID, &j.Kind, &j.Tenant, &j.Worker, &j.SessionID, &j.Actor, &j.State, &spec, &prog, &stopped,
		&started, &finished, &heartbeat)
	if err != nil {
		return Job{}, err
	}
	j.Spec, j.Progress, j.Stopped = spec, prog, stopped
	j.StartedAt, j.HeartbeatAt = fromMillis(started), fromMillis(heartbeat)
	if finished.Valid {
		j.FinishedAt = fromMillis(finished.Int64)
	}
	return j, nil
}

// CreateJob stores a running job and its items (runIDs, in order, all
// pending), its heartbeat at its start. An exclusive job refuses to start
// beside a running one of the same kind and tenant whose worker still
// beats (ErrJobRunning); one that lost its worker no longer blocks.
func (s *Store) CreateJob(ctx context.Context, j Job, exclusive bool, runIDs []string) error {
	if j.ID == "" || j.Kind == "" || j.Tenant == "" || j.Worker == "" || j.StartedAt.IsZero() {
		return errors.New("store: create job: an ID, a kind, a tenant, a worker and a start time are needed")
	}
	if j.Spec == "" {
		j.Spec = "{}"
	}
	if j.Progress == "" {
		j.Progress = "{}"
	}
	var key any
	if exclusive {
		key = j.Kind + " " + j.Tenant
	}
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if exclusive {
			// A lost worker's job keeps its state (pages show it as
			// stopped) but gives up its claim.
			if _, err := s.txExec(ctx, tx, `UPDATE jobs SET exclusive_key = NULL WHERE exclusive_key = ? AND heartbeat_at < ?`,
				key, millis(s.now().Add(-JobLostAfter))); err != nil {
				return err
			}
		}
		res, err := s.txExec(ctx, tx, `INSERT INTO jobs (id, kind, tenant, worker, session_id, actor, state, spec, progress, exclusive_key, started_at, heartbeat_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			j.ID, j.Kind, j.Tenant, j.Worker, j.SessionID, j.Actor, JobRunning, j.Spec, j.Progress, key, millis(j.StartedAt), millis(j.StartedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrJobRunning
		}
		for start := 0; start < len(runIDs); start += jobItemsChunk {
			part := runIDs[start:min(start+jobItemsChunk, len(runIDs))]
			args := make([]any, 0, 4*len(part))
			for i, id := range part {
				args = append(args, j.ID, start+i, id, ItemPending)
			}
			if _, err := s.txExec(ctx, tx, `INSERT INTO job_items (job_id, seq, run_id, state) VALUES `+valueRows(len(part), 4), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: create job %s: %w", j.ID, err)
	}
	return nil
}

// GetJob returns the job named id; ErrNotFound when there is none.
func (s *Store) GetJob(ctx context.Context, id string) (Job, error) {
	j, err := scanJob(s.queryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("store: job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("store: job %s: %w", id, err)
	}
	return j, nil
}

// LatestJob returns the tenant's most recently started job of kind;
// ErrNotFound when it has none.
func (s *Store) LatestJob(ctx context.Context, kind, tenant string) (Job, error) {
	j, err := scanJob(s.queryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE kind = ? AND tenant = ?
		ORDER BY started_at DESC, id DESC LIMIT 1`, kind, tenant))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("store: latest %s job of %s: %w", kind, tenant, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("store: latest %s job of %s: %w", kind, tenant, err)
	}
	return j, nil
}

// JobItems returns a job's items in order.
func (s *Store) JobItems(ctx context.Context, id string) ([]JobItem, error) {
	rows, err := s.query(ctx, `SELECT seq, run_id, state, new_run_id, error FROM job_items WHERE job_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("store: items of job %s: %w", id, err)
	}
	defer rows.Close()
	var items []JobItem
	for rows.Next() {
		var it JobItem
		if err := rows.Scan(&it.Seq, &it.RunID, &it.State, &it.NewRunID, &it.Error); err != nil {
			return nil, fmt.Errorf("store: items of job %s: %w", id, err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: items of job %s: %w", id, err)
	}
	return items, nil
}

// BeatJob renews a running job's heartbeat and, when progress is not
// "", replaces its progress; ErrNotFound when worker is not the job's
// running worker.
func (s *Store) BeatJob(ctx context.Context, id, worker, progress string) error {
	res, err := s.exec(ctx, `UPDATE jobs SET heartbeat_at = ?, progress = CASE WHEN ? = '' THEN progress ELSE ? END
		WHERE id = ? AND worker = ? AND state = ?`, millis(s.now()), progress, progress, id, worker, JobRunning)
	if err != nil {
		return fmt.Errorf("store: beat job %s: %w", id, err)
	}
	return requireOneRow(res, "beat job "+id)
}

// StartJobItem marks a pending item started, before its request leaves,
// and beats the job's heartbeat; ErrNotFound when the item is not pending
// or worker is not the job's running worker.
func (s *Store) StartJobItem(ctx context.Context, id, worker string, seq int) error {
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND worker = ? AND state = ?`,
			millis(s.now()), id, worker, JobRunning)
		if err != nil {
			return err
		}
		if err := requireOneRow(res, "worker "+worker); err != nil {
			return err
		}
		res, err = s.txExec(ctx, tx, `UPDATE job_items SET state = ? WHERE job_id = ? AND seq = ? AND state = ?`, ItemStarted, id, seq, ItemPending)
		if err != nil {
			return err
		}
		return requireOneRow(res, fmt.Sprintf("item %d", seq))
	})
	if err != nil {
		return fmt.Errorf("store: start item of job %s: %w", id, err)
	}
	return nil
}

// FinishJobItem records a started item's outcome: ItemCreated with the
// new run's ID, ItemDeleted or ItemGone, or ItemFailed with why.
func (s *Store) FinishJobItem(ctx context.Context, id string, seq int, state ItemState, newRunID, why string) error {
	if state != ItemCreated && state != ItemFailed && state != ItemDeleted && state != ItemGone {
		return fmt.Errorf("store: finish item %d of job %s: state %q is not an outcome", seq, id, state)
	}
	res, err := s.exec(ctx, `UPDATE job_items SET state = ?, new_run_id = ?, error = ? WHERE job_id = ? AND seq = ? AND state = ?`,
		state, newRunID, why, id, seq, ItemStarted)
	if err != nil {
		return fmt.Errorf("store: finish item %d of job %s: %w", seq, id, err)
	}
	return requireOneRow(res, fmt.Sprintf("finish item %d of job %s", seq, id))
}

// jobItemsChunk bounds the rows of one insert of a job's items (four
// parameters each).
const jobItemsChunk = 250

// EndJob ends a running job, with why it stopped early ("" when it did
// not) and, when not "", its last progress; ErrNotFound when worker is
// not the job's running worker.
func (s *Store) EndJob(ctx context.Context, id, worker, progress, stopped string) error {
	now := millis(s.now())
	res, err := s.exec(ctx, `UPDATE jobs SET state = ?, stopped = ?, finished_at = ?, heartbeat_at = ?, exclusive_key = NULL,
		progress = CASE WHEN ? = '' THEN progress ELSE ? END WHERE id = ? AND worker = ? AND state = ?`,
		JobEnded, stopped, now, now, progress, progress, id, worker, JobRunning)
	if err != nil {
		return fmt.Errorf("store: end job %s: %w", id, err)
	}
	return requireOneRow(res, "end job "+id)
}

// ResumeJob makes a job that ended, or lost its worker, running again for
// worker, a new one, which then takes only its pending items. Items that were
// in flight when a worker died become ItemUnknown: they may have started
// a run, so they are never retried. ErrJobRunning when its worker still
// beats.
func (s *Store) ResumeJob(ctx context.Context, id, worker string) error {
	if worker == "" {
		return fmt.Errorf("store: resume job %s: a worker is needed", id)
	}
	now := s.now()
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `UPDATE jobs SET state = ?, worker = ?, stopped = '', finished_at = NULL, heartbeat_at = ?
			WHERE id = ? AND (state = ? OR heartbeat_at < ?)`, JobRunning, worker, millis(now), id, JobEnded, millis(now.Add(-JobLostAfter)))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var one int
			err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT 1 FROM jobs WHERE id = ?`), id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return errors.Join(ErrJobRunning, err)
		}
		_, err = s.txExec(ctx, tx, `UPDATE job_items SET state = ? WHERE job_id = ? AND state = ?`, ItemUnknown, id, ItemStarted)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: resume job %s: %w", id, err)
	}
	return nil
}

// PurgeJobsBefore deletes the jobs started before t whose worker no
// longer beats, with their items, and reports how many jobs went.
func (s *Store) PurgeJobsBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		const old = `SELECT id FROM jobs WHERE started_at < ? AND heartbeat_at < ?`
		if _, err := s.txExec(ctx, tx, `DELETE FROM job_items WHERE job_id IN (`+old+`)`, millis(t), millis(t)); err != nil {
			return err
		}
		res, err := s.txExec(ctx, tx, `DELETE FROM jobs WHERE id IN (`+old+`)`, millis(t), millis(t))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge jobs: %w", err)
	}
	return n, nil
}
