package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// RerunJobs tracks bulk re-runs in this process. A job outlives the
// request that started it (it calls Extend within the key's rate budget,
// through the client's limiter) but not the process; finished jobs are
// forgotten after rerunKeep.
type RerunJobs struct {
	mu   sync.Mutex
	jobs map[string]*bulkRerun
}

// rerunKeep is how long a finished job's progress page stays readable.
const rerunKeep = time.Hour

// NewRerunJobs returns an empty registry.
func NewRerunJobs() *RerunJobs { return &RerunJobs{jobs: map[string]*bulkRerun{}} }

// rerunSpec is what a job needs: the runs, the connection and session
// whose key starts them (see nextBackgroundKey: the job stops at logout
// unless the workspace has a service key), and who to attribute each new
// run to in the audit log.
type rerunSpec struct {
	tenant, ws, sessionID, actor, requestID, reason string
	runIDs                                          []string
	conn                                            connection
	app                                             *App
	started                                         time.Time
}

// bulkRerun is one job.
type bulkRerun struct {
	id   string
	spec rerunSpec
	done chan struct{} // closed when the job ends

	mu       sync.Mutex
	progress rerunProgress
	ended    time.Time
}

type rerunProgress struct {
	done     int
	created  []string
	failed   []views.RerunFailure
	finished bool
	// stopped says why the job ended before its last run ("" if it did not).
	stopped string
	// serviceKey is the fingerprint of the service key the job went on
	// with after its session left ("" while it uses the session's key).
	serviceKey string
}

func (j *bulkRerun) snapshot() rerunProgress {
	j.mu.Lock()
	defer j.mu.Unlock()
	p := j.progress
	p.created = slices.Clone(p.created)
	p.failed = slices.Clone(p.failed)
	return p
}

func (r *RerunJobs) get(id string) (*bulkRerun, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	j, ok := r.jobs[id]
	return j, ok
}

// start registers a job and runs it in the background.
func (r *RerunJobs) start(spec rerunSpec) *bulkRerun {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	j := &bulkRerun{id: "rr_" + hex.EncodeToString(b), spec: spec, done: make(chan struct{})}
	r.mu.Lock()
	for id, old := range r.jobs {
		old.mu.Lock()
		stale := old.progress.finished && time.Since(old.ended) > rerunKeep
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
func (j *bulkRerun) run() {
	defer close(j.done)
	ctx, cancel := context.WithTimeout(context.Background(), rerunTimeout)
	defer cancel()
	s := j.spec
	logger := s.app.Logger
	var key backgroundKey
	for _, id := range s.runIDs {
		var err error
		key, err = s.app.nextBackgroundKey(ctx, s.conn, s.sessionID, key, "bulk re-run "+j.id+" continued after its person logged out")
		if err != nil {
			j.stop(rerunErrorText(err, s.ws))
			logger.Warn("bulk re-run stopped", "job", j.id, "err", err)
			break
		}
		if key.service {
			j.mu.Lock()
			j.progress.serviceKey = store.ServiceKeyFingerprint(key.key)
			j.mu.Unlock()
		}
		newID, err := j.rerunOne(ctx, key, id)
		j.mu.Lock()
		j.progress.done++
		if err != nil {
			j.progress.failed = append(j.progress.failed, views.RerunFailure{RunID: id, Error: rerunErrorText(err, s.ws)})
		} else {
			j.progress.created = append(j.progress.created, newID)
		}
		j.mu.Unlock()
		if err != nil {
			logger.Warn("bulk re-run: run not started again", "job", j.id, "run_id", id, "err", err)
		}
		if ctx.Err() != nil {
			j.stop("stopped: the re-run took longer than " + rerunTimeout.String())
			break
		}
	}
	j.mu.Lock()
	j.progress.finished, j.ended = true, time.Now()
	j.mu.Unlock()
}

func (j *bulkRerun) stop(why string) {
	j.mu.Lock()
	j.progress.stopped = why
	j.mu.Unlock()
}

func (j *bulkRerun) rerunOne(ctx context.Context, key backgroundKey, id string) (string, error) {
	s := j.spec
	cl, err := s.app.backgroundClient(s.conn, key)
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
		return "", rerunError("Extend no longer has its input file " + run.File.ID + ": it was deleted, or never existed (a file URL Extend could not download). Start a new run with the file.")
	}
	if err != nil {
		return "", err
	}
	actor := s.actor
	if key.service {
		actor += " (service key " + store.ServiceKeyFingerprint(key.key) + ")"
	}
	_, aerr := s.app.Store.AppendAudit(context.WithoutCancel(ctx), store.AuditEntry{
		Actor: actor, SessionID: s.sessionID, Action: store.AuditRerun, Tenant: s.tenant, Target: created.ID,
		Detail: "re-run of " + id + " (bulk " + j.id + ")", RequestID: s.requestID,
	})
	if aerr != nil {
		s.app.Logger.Error("bulk re-run: audit entry not written", "job", j.id, "run_id", created.ID, "err", aerr)
	}
	return created.ID, nil
}

type rerunError string

func (e rerunError) Error() string { return string(e) }

const errNoRerunFile = rerunError("Extend did not say which file the run used")

// rerunErrorText is what the progress page says about a run that was not
// started again, or about why the job stopped.
func rerunErrorText(err error, ws string) string {
	if errors.Is(err, errStoppedAtLogout) {
		return "Stopped: the person who started this re-run logged out (or disconnected the workspace), and the workspace has no service key to go on with. The runs not yet started were left as they are."
	}
	var re rerunError
	if errors.As(err, &re) {
		return string(re)
	}
	pe := describeError(err, errRunContext{workspace: ws}, "Extend")
	if pe.Explanation != "" && pe.Category != "internal" {
		return pe.Heading + ": " + pe.Explanation
	}
	return err.Error()
}

func itoa(n int) string { return strconv.Itoa(n) }
