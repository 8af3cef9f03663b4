package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// ListFunc lists the first page of a workspace's runs, newest change first
// (GET /edit_runs through the client of someone who may read the
// workspace, which holds the workspace's rate budget).
type ListFunc func(ctx context.Context) ([]extendapi.EditRun, error)

// WorkspacePollPageSize is how many of a workspace's newest runs a poll
// reads: the first page of Extend's list.
const WorkspacePollPageSize = 25

// ListFirstPage is the ListFunc of cl: the first page of its workspace's
// runs, newest change first.
func ListFirstPage(cl *extendapi.Client) ListFunc {
	return func(ctx context.Context) ([]extendapi.EditRun, error) {
		list, err := cl.ListEditRuns(ctx, extendapi.ListEditRunsParams{MaxPageSize: WorkspacePollPageSize})
		if err != nil {
			return nil, err
		}
		return list.Data, nil
	}
}

// DefaultWorkspacePollInterval is the default of
// WorkspacePollerOptions.Interval: new runs show within a few seconds.
const DefaultWorkspacePollInterval = 3 * time.Second

// WorkspacePollerOptions configure NewWorkspacePoller.
type WorkspacePollerOptions struct {
	// Store holds the lease that lets one replica poll a workspace.
	Store *store.Store
	// Ingest records a polled page in history and publishes what changed
	// (Monitor.IngestMany with store.ViaList): the broker carries the
	// result to every replica's event streams.
	Ingest func(ctx context.Context, tenant string, runs []extendapi.EditRun) error
	// Interval is the least time between two polls of one workspace
	// (default DefaultWorkspacePollInterval).
	Interval time.Duration
	Logger   *slog.Logger
}

// WorkspacePoller learns of runs that started elsewhere (Extend sends no
// webhook when a run is created) with one shared poll per workspace: the
// first page of the workspace's runs, at most every Interval, and only
// while someone wants it. However many people watch a workspace, and on
// however many replicas, it costs one Extend call per Interval: each
// replica polls only while it holds the workspace's lease
// ("workspace-poll:" + tenant in the store), and what it ingests reaches
// every replica's streams through the broker.
type WorkspacePoller struct {
	opts   WorkspacePollerOptions
	holder string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	tenants map[string]*polledWorkspace
	seq     uint64
}

// polledWorkspace is one workspace somebody wants polled.
type polledWorkspace struct {
	wants holders[want] // the most recent want's ListFunc polls
	wake  chan struct{}
}

type want struct {
	reason string
	list   ListFunc
}

// NewWorkspacePoller returns a poller; Close stops it.
func NewWorkspacePoller(opts WorkspacePollerOptions) *WorkspacePoller {
	if opts.Interval <= 0 {
		opts.Interval = DefaultWorkspacePollInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id) // never fails (crypto/rand panics instead)
	ctx, cancel := context.WithCancel(context.Background())
	return &WorkspacePoller{opts: opts, holder: hex.EncodeToString(id), ctx: ctx, cancel: cancel,
		tenants: map[string]*polledWorkspace{}}
}

// Want asks for tenant's first page of runs to be polled until the
// returned stop is called; stop is idempotent. Polling goes on while at
// least one want is held, whoever holds it, and stops (releasing the
// lease) when the last is dropped.
//
// reason says who wants the workspace polled, for logs and Wanted:
// "viewer" for an open event stream, or e.g. "alerts" for a background
// evaluator that must see new runs with nobody watching. Such a caller
// holds its want for as long as it needs (for ever: call stop at
// shutdown) and passes a list that works without a person's session,
// e.g. one built on the workspace's service key (upstream.Keys).
//
// list is used while this want is the most recent one still held, so a
// poll always runs with the key of somebody still interested. Its errors
// (rate limits, outages) are logged and the next poll comes at the usual
// interval.
func (p *WorkspacePoller) Want(tenant, reason string, list ListFunc) (stop func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	id := p.seq
	ws := p.tenants[tenant]
	if ws == nil {
		ws = &polledWorkspace{wants: newHolders[want](), wake: make(chan struct{})}
		p.tenants[tenant] = ws
		if p.ctx.Err() == nil {
			p.wg.Add(1)
			go p.poll(tenant, ws)
		}
	}
	ws.wants.add(id, want{reason: reason, list: list})
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if ws.wants.remove(id) {
				if p.tenants[tenant] == ws {
					delete(p.tenants, tenant)
				}
				close(ws.wake)
			}
		})
	}
}

// Wanted reports the reasons tenant is polled for, one per want held
// (empty: not polled).
func (p *WorkspacePoller) Wanted(tenant string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	if ws := p.tenants[tenant]; ws != nil {
		for _, w := range ws.wants.byID {
			out = append(out, w.reason)
		}
	}
	return out
}

// leaseName is the store lease of a workspace's poll.
func leaseName(tenant string) string { return "workspace-poll:" + tenant }

// poll lists tenant's first page every Interval, while this replica holds
// the workspace's lease, until nobody wants it.
func (p *WorkspacePoller) poll(tenant string, ws *polledWorkspace) {
	defer p.wg.Done()
	name := leaseName(tenant)
	defer func() {
		// Let another replica take over at once instead of after the ttl.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if p.opts.Store != nil {
			_ = p.opts.Store.ReleaseLease(ctx, name, p.holder)
		}
	}()
	// The lease outlives a few missed renewals, so a slow poll does not
	// hand the workspace to another replica.
	ttl := 3 * p.opts.Interval
	ticker := time.NewTicker(p.opts.Interval)
	defer ticker.Stop()
	for {
		p.pollOnce(tenant, ws, name, ttl)
		select {
		case <-p.ctx.Done():
			return
		case <-ws.wake:
			return
		case <-ticker.C:
		}
	}
}

func (p *WorkspacePoller) pollOnce(tenant string, ws *polledWorkspace, lease string, ttl time.Duration) {
	if p.opts.Store != nil {
		held, err := p.opts.Store.TryLease(p.ctx, lease, p.holder, ttl)
		if err != nil {
			p.opts.Logger.Warn("monitor: workspace poll: lease", "tenant", tenant, "err", err)
			return
		}
		if !held {
			return // another replica polls this workspace
		}
	}
	p.mu.Lock()
	list := ws.wants.current().list
	p.mu.Unlock()
	if list == nil {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 2*p.opts.Interval+30*time.Second)
	defer cancel()
	runs, err := list(ctx)
	if err != nil {
		if p.ctx.Err() == nil {
			p.opts.Logger.Debug("monitor: workspace poll failed", "tenant", tenant, "err", err)
		}
		return
	}
	if p.opts.Ingest != nil && len(runs) > 0 {
		if err := p.opts.Ingest(ctx, tenant, runs); err != nil {
			p.opts.Logger.Warn("monitor: workspace poll: ingest", "tenant", tenant, "err", err)
		}
	}
}

// Close stops every poll and waits for them.
func (p *WorkspacePoller) Close() {
	p.cancel()
	p.wg.Wait()
}
