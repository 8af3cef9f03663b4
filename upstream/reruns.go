package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// RerunJobs runs bulk re-runs and bulk deletes (RerunSpec.Delete) and
// reads their progress. A job is a row of the store (with one item per
// run) that its worker updates as it goes, so the progress page reads it
// on any replica. A job outlives the request that started it (it calls
// Extend within the key's rate budget, through the client's limiter); if
// its process dies, the page shows it stopped with what it had done, and
// resuming it takes only the runs not yet started.
type RerunJobs struct {
	opts RerunOptions
	mu   sync.Mutex
	// local are the jobs this process worked on lately, for Done.
	local map[string]*RerunJob
}

// rerunKeep is how long this process remembers a finished job's handle.
const rerunKeep = time.Hour

// DefaultRerunTimeout bounds a whole bulk re-run.
const DefaultRerunTimeout = 30 * time.Minute

// RerunOptions configure NewRerunJobs.
type RerunOptions struct {
	Store *store.Store
	Keys  *Keys
	// Timeout bounds a whole job (DefaultRerunTimeout).
	Timeout time.Duration
	Logger  *slog.Logger
	// OnDeleted records in history that a bulk delete deleted a run (or
	// found it gone): the dashboard wires it to monitor's RecordDeleted,
	// which this package may not import. May be nil.
	OnDeleted func(ctx context.Context, tenant, runID string) error
}

// MaxJobRuns is the most runs one bulk job takes.
const MaxJobRuns = 1000

