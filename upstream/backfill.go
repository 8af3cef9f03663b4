package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// DefaultBackfillDepth bounds how many runs one backfill walks when
// BackfillOptions.Depth is not set.
const DefaultBackfillDepth = 10_000

// backfillPageSize is the page size asked of Extend while walking its list.
const backfillPageSize = 100

// BackfillOptions configure NewBackfills.
type BackfillOptions struct {
	Store *store.Store
	Keys  *Keys
	// Ingest records a page of runs in the tenant's history and reports how
	// many were new to it (monitor.Monitor.IngestMany with store.ViaBackfill).
	Ingest func(ctx context.Context, tenant string, runs []extendapi.EditRun) (created int, err error)
	// Go runs a backfill outside any request, under the process's lifetime
	// (monitor.Live.Background).
	Go func(fn func(ctx context.Context))
	// Depth bounds how many runs one backfill walks (DefaultBackfillDepth).
	Depth  int
	Now    func() time.Time
	Logger *slog.Logger
}

// Backfills walks Extend's list of runs into history, one walk per tenant
// at a time in this process, and remembers each tenant's latest walk.
type Backfills struct {
	opts BackfillOptions
	mu   sync.Mutex
	m    map[string]*backfillState
}

// NewBackfills checks opts and fills in defaults.
func NewBackfills(opts BackfillOptions) (*Backfills, error) {
	if opts.Store == nil || opts.Keys == nil || opts.Ingest == nil || opts.Go == nil {
		return nil, errors.New("upstream: backfills need a store, keys, an ingest and a way to run in the background")
	}
	if opts.Depth <= 0 {
		opts.Depth = DefaultBackfillDepth
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Backfills{opts: opts, m: map[string]*backfillState{}}, nil
}

// BackfillProgress is how far a tenant's backfill got.
type BackfillProgress struct {
	Running  bool
	Pages    int
	Seen     int
	New      int
	Started  time.Time
	Finished time.Time
	Outcome  string // how it ended
	Failed   bool
}

type backfillState struct {
	mu       sync.Mutex
	progress BackfillProgress
}

func (s *backfillState) snapshot() BackfillProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.progress
}

func (s *backfillState) update(fn func(p *BackfillProgress)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.progress)
}

// Progress is the tenant's latest backfill in this process, if any.
func (b *Backfills) Progress(tenant string) (BackfillProgress, bool) {
	b.mu.Lock()
	st := b.m[tenant]
	b.mu.Unlock()
	if st == nil {
		return BackfillProgress{}, false
	}
	return st.snapshot(), true
}

// Start walks Extend's list for the connection's tenant in the background,
// with the key of the session that asked (and the workspace's service key
// once that session is gone, when there is one). It reports false when
// one is already running for the tenant.
func (b *Backfills) Start(conn store.Connection, sessionID string) bool {
	b.mu.Lock()
	if st := b.m[conn.Tenant]; st != nil && st.snapshot().Running {
		b.mu.Unlock()
		return false
	}
	st := &backfillState{progress: BackfillProgress{Running: true, Started: b.opts.Now()}}
	b.m[conn.Tenant] = st
	b.mu.Unlock()
	b.opts.Go(func(ctx context.Context) { b.run(ctx, conn, sessionID, st) })
	return true
}

// run walks the list newest first: on the first sync of a tenant down to
// the configured depth (or the end), later until a whole page is already
// known. Calls go through the key's limiter, so the walk stays within the
// workspace's rate budget. A completed walk marks the tenant synced.
func (b *Backfills) run(ctx context.Context, conn store.Connection, sessionID string, st *backfillState) {
	finish := func(outcome string, failed bool) {
		st.update(func(p *BackfillProgress) {
			p.Running, p.Finished, p.Outcome, p.Failed = false, b.opts.Now(), outcome, failed
		})
		if failed {
			b.opts.Logger.WarnContext(ctx, "history sync ended early", "tenant", conn.Tenant, "outcome", outcome)
		}
	}
	firstSync := true
	if t, err := b.opts.Store.GetTenant(ctx, conn.Tenant); err == nil {
		firstSync = t.SyncedAt.IsZero()
	}
	var (
		key   Key
		token string
		seen  int
	)
	for {
		var err error
		if key, err = b.opts.Keys.Next(ctx, conn, sessionID, key, "history sync continued after its person logged out"); err != nil {
			finish(err.Error(), true)
			return
		}
		cl, err := b.opts.Keys.Client(conn, key)
		if err != nil {
			finish("failed: "+err.Error(), true)
			return
		}
		page, err := cl.ListEditRuns(ctx, extendapi.ListEditRunsParams{SortBy: extendapi.SortByCreatedAt, SortDir: extendapi.SortDesc,
			MaxPageSize: backfillPageSize, NextPageToken: token})
		if err != nil {
			finish("failed: "+err.Error(), true)
			return
		}
		created, err := b.opts.Ingest(ctx, conn.Tenant, page.Data)
		if err != nil {
			finish("failed: "+err.Error(), true)
			return
		}
		seen += len(page.Data)
		st.update(func(p *BackfillProgress) { p.Pages++; p.Seen += len(page.Data); p.New += created })
		outcome := ""
		switch {
		case page.NextPageToken == "":
			outcome = "completed: reached the oldest run"
		case !firstSync && created == 0 && len(page.Data) > 0:
			outcome = "completed: reached runs history already had"
		case seen >= b.opts.Depth:
			outcome = fmt.Sprintf("completed: reached the configured depth of %d runs", b.opts.Depth)
		}
		if outcome != "" {
			if err := b.opts.Store.MarkTenantSynced(ctx, conn.Tenant, b.opts.Now()); err != nil {
				finish("failed: "+err.Error(), true)
				return
			}
			finish(outcome, false)
			return
		}
		token = page.NextPageToken
	}
}
