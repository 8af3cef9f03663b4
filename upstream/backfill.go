package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
// at a time across every replica. A walk is a job of the store that its
// worker updates page by page, so any replica's settings page reads its
// progress.
type Backfills struct {
	opts BackfillOptions
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
	return &Backfills{opts: opts}, nil
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

// storedBackfill is a backfill job's progress column.
type storedBackfill struct {
	Pages   int    `json:"pages"`
	Seen    int    `json:"seen"`
	New     int    `json:"new"`
	Outcome string `json:"outcome,omitempty"`
	Failed  bool   `json:"failed,omitempty"`
}

func (p storedBackfill) json() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// backfillLost is the outcome of a walk whose process stopped working on
// it.
const backfillLost = "stopped: the Editwatch process running it stopped before the end (it restarted or lost its database); sync again to go on"

// Progress is the tenant's latest backfill, on whichever replica it ran;
// false when there was none.
func (b *Backfills) Progress(ctx context.Context, tenant string) (BackfillProgress, bool, error) {
	job, err := b.opts.Store.LatestJob(ctx, jobKindBackfill, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return BackfillProgress{}, false, nil
	}
	if err != nil {
		return BackfillProgress{}, false, fmt.Errorf("upstream: backfill progress: %w", err)
	}
	var p storedBackfill
	if err := json.Unmarshal([]byte(job.Progress), &p); err != nil {
		return BackfillProgress{}, false, fmt.Errorf("upstream: backfill progress of %s: %w", tenant, err)
	}
	bp := BackfillProgress{Running: job.State == store.JobRunning, Pages: p.Pages, Seen: p.Seen, New: p.New,
		Started: job.StartedAt, Finished: job.FinishedAt, Outcome: p.Outcome, Failed: p.Failed}
	if job.Lost(b.opts.Store.Now()) {
		bp.Running, bp.Failed, bp.Outcome, bp.Finished = false, true, backfillLost, job.HeartbeatAt
	}
	return bp, true, nil
}

// Start walks Extend's list for the connection's tenant in the background,
// with the key of the session that asked (and the workspace's service key
// once that session is gone, when there is one). It reports false when
// one is already running for the tenant, on any replica.
func (b *Backfills) Start(ctx context.Context, conn store.Connection, sessionID string) (bool, error) {
	id := newJobID("bf_")
	err := b.opts.Store.CreateJob(ctx, store.Job{ID: id, Kind: jobKindBackfill, Tenant: conn.Tenant, Worker: id, SessionID: sessionID,
		Progress: storedBackfill{}.json(), StartedAt: b.opts.Now()}, true, nil)
	if errors.Is(err, store.ErrJobRunning) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("upstream: start history sync: %w", err)
	}
	b.opts.Go(func(ctx context.Context) { b.run(ctx, conn, sessionID, id) })
	return true, nil
}

// run walks the list newest first: on the first sync of a tenant down to
// the configured depth (or the end), later until a whole page is already
// known. Calls go through the key's limiter, so the walk stays within the
// workspace's rate budget. A completed walk marks the tenant synced.
func (b *Backfills) run(ctx context.Context, conn store.Connection, sessionID, id string) {
	beatCtx, stopBeat := context.WithCancel(ctx)
	defer stopBeat()
	go beatJob(beatCtx, b.opts.Store, id, id, b.opts.Logger)
	var p storedBackfill
	finish := func(outcome string, failed bool) {
		p.Outcome, p.Failed = outcome, failed
		if err := b.opts.Store.EndJob(context.WithoutCancel(ctx), id, id, p.json(), ""); err != nil {
			b.opts.Logger.ErrorContext(ctx, "history sync: end not recorded", "tenant", conn.Tenant, "job", id, "err", err)
		}
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
		p.Pages++
		p.Seen += len(page.Data)
		p.New += created
		outcome := ""
		switch {
		case page.NextPageToken == "":
			outcome = "completed: reached the oldest run"
		case !firstSync && created == 0 && len(page.Data) > 0:
			outcome = "completed: reached runs history already had"
		case p.Seen >= b.opts.Depth:
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
		if err := b.opts.Store.BeatJob(ctx, id, id, p.json()); err != nil {
			finish("failed: "+err.Error(), true)
			return
		}
		token = page.NextPageToken
	}
}
