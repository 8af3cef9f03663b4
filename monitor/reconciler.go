package monitor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// Reconciler settles runs whose webhook never came: runs history still
// shows processing, that nobody has seen for a while, are fetched from
// Extend and their answer ingested (or their deletion recorded). Keys live
// in sessions, so with nobody logged in this is possible only for the
// workspaces that opted in to a service key; the others are settled by the
// refresher while someone watches them, and by the next list or backfill.
type Reconciler struct {
	store *store.Store
	mon   *Monitor
	opts  ReconcilerOptions
}

// RunFetcher reads one run from Extend. It is an alias, so a reader made
// elsewhere (upstream.Keys.ServiceKeyFetcher) fits without naming monitor.
type RunFetcher = func(ctx context.Context, runID string) (*extendapi.EditRun, error)

// ReconcilerOptions configure NewReconciler. Zero durations take the
// defaults.
type ReconcilerOptions struct {
	// Interval is the time between sweeps (default one minute).
	Interval time.Duration
	// StaleAfter: a processing run not seen for this long is asked about
	// (default two minutes; every sighting, this one included, resets it,
	// so a run that stays processing is asked about at most that often).
	StaleAfter time.Duration
	// MaxAge: runs created longer ago are left alone (default one day):
	// Extend finishes or fails runs long before that.
	MaxAge time.Duration
	// Batch is the most runs asked about per tenant and sweep (default 50),
	// so one sweep stays well inside the workspace's rate budget.
	Batch int
	// Fetcher returns the reader of tenant's runs, made with its service
	// key (the implementation audits the use). It is called once per
	// sweep and tenant with something to reconcile.
	Fetcher func(ctx context.Context, tenant string, runs int) (RunFetcher, error)
	Now     func() time.Time
	Logger  *slog.Logger
}

// ReconcileReport says what one sweep did.
type ReconcileReport struct {
	Tenants int // tenants with a service key
	Asked   int // runs fetched from Extend
	Settled int // runs now finished (or deleted)
	Errors  int // tenants whose sweep ended early
}

// NewReconciler returns a reconciler; Fetcher is required.
func NewReconciler(st *store.Store, mon *Monitor, opts ReconcilerOptions) (*Reconciler, error) {
	if opts.Fetcher == nil {
		return nil, errors.New("monitor: reconciler: no fetcher")
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 2 * time.Minute
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 24 * time.Hour
	}
	if opts.Batch <= 0 {
		opts.Batch = 50
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Reconciler{store: st, mon: mon, opts: opts}, nil
}

// RunOnce sweeps every tenant with a service key once.
func (r *Reconciler) RunOnce(ctx context.Context) (ReconcileReport, error) {
	tenants, err := r.store.ServiceKeyTenants(ctx)
	if err != nil {
		return ReconcileReport{}, err
	}
	rep := ReconcileReport{Tenants: len(tenants)}
	now := r.opts.Now()
	for _, tenant := range tenants {
		asked, settled, err := r.sweep(ctx, tenant, now)
		rep.Asked += asked
		rep.Settled += settled
		if err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			rep.Errors++
			r.opts.Logger.WarnContext(ctx, "reconcile: sweep of a workspace ended early; the rest waits for the next sweep",
				"tenant", tenant, "asked", asked, "err", err)
		}
	}
	return rep, nil
}

func (r *Reconciler) sweep(ctx context.Context, tenant string, now time.Time) (asked, settled int, err error) {
	runs, err := r.store.UnsettledRuns(ctx, tenant, now.Add(-r.opts.StaleAfter), now.Add(-r.opts.MaxAge), r.opts.Batch)
	if err != nil || len(runs) == 0 {
		return 0, 0, err
	}
	fetch, err := r.opts.Fetcher(ctx, tenant, len(runs))
	if err != nil {
		return 0, 0, err
	}
	for _, snap := range runs {
		run, err := fetch(ctx, snap.RunID)
		asked++
		switch {
		case errors.Is(err, extendapi.ErrNotFound):
			// The service key was checked against this workspace when it
			// was set, so a 404 means the run is gone.
			if _, err := r.mon.RecordDeleted(ctx, tenant, snap.RunID); err != nil {
				return asked, settled, err
			}
			settled++
		case err != nil:
			// A rate limit, a revoked key, Extend failing: stop here and
			// try the rest at the next sweep.
			return asked, settled, err
		default:
			ch, err := r.mon.Ingest(ctx, tenant, store.ViaReconcile, *run)
			if err != nil {
				return asked, settled, err
			}
			if store.IsFinished(ch.After.Status) {
				settled++
			}
		}
	}
	return asked, settled, nil
}

// Run sweeps every Interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context) {
	ticker := time.NewTicker(r.opts.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		rep, err := r.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.opts.Logger.ErrorContext(ctx, "reconcile: sweep failed", "err", err)
		case rep.Asked > 0:
			r.opts.Logger.InfoContext(ctx, "reconciled runs whose webhook never came", "asked", rep.Asked, "settled", rep.Settled)
		}
	}
}
