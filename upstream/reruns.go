package upstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// RerunJobs tracks bulk re-runs in this process. A job outlives the
// request that started it (it calls Extend within the key's rate budget,
// through the client's limiter) but not the process; finished jobs are
// forgotten after rerunKeep.
type RerunJobs struct {
	opts RerunOptions
	mu   sync.Mutex
	jobs map[string]*RerunJob
}

// rerunKeep is how long a finished job's progress page stays readable.
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
}

// NewRerunJobs returns an empty registry.
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
	return &RerunJobs{opts: opts, jobs: map[string]*RerunJob{}}, nil
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
}

// RerunJob is one bulk re-run.
type RerunJob struct {
	id    string
	spec  RerunSpec
	jobs  *RerunJobs
	done  chan struct{} // closed when the job ends
	mu    sync.Mutex
	prog  RerunProgress
	ended time.Time
}

// RerunProgress is how far a job got.
type RerunProgress struct {
	Done     int
	Created  []string
	Failed   []RerunFailure
	Finished bool
	// Stopped says why the job ended before its last run (nil if it did
	// not): ErrStoppedAtLogout, a timeout, or Extend's error.
	Stopped error
	// ServiceKey is the fingerprint of the service key the job went on
	// with after its session left ("" while it uses the session's key).
	ServiceKey string
}

// RerunFailure is a run that was not started again, and why.
type RerunFailure struct {
	RunID string
	Err   error
}

// ID names the job in its progress page's URL.
func (j *RerunJob) ID() string { return j.id }

// Spec is what the job was started with.
func (j *RerunJob) Spec() RerunSpec { return j.spec }

// Done is closed when the job has ended.
func (j *RerunJob) Done() <-chan struct{} { return j.done }

// Progress is a snapshot of how far the job got.
func (j *RerunJob) Progress() RerunProgress {
	j.mu.Lock()
	defer j.mu.Unlock()
	p := j.prog
	p.Created = slices.Clone(p.Created)
	p.Failed = slices.Clone(p.Failed)
	return p
}

// Get returns the job named id, if this process still knows it.
func (r *RerunJobs) Get(id string) (*RerunJob, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	j, ok := r.jobs[id]
	return j, ok
}

// Start registers a job and runs it in the background.
func (r *RerunJobs) Start(spec RerunSpec) *RerunJob {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	j := &RerunJob{id: "rr_" + hex.EncodeToString(b), spec: spec, jobs: r, done: make(chan struct{})}
	r.mu.Lock()
	for id, old := range r.jobs {
		old.mu.Lock()
		stale := old.prog.Finished && time.Since(old.ended) > rerunKeep
		old.mu.Unlock()
		if stale {
			delete(r.jobs, id)
		}
	}
	r.jobs[j.id] = j
	r.mu.Unlock()
	go j.run()
	return j
}

// run re-creates each run with its original file and config, one at a
// time: GET the run (its config), then create the new one. Every new run
// is audited. Before each run the key is looked up anew, so a logout
// stops the job (or hands it to the workspace's service key).
func (j *RerunJob) run() {
	defer close(j.done)
	timeout := j.jobs.opts.Timeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s := j.spec
	logger := j.jobs.opts.Logger
	var key Key
	for _, id := range s.RunIDs {
		var err error
		key, err = j.jobs.opts.Keys.Next(ctx, s.Conn, s.SessionID, key, "bulk re-run "+j.id+" continued after its person logged out")
		if err != nil {
			j.stop(err)
			logger.Warn("bulk re-run stopped", "job", j.id, "err", err)
			break
		}
		if fp, ok := key.Service(); ok {
			j.mu.Lock()
			j.prog.ServiceKey = fp
			j.mu.Unlock()
		}
		newID, err := j.rerunOne(ctx, key, id)
		j.mu.Lock()
		j.prog.Done++
		if err != nil {
			j.prog.Failed = append(j.prog.Failed, RerunFailure{RunID: id, Err: err})
		} else {
			j.prog.Created = append(j.prog.Created, newID)
		}
		j.mu.Unlock()
		if err != nil {
			logger.Warn("bulk re-run: run not started again", "job", j.id, "run_id", id, "err", err)
		}
		if ctx.Err() != nil {
			j.stop(RerunError("stopped: the re-run took longer than " + timeout.String()))
			break
		}
	}
	j.mu.Lock()
	j.prog.Finished, j.ended = true, time.Now()
	j.mu.Unlock()
}

func (j *RerunJob) stop(why error) {
	j.mu.Lock()
	j.prog.Stopped = why
	j.mu.Unlock()
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