// NewRerunJobs returns the jobs of opts.Store.
func NewRerunJobs(opts RerunOptions) (*RerunJobs, error) {
	if opts.Store == nil || opts.Keys == nil {
		return nil, errors.New("upstream: re-run jobs need a store and keys")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRerunTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &RerunJobs{opts: opts, local: map[string]*RerunJob{}}, nil
}

// RerunSpec is what a job needs: the runs, the connection and session
// whose key starts them (see Keys.Next: the job stops at logout unless the
// workspace has a service key), and who to attribute each new run to in
// the audit log.
type RerunSpec struct {
	Conn                        store.Connection
	SessionID, Actor, RequestID string
	Reason                      string // the failure group, for the progress page
	RunIDs                      []string
	Started                     time.Time
	// Delete makes the job delete the runs in Extend instead of starting
	// them again.
	Delete bool
}

// name is what logs and the logout note call the job.
func (s RerunSpec) name() string {
	if s.Delete {
		return "bulk delete"
	}
	return "bulk re-run"
}

// storedRerunSpec is what a job's row keeps of its spec, for the page and
// for resuming it (the runs are its items).
type storedRerunSpec struct {
	Conn      store.Connection `json:"conn"`
	RequestID string           `json:"requestId"`
	Reason    string           `json:"reason"`
	Delete    bool             `json:"delete,omitempty"`
}

// storedRerunProgress is a job's progress column.
type storedRerunProgress struct {
	ServiceKey string `json:"serviceKey,omitempty"`
}

// RerunJob is a bulk re-run this process works on.
type RerunJob struct {
	id string
	// worker names this process's work on the job in the store.
	worker string
	spec   RerunSpec
	jobs   *RerunJobs
	done   chan struct{} // closed when the worker ends
	ended  time.Time     // when it ended; guarded by jobs.mu
}

// RerunStatus is a job as its row says, read on any replica.
type RerunStatus struct {
	ID        string
	Tenant    string
	SessionID string
	Reason    string
	Total     int
	// Delete: the job deletes runs (its outcomes are Deleted, Gone and
	// Failed) rather than re-running them.
	Delete bool
	RerunProgress
}

// RerunProgress is how far a job got.
type RerunProgress struct {
	// Done counts the runs tried: started again (or deleted, or found
	// gone), failed, or unknown.
	Done    int
	Created []string
	// Deleted are the runs a bulk delete deleted; Gone those Extend
	// already answered 404 for (counted as deleted).
	Deleted, Gone []string
	Failed        []RerunFailure
	Finished      bool
	// Stopped says why the job ended before its last run (nil if it did
	// not): ErrStoppedAtLogout, a timeout, Extend's error, or
	// ErrWorkerLost.
	Stopped error
	// ServiceKey is the fingerprint of the service key the job went on
	// with after its session left ("" while it uses the session's key).
	ServiceKey string
	// Lost: the process running the job stopped beating its heartbeat.
	Lost bool
	// Unknown are the runs whose request was in flight when the worker
	// died (also in Failed, with ErrRerunUnknown): they may have started
	// a run, so they are never retried on their own.
	Unknown []string
	// Pending counts the runs not started yet; resuming takes only those.
	Pending int
}

// RerunFailure is a run that was not started again, and why.
type RerunFailure struct {
	RunID string
	Err   error
}

// ErrWorkerLost stops a job whose process stopped working on it.
const ErrWorkerLost = RerunError("Stopped: the Editwatch process running this re-run stopped before the end (it restarted or lost its database). What it did is shown here; the runs it had not started were left as they are.")

// ErrRerunUnknown is a run whose request was in flight when the job's
// process stopped.
const ErrRerunUnknown = RerunError("Unknown: the request to start this run again was in flight when the re-run stopped, so Extend may have started it (and spent credits). Editwatch does not retry it: check the runs in Extend before starting it again.")

// ErrDeleteWorkerLost stops a bulk delete whose process stopped working
// on it.
const ErrDeleteWorkerLost = RerunError("Stopped: the Editwatch process running this delete stopped before the end (it restarted or lost its database). What it did is shown here; the runs it had not reached were left as they are.")

// ErrDeleteUnknown is a run whose delete request was in flight when the
// job's process stopped.
const ErrDeleteUnknown = RerunError("Unknown: the request to delete this run was in flight when the delete stopped, so Extend may have deleted it. Open the run to see whether Extend still has it.")

// ID names the job in its progress page's URL.
func (j *RerunJob) ID() string { return j.id }

// Spec is what the job was started with.
func (j *RerunJob) Spec() RerunSpec { return j.spec }

// Done is closed when this process's worker has ended.
func (j *RerunJob) Done() <-chan struct{} { return j.done }

// Get returns the job named id if this process worked on it lately.
func (r *RerunJobs) Get(id string) (*RerunJob, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	j, ok := r.local[id]
	return j, ok
}

// Start stores a job and runs it in the background.
func (r *RerunJobs) Start(ctx context.Context, spec RerunSpec) (*RerunJob, error) {
	if spec.Started.IsZero() {
		spec.Started = r.opts.Store.Now()
	}
	if len(spec.RunIDs) > MaxJobRuns {
		return nil, fmt.Errorf("upstream: start %s: %d runs, at most %d in one job", spec.name(), len(spec.RunIDs), MaxJobRuns)
	}
	kind, prefix := jobKindRerun, "rr_"
	if spec.Delete {
		kind, prefix = jobKindDelete, "dl_"
	}
	id, worker := newJobID(prefix), newJobID("w_")
	stored, err := json.Marshal(storedRerunSpec{Conn: spec.Conn, RequestID: spec.RequestID, Reason: spec.Reason, Delete: spec.Delete})
	if err != nil {
		return nil, fmt.Errorf("upstream: start %s: %w", spec.name(), err)
	}
	err = r.opts.Store.CreateJob(ctx, store.Job{ID: id, Kind: kind, Tenant: spec.Conn.Tenant, Worker: worker, SessionID: spec.SessionID,
		Actor: spec.Actor, Spec: string(stored), StartedAt: spec.Started}, false, spec.RunIDs)
	if err != nil {
		return nil, fmt.Errorf("upstream: start %s: %w", spec.name(), err)
	}
	return r.work(id, worker, spec), nil
}

// Resume works again on a job that stopped (its process died, its person
// logged out, it ran out of time): only on its runs not yet started. The
// runs that were in flight are marked unknown and never retried. It goes
// on with the key of the session that started it (or the workspace's
// service key). store.ErrJobRunning when the job's worker still beats.
func (r *RerunJobs) Resume(ctx context.Context, id string) (*RerunJob, error) {
	job, err := r.job(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("upstream: resume bulk re-run: %w", err)
	}
	var stored storedRerunSpec
	if err := json.Unmarshal([]byte(job.Spec), &stored); err != nil {
		return nil, fmt.Errorf("upstream: resume bulk re-run %s: %w", id, err)
	}
	worker := newJobID("w_")
	if err := r.opts.Store.ResumeJob(ctx, id, worker); err != nil {
		return nil, fmt.Errorf("upstream: resume bulk re-run: %w", err)
	}
	return r.work(id, worker, RerunSpec{Conn: stored.Conn, SessionID: job.SessionID, Actor: job.Actor, RequestID: stored.RequestID,
		Reason: stored.Reason, Started: job.StartedAt, Delete: stored.Delete}), nil
}

// job reads job id from the store; store.ErrNotFound when there is none
// or it is neither a bulk re-run nor a bulk delete.
func (r *RerunJobs) job(ctx context.Context, id string) (store.Job, error) {
	job, err := r.opts.Store.GetJob(ctx, id)
	if err == nil && job.Kind != jobKindRerun && job.Kind != jobKindDelete {
		err = fmt.Errorf("job %s: %w", id, store.ErrNotFound)
	}
	return job, err
}

// work starts this process's worker on job id.
func (r *RerunJobs) work(id, worker string, spec RerunSpec) *RerunJob {
	j := &RerunJob{id: id, worker: worker, spec: spec, jobs: r, done: make(chan struct{})}
	r.mu.Lock()
	for old, oj := range r.local {
		if !oj.ended.IsZero() && time.Since(oj.ended) > rerunKeep {
			delete(r.local, old)
		}
	}
	r.local[id] = j
	r.mu.Unlock()
	go j.run()
	return j
}

// Status reads job id from the store; store.ErrNotFound when there is
// none.
func (r *RerunJobs) Status(ctx context.Context, id string) (RerunStatus, error) {
	job, err := r.job(ctx, id)
	if err != nil {
		return RerunStatus{}, fmt.Errorf("upstream: bulk re-run: %w", err)
	}
	items, err := r.opts.Store.JobItems(ctx, id)
	if err != nil {
		return RerunStatus{}, fmt.Errorf("upstream: bulk re-run: %w", err)
	}
	var (
		spec storedRerunSpec
		prog storedRerunProgress
	)
	if err := errors.Join(json.Unmarshal([]byte(job.Spec), &spec), json.Unmarshal([]byte(job.Progress), &prog)); err != nil {
		return RerunStatus{}, fmt.Errorf("upstream: bulk re-run %s: %w", id, err)
	}
	lost := job.Lost(r.opts.Store.Now())
	unknown, workerLost := ErrRerunUnknown, ErrWorkerLost
	if spec.Delete {
		unknown, workerLost = ErrDeleteUnknown, ErrDeleteWorkerLost
	}
	st := RerunStatus{ID: id, Tenant: job.Tenant, SessionID: job.SessionID, Reason: spec.Reason, Total: len(items), Delete: spec.Delete,
		RerunProgress: RerunProgress{Finished: job.State == store.JobEnded || lost, Lost: lost,
			Stopped: decodeJobError(job.Stopped), ServiceKey: prog.ServiceKey}}
	for _, it := range items {
		state := it.State
		if state == store.ItemStarted && lost {
			state = store.ItemUnknown
		}
		switch state {
		case store.ItemPending:
			st.Pending++
		case store.ItemCreated:
			st.Done++
			st.Created = append(st.Created, it.NewRunID)
		case store.ItemDeleted:
			st.Done++
			st.Deleted = append(st.Deleted, it.RunID)
		case store.ItemGone:
			st.Done++
			st.Gone = append(st.Gone, it.RunID)
		case store.ItemFailed:
			st.Done++
			st.Failed = append(st.Failed, RerunFailure{RunID: it.RunID, Err: decodeJobError(it.Error)})
		case store.ItemUnknown:
			st.Done++
			st.Unknown = append(st.Unknown, it.RunID)
			st.Failed = append(st.Failed, RerunFailure{RunID: it.RunID, Err: unknown})
		}
	}
	if lost && st.Stopped == nil {
		st.Stopped = workerLost
	}
	return st, nil
}

// run re-creates each pending run with its original file and config, one
// at a time: GET the run (its config), then create the new one. Each run
// is marked started in the store before its request leaves, so a worker
// that dies leaves it unknown rather than retried. Every new run is
// audited. Before each run the key is looked up anew, so a logout stops
// the job (or hands it to the workspace's service key).
func (j *RerunJob) run() {
	defer func() {
		j.jobs.mu.Lock()
		j.ended = time.Now()
		j.jobs.mu.Unlock()
		close(j.done)
	}()
	opts := j.jobs.opts
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	go beatJob(ctx, opts.Store, j.id, j.worker, opts.Logger)
	s := j.spec
	logger := opts.Logger
	stopped := j.work(ctx, logger)
	if stopped != nil {
		logger.Warn(s.name()+" stopped", "job", j.id, "err", stopped)
	}
	if err := opts.Store.EndJob(context.WithoutCancel(ctx), j.id, j.worker, "", encodeJobError(stopped)); err != nil {
		logger.Error(s.name()+": end not recorded", "job", j.id, "tenant", s.Conn.Tenant, "err", err)
	}
}

// work runs the pending items and returns why it stopped early (nil when
// it got to the end).
func (j *RerunJob) work(ctx context.Context, logger *slog.Logger) error {
	opts, s := j.jobs.opts, j.spec
	items, err := opts.Store.JobItems(ctx, j.id)
	if err != nil {
		return err
	}
	var key Key
	for _, it := range items {
		if it.State != store.ItemPending {
			continue
		}
		prevService := key.service
		key, err = opts.Keys.Next(ctx, s.Conn, s.SessionID, key, s.name()+" "+j.id+" continued after its person logged out")
		if err != nil {
			return err
		}
		if fp, ok := key.Service(); ok && !prevService {
			prog, _ := json.Marshal(storedRerunProgress{ServiceKey: fp})
			if err := opts.Store.BeatJob(ctx, j.id, j.worker, string(prog)); err != nil {
				return err
			}
		}
		if err := opts.Store.StartJobItem(ctx, j.id, j.worker, it.Seq); errors.Is(err, store.ErrNotFound) {
			// The item is no longer pending, or the job went to another
			// worker (it was resumed while this one seemed dead): then
			// the beat fails too and this worker stops.
			if err := opts.Store.BeatJob(ctx, j.id, j.worker, ""); err != nil {
				return err
			}
			continue
		} else if err != nil {
			return err
		}
		var (
			state = store.ItemCreated
			newID string
		)
		if s.Delete {
			state, err = j.deleteOne(ctx, key, it.RunID)
		} else {
			newID, err = j.rerunOne(ctx, key, it.RunID)
		}
		why := ""
		if err != nil {
			state, why = store.ItemFailed, encodeJobError(err)
			logger.Warn(s.name()+": run not done", "job", j.id, "run_id", it.RunID, "err", err)
		}
		if ferr := opts.Store.FinishJobItem(context.WithoutCancel(ctx), j.id, it.Seq, state, newID, why); ferr != nil {
			// The item stays started: once the job ends the page shows
			// it as unknown, which it is.
			return ferr
		}
		if ctx.Err() != nil {
			return RerunError("Stopped: the " + strings.TrimPrefix(s.name(), "bulk ") + " took longer than " + opts.Timeout.String())
		}
	}
	return nil
}

func (j *RerunJob) rerunOne(ctx context.Context, key Key, id string) (string, error) {
	s := j.spec
	cl, err := j.jobs.opts.Keys.Client(s.Conn, key)
	if err != nil {
		return "", err
	}
	run, err := cl.GetEditRun(ctx, id)
	if err != nil {
		return "", err
	}
	if run.File.ID == "" {
		return "", errNoRerunFile
	}
	created, err := cl.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: run.File.ID}, Config: run.Config})
	if errors.Is(err, extendapi.ErrNotFound) {
		return "", RerunError("Extend no longer has its input file " + run.File.ID + ": it was deleted, or never existed (a file URL Extend could not download). Start a new run with the file.")
	}
	if err != nil {
		return "", err
	}
	if err := j.jobs.opts.Store.RecordRerun(context.WithoutCancel(ctx), s.Conn.Tenant, created.ID, id); err != nil {
		j.jobs.opts.Logger.Error("bulk re-run: lineage not recorded", "job", j.id, "run_id", created.ID, "err", err)
	}
	actor := s.Actor
	if fp, ok := key.Service(); ok {
		actor += " (service key " + fp + ")"
	}
	_, aerr := j.jobs.opts.Store.AppendAudit(context.WithoutCancel(ctx), store.AuditEntry{
		Actor: actor, SessionID: s.SessionID, Action: store.AuditRerun, Tenant: s.Conn.Tenant, Target: created.ID,
		Detail: "re-run of " + id + " (bulk " + j.id + ")", RequestID: s.RequestID,
	})
	if aerr != nil {
		j.jobs.opts.Logger.Error("bulk re-run: audit entry not written", "job", j.id, "run_id", created.ID, "err", aerr)
	}
	return created.ID, nil
}

