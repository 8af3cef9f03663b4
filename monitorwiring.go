package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// closingBroker is a broker the process shuts down.
type closingBroker interface {
	monitor.Broker
	Close()
}

// pgBroker adapts PGBroker's Close, which reports an error, to closingBroker.
type pgBroker struct{ *monitor.PGBroker }

func (b pgBroker) Close() { _ = b.PGBroker.Close() }

// liveParts are what the pages get of history and live updates.
type liveParts struct {
	live      *monitor.Live
	backfills *upstream.Backfills
	keys      *upstream.Keys
}

// startLive starts history and live updates: the broker (in memory, or
// LISTEN/NOTIFY when --db is PostgreSQL), the monitor, the refresher of
// watched runs, the history backfills, the reconciler of runs whose
// webhook never came (for workspaces with a service key) and the janitor,
// the one retention loop (history, deliveries, audit, expired sessions).
// Webhook events stored but not applied before a crash are applied now.
// Every Extend call goes through connector. When ctx ends, the broker
// closes first, so event streams end and the server's graceful shutdown
// is not held up by them; stop ends the rest and waits for it.
func startLive(ctx context.Context, cfg config.Serve, st *store.Store, connector *upstream.Connector, logger *slog.Logger) (parts liveParts, stop func(), err error) {
	var broker closingBroker = monitor.NewMemoryBroker()
	if config.IsPostgresDSN(cfg.DB) {
		listener, err := st.Listen(ctx, store.ListenOptions{Logger: logger.With("component", "broker")})
		if err != nil {
			return parts, nil, err
		}
		pg, err := monitor.NewPGBroker(listener, monitor.PGBrokerOptions{Logger: logger.With("component", "broker")})
		if err != nil {
			_ = listener.Close()
			return parts, nil, err
		}
		broker = pgBroker{pg}
	}
	mon := monitor.New(st, broker, monitor.Options{Logger: logger.With("component", "monitor"), Resolve: connector.ResolveWebhookPayload})
	refreshOpts := monitor.DefaultRefresherOptions()
	refreshOpts.Logger = logger.With("component", "refresher")
	refreshOpts.OnRun = func(ctx context.Context, tenant string, run extendapi.EditRun) {
		if _, err := mon.Ingest(ctx, tenant, store.ViaRefresh, run); err != nil {
			logger.Warn("refresh: ingest", "tenant", tenant, "run", run.ID, "err", err)
		}
	}
	refreshOpts.OnGone = func(ctx context.Context, tenant, runID string) {
		if _, err := mon.RecordDeleted(ctx, tenant, runID); err != nil {
			logger.Warn("refresh: record deletion", "tenant", tenant, "run", runID, "err", err)
		}
	}
	refresher := monitor.NewRefresher(refreshOpts)
	poller := monitor.NewWorkspacePoller(monitor.WorkspacePollerOptions{Store: st,
		Ingest: func(ctx context.Context, tenant string, runs []extendapi.EditRun) error {
			_, err := mon.IngestMany(ctx, tenant, store.ViaList, runs)
			return err
		},
		Logger: logger.With("component", "workspace-poller")})
	fail := func(err error) (liveParts, func(), error) {
		broker.Close()
		refresher.Close()
		poller.Close()
		return liveParts{}, nil, err
	}
	// stop may come before ctx ends (the dashboard failed to start): it
	// ends the background work itself.
	ctx, cancel := context.WithCancel(ctx)
	live, err := monitor.NewLive(ctx, monitor.LiveOptions{Monitor: mon, Broker: broker, Refresher: refresher, Poller: poller, PublicURL: cfg.PublicURL})
	if err != nil {
		cancel()
		return fail(err)
	}
	keys := upstream.NewKeys(st, connector)
	backfills, err := upstream.NewBackfills(upstream.BackfillOptions{Store: st, Keys: keys, Ingest: mon.IngestBackfill,
		Go: live.Background, Logger: logger.With("component", "backfill")})
	if err != nil {
		cancel()
		return fail(err)
	}
	janitor, err := monitor.NewJanitor(st, cfg.Retention, monitor.JanitorOptions{Now: st.Now, Logger: logger.With("component", "janitor")})
	if err != nil {
		cancel()
		return fail(fmt.Errorf("--retention: %w", err))
	}
	reconciler, err := monitor.NewReconciler(st, mon, monitor.ReconcilerOptions{
		Fetcher: keys.ServiceKeyFetcher, Logger: logger.With("component", "reconciler")})
	if err != nil {
		cancel()
		return fail(err)
	}
	if n, err := mon.ApplyPending(ctx); err != nil {
		logger.Warn("webhook events stored before the last stop could not all be applied yet; trying again in the background", "applied", n, "err", err)
		live.Background(mon.SweepPending)
	} else if n > 0 {
		logger.Info("applied webhook events stored before the last stop", "count", n)
	}
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		janitor.Run(ctx)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		reconciler.Run(ctx)
	}()
	go func() {
		<-ctx.Done()
		broker.Close()
	}()
	return liveParts{live: live, backfills: backfills, keys: keys}, func() {
		cancel()
		refresher.Close()
		poller.Close()
		<-done
		<-done
		live.Wait()
	}, nil
}

// registerSandboxEndpoint makes live updates work in --sandbox mode with
// no setup: the dashboard registers its own webhook endpoint (at
// dashboardURL) for tenant, the demo workspace, through cl, a client of
// the embedded sandbox, which answers through the dashboard's own
// listener (so call it once the server is serving). A failure is logged:
// pages then fall back to polling.
func registerSandboxEndpoint(ctx context.Context, st *store.Store, cl *extendapi.Client, tenant, dashboardURL string, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, sandboxRegisterTimeout)
	defer cancel()
	ep, err := upstream.RegisterSandboxEndpoint(ctx, st, cl, tenant, func(id string) string { return views.WebhookURL(dashboardURL, id) })
	if err != nil {
		logger.Warn("sandbox mode: could not register the dashboard's webhook endpoint; pages fall back to polling", "err", err)
		return
	}
	logger.Info("sandbox mode: live updates through the embedded sandbox's webhooks", "endpoint", ep.ID, "extend_id", ep.ExtendID)
}

// sandboxRegisterTimeout bounds the start-up's wait for the embedded
// sandbox, which answers in-process: a machine busy enough to exceed it
// starts without live updates rather than not at all.
const sandboxRegisterTimeout = 30 * time.Second
