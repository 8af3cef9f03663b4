package sandbox

import (
	"slices"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// jobKind says which pipeline a queued run goes through.
type jobKind int

const (
	jobEdit jobKind = iota
	jobDetect
)

// job is a queued run. seq orders it within its workspace.
type job struct {
	kind      jobKind
	workspace string
	runID     string
	seq       uint64
	// readyAt is when the result may be applied at the earliest, the
	// processingTime fault (hold) after the run's creation; zero for no wait.
	readyAt time.Time
	hold    time.Duration
}

// jobQueue is an unbounded FIFO shared by the workers: submissions never
// block an HTTP handler, and the pool size bounds the work in flight.
type jobQueue struct {
	mu     sync.Mutex
	items  []job
	signal chan struct{} // holds a token while items may be waiting
}

func newJobQueue() *jobQueue {
	return &jobQueue{signal: make(chan struct{}, 1)}
}

func (q *jobQueue) push(j job) {
	q.mu.Lock()
	q.items = append(q.items, j)
	q.mu.Unlock()
	q.notify()
}

// pop takes the oldest job, passing the token on when more remain so that
// idle workers wake one after another.
func (q *jobQueue) pop() (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return job{}, false
	}
	j := q.items[0]
	q.items[0] = job{}
	q.items = q.items[1:]
	if len(q.items) == 0 {
		q.items = nil // let the backing array go
	} else {
		q.notify()
	}
	return j, true
}

func (q *jobQueue) notify() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// commitSequence makes a workspace's runs finish in order of arrival: each
// run gets a number when queued, workers process runs in parallel, and a
// result is applied only once every earlier run of the workspace has been.
type commitSequence struct {
	next    uint64                // number for the next queued run
	commit  uint64                // number of the next result to apply
	pending map[uint64]*jobResult // finished early, waiting for their turn
}

// enqueueNewLocked queues a run just created, which the processingTime fault
// keeps PROCESSING for that long.
func (s *Server) enqueueNewLocked(kind jobKind, workspace, runID string) {
	s.enqueueLocked(kind, workspace, runID, max(s.Faults().ProcessingTime, 0))
}

// enqueueLocked numbers a run and queues it; its result is applied no
// sooner than hold from now.
func (s *Server) enqueueLocked(kind jobKind, workspace, runID string, hold time.Duration) {
	seq := s.seqs[workspace]
	if seq == nil {
		seq = &commitSequence{pending: map[uint64]*jobResult{}}
		s.seqs[workspace] = seq
	}
	j := job{kind: kind, workspace: workspace, runID: runID, seq: seq.next}
	if hold > 0 {
		j.readyAt, j.hold = time.Now().Add(hold), hold
	}
	seq.next++
	s.queue.push(j)
}

// work is one worker: it processes queued runs until the server closes.
func (s *Server) work() {
	for {
		j, ok := s.queue.pop()
		if !ok {
			select {
			case <-s.queue.signal:
				continue
			case <-s.ctx.Done():
				return
			}
		}
		if s.ctx.Err() != nil {
			return // left PROCESSING in the state: re-queued by the next start
		}
		res := s.process(j)
		if s.ctx.Err() != nil {
			// Interrupted by Close: the result may be an artefact of the
			// cancellation, so the run stays PROCESSING for the next start.
			res.discard()
			return
		}
		if wait := time.Until(j.readyAt); wait > 0 {
			// The worker moves on; a timer applies the result when due.
			res.elapsed = max(res.elapsed, j.hold)
			s.wg.Go(func() { s.finishAfter(res, wait) })
			continue
		}
		s.finish(res)
	}
}

// finishAfter applies a result held by the processingTime fault once its
// time has come; a Close first leaves the run PROCESSING for the next start.
func (s *Server) finishAfter(res *jobResult, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		s.finish(res)
	case <-s.ctx.Done():
		res.discard()
	}
}

// finish files a result and applies every result whose turn has come.
func (s *Server) finish(res *jobResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.seqs[res.job.workspace]
	seq.pending[res.job.seq] = res
	for {
		next, ok := seq.pending[seq.commit]
		if !ok {
			return
		}
		delete(seq.pending, seq.commit)
		seq.commit++
		s.applyLocked(next)
	}
}

// requeueInterruptedLocked queues the runs a previous process left
// PROCESSING, oldest first.
func (s *Server) requeueInterruptedLocked() {
	type queued struct {
		kind      jobKind
		workspace string
		key       sortKey
	}
	var all []queued
	for _, wd := range s.state.Workspaces {
		for _, rec := range wd.EditRuns {
			if rec.Run.Status == extendapi.StatusProcessing && !rec.Stuck && !rec.delayed {
				all = append(all, queued{jobEdit, wd.ID, sortKey{*rec.Run.CreatedAt, rec.Run.ID}})
			}
		}
		for _, rec := range wd.DetectionRuns {
			if rec.Run.Status == extendapi.StatusProcessing && !rec.Stuck {
				all = append(all, queued{jobDetect, wd.ID, sortKey{rec.CreatedAt, rec.Run.ID}})
			}
		}
	}
	slices.SortFunc(all, func(a, b queued) int {
		if a.key.before(b.key) {
			return -1
		}
		return 1
	})
	for _, q := range all {
		s.enqueueLocked(q.kind, q.workspace, q.key.id, 0)
	}
}
