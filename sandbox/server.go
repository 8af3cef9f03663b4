package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// Server is the sandbox: an http.Handler serving the Extend Edit API, with
// a worker pool, webhook deliveries and optional persistence. Create it with
// New and stop it with Close.
type Server struct {
	opts    Options
	logger  *slog.Logger
	engine  *Engine
	mux     *http.ServeMux
	blobs   *blobStore
	fetcher *urlFetcher
	limiter *rateLimiter
	queue   *jobQueue
	persist *persister // nil when in memory
	demo    []DemoForm
	extra   []dirTemplate // from Options.TemplatesDir

	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup // every goroutine the server starts
	closeOnce sync.Once
	closeErr  error

	faultsMu sync.RWMutex
	faults   Faults

	mu        sync.Mutex // guards everything below and all workspace data
	state     *storeState
	seqs      map[string]*commitSequence // by workspace
	waiters   map[string][]chan struct{} // run ID -> closed when it finishes
	lastStamp time.Time
	payloads  map[string]largePayload // event ID -> payload served by signed URL
	delivery  deliveryQueue

	// Tunables that tests shorten.
	syncTimeout   time.Duration
	retrySchedule []time.Duration
}

// syncRunTimeout caps POST /edit and POST /detect_form, as upstream (§2.1).
const syncRunTimeout = 5 * time.Minute

// New builds a Server: it loads the state from Options.DataDir when there is
// one, re-queues runs that were processing, seeds when asked, and starts the
// workers.
func New(opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	demo, err := DemoForms()
	if err != nil {
		return nil, fmt.Errorf("sandbox: generate demo forms: %w", err)
	}
	extra, err := loadDirTemplates(opts.TemplatesDir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:          opts,
		logger:        opts.Logger,
		engine:        NewEngine(opts.Logger),
		demo:          demo,
		extra:         extra,
		faults:        opts.Faults,
		seqs:          map[string]*commitSequence{},
		waiters:       map[string][]chan struct{}{},
		payloads:      map[string]largePayload{},
		syncTimeout:   syncRunTimeout,
		retrySchedule: defaultRetrySchedule,
	}
	if opts.syncTimeout > 0 {
		s.syncTimeout = opts.syncTimeout
	}
	if opts.retrySchedule != nil {
		s.retrySchedule = opts.retrySchedule
	}
	if err := s.openStorage(); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.fetcher = newURLFetcher(opts.AllowPrivateURLs, opts.MaxUpload)
	s.limiter = newRateLimiter(opts.RateLimit)
	s.queue = newJobQueue()
	s.delivery = newDeliveryQueue()
	s.routes()

	if err := s.prepareWorkspaces(); err != nil {
		s.abort()
		return nil, err
	}
	if opts.Seed && !s.state.Seeded {
		if err := s.seed(); err != nil {
			s.abort()
			return nil, err
		}
	}
	s.start()
	return s, nil
}

// openStorage prepares the blob store and loads or creates the state.
func (s *Server) openStorage() error {
	if s.opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "editwatch-sandbox-*")
		if err != nil {
			return fmt.Errorf("sandbox: temporary file store: %w", err)
		}
		s.blobs = &blobStore{dir: dir, temporary: true}
		s.state = newStoreState()
		return nil
	}
	s.blobs = &blobStore{dir: filepath.Join(s.opts.DataDir, "files")}
	if err := os.MkdirAll(s.blobs.dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: data dir: %w", err)
	}
	s.persist = newPersister(filepath.Join(s.opts.DataDir, stateFileName))
	st, err := s.persist.load()
	if err != nil {
		return err
	}
	s.state = st
	return nil
}

// prepareWorkspaces creates every workspace a key names, with its built-in
// and directory templates.
func (s *Server) prepareWorkspaces() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ws := range s.opts.APIKeys {
		if ws == OrganizationScope {
			continue
		}
		if _, err := s.workspaceLocked(ws); err != nil {
			return err
		}
	}
	for ws := range s.state.Workspaces {
		if _, err := s.workspaceLocked(ws); err != nil {
			return err
		}
	}
	return nil
}

// start launches the workers, the webhook dispatcher and the persister, then
// re-queues what was in flight when the state was last saved.
func (s *Server) start() {
	for range s.opts.Workers {
		s.wg.Go(s.work)
	}
	s.wg.Go(s.dispatchDeliveries)
	if s.persist != nil {
		s.wg.Go(func() { s.persist.run(s.ctx, s.snapshot) })
	}
	s.mu.Lock()
	s.requeueInterruptedLocked()
	s.resumeDeliveriesLocked()
	s.markDirtyLocked()
	s.mu.Unlock()
}

// abort undoes a half-built New.
func (s *Server) abort() {
	s.cancel()
	if s.blobs.temporary {
		_ = os.RemoveAll(s.blobs.dir)
	}
}

// Close stops the workers and webhook deliveries, waits for every goroutine
// the server started, saves the state (runs still processing are re-queued
// by the next New on the same DataDir) and removes in-memory files.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.fetcher.close()
		s.closeDeliveryClient()
		var errs []error
		if s.persist != nil {
			errs = append(errs, s.persist.save(s.snapshot()))
		}
		if s.blobs.temporary {
			errs = append(errs, os.RemoveAll(s.blobs.dir))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Faults returns the current fault injection.
func (s *Server) Faults() Faults {
	s.faultsMu.RLock()
	defer s.faultsMu.RUnlock()
	return s.faults
}

// SetFaults replaces the fault injection as it is: call Faults.Validate
// first on values that come from outside.
func (s *Server) SetFaults(f Faults) {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	s.faults = f
}

// TemplateIDs lists the edit template IDs a workspace can use (upstream has
// no list endpoint, so the command prints them).
func (s *Server) TemplateIDs(workspace string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	wd, err := s.workspaceLocked(workspace)
	if err != nil {
		return nil
	}
	return sortedKeys(wd.Templates)
}

// ServeHTTP serves the API. Every answer carries x-extend-request-id.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newID("req_")
	w.Header().Set(extendapi.HeaderRequestID, requestID)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if s.ctx.Err() != nil {
		s.writeError(rec, r, &apiError{status: http.StatusServiceUnavailable, code: codeInternalError, retryable: true,
			message: "the sandbox is shutting down"})
	} else {
		s.mux.ServeHTTP(rec, r)
	}
	s.logger.Debug("sandbox: request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"requestId", requestID, "duration", time.Since(start))
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// stamp returns the clock's time, strictly after every stamp before it, so
// timestamps order runs by arrival even under a frozen test clock.
func (s *Server) stampLocked() time.Time {
	now := s.opts.Clock().UTC()
	if !now.After(s.lastStamp) {
		now = s.lastStamp.Add(time.Nanosecond)
	}
	s.lastStamp = now
	return now
}