// RerunError is a reason a job gives in the user's terms, to be shown as
// it is.
type RerunError string

func (e RerunError) Error() string { return string(e) }

const errNoRerunFile = RerunError("Extend did not say which file the run used")

// deleteOne deletes run id in Extend: ItemDeleted, or ItemGone when
// Extend answers 404 (deleted elsewhere, or past its retention), which
// counts as done. Either way history records the run gone and the audit
// log gets an entry for it.
func (j *RerunJob) deleteOne(ctx context.Context, key Key, id string) (store.ItemState, error) {
	s, opts := j.spec, j.jobs.opts
	cl, err := opts.Keys.Client(s.Conn, key)
	if err != nil {
		return "", err
	}
	state, detail := store.ItemDeleted, "deleted permanently"
	if err := cl.DeleteEditRun(ctx, id); errors.Is(err, extendapi.ErrNotFound) {
		state, detail = store.ItemGone, "already gone: Extend answers 404"
	} else if err != nil {
		return "", err
	}
	ctx = context.WithoutCancel(ctx)
	if opts.OnDeleted != nil {
		if err := opts.OnDeleted(ctx, s.Conn.Tenant, id); err != nil {
			opts.Logger.Error("bulk delete: deletion not recorded in history", "job", j.id, "run_id", id, "err", err)
		}
	}
	actor := s.Actor
	if fp, ok := key.Service(); ok {
		actor += " (service key " + fp + ")"
	}
	_, aerr := opts.Store.AppendAudit(ctx, store.AuditEntry{
		Actor: actor, SessionID: s.SessionID, Action: store.AuditDelete, Tenant: s.Conn.Tenant, Target: id,
		Detail: detail + " (bulk " + j.id + ")", RequestID: s.RequestID,
	})
	if aerr != nil {
		opts.Logger.Error("bulk delete: audit entry not written", "job", j.id, "run_id", id, "err", aerr)
	}
	return state, nil
}
