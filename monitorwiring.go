package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/handlers"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
)

// closingBroker is a broker the process shuts down.
type closingBroker interface {
	handlers.Broker
	Close()
}

// pgBroker adapts PGBroker's Close, which reports an error, to closingBroker.
type pgBroker struct{ *monitor.PGBroker }

func (b pgBroker) Close() { _ = b.PGBroker.Close() }

// startLive wires history and live updates into app: the broker (in
// memory, or LISTEN/NOTIFY when --db is PostgreSQL), the monitor, the
// refresher of watched runs, the reconciler of runs whose webhook never
// came (for workspaces with a service key) and the retention janitor. Webhook events
// stored but not applied before a crash are applied now. In --sandbox mode
// the dashboard registers its own endpoint with the embedded sandbox
// (dashboardURL is where the sandbox reaches the dashboard). When ctx
// ends, the broker closes first, so event streams end and the server's
// graceful shutdown is not held up by them; stop waits for the rest.
func startLive(ctx context.Context, cfg config.Serve, st *store.Store, app *handlers.App, logger *slog.Logger, dashboardURL string) (stop func(), err error) {
	var broker closingBroker = monitor.NewMemoryBroker()
	if config.IsPostgresDSN(cfg.DB) {
		listener, err := st.Listen(ctx, store.ListenOptions{Logger: logger.With("component", "broker")})
		if err != nil {
			return nil, err
		}
		pg, err := monitor.NewPGBroker(listener, monitor.PGBrokerOptions{Logger: logger.With("component", "broker")})
		if err != nil {
			listener.Close()
			return nil, err
		}
		broker = pgBroker{pg}
	}
	mon := monitor.New(st, broker, monitor.Options{Logger: logger.With("component", "monitor"), Resolve: app.ResolveWebhookPayload})
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
	live, err := handlers.NewLive(ctx, handlers.LiveOptions{Monitor: mon, Broker: broker, Refresher: refresher, PublicURL: cfg.PublicURL})
	if err != nil {
		broker.Close()
		refresher.Close()
		return nil, err
	}
	app.Live = live
	if n, err := mon.ApplyPending(ctx); err != nil {
		logger.Warn("webhook events stored before the last stop could not all be applied yet; trying again in the background", "applied", n, "err", err)
		live.Background(mon.SweepPending)
	} else if n > 0 {
		logger.Info("applied webhook events stored before the last stop", "count", n)
	}
	janitor, err := monitor.NewJanitor(st, cfg.Retention, monitor.JanitorOptions{Logger: logger.With("component", "janitor")})
	if err != nil {
		broker.Close()
		refresher.Close()
		return nil, fmt.Errorf("--retention: %w", err)
	}
	reconciler, err := monitor.NewReconciler(st, mon, monitor.ReconcilerOptions{
		Fetcher: app.ServiceKeyFetcher, Logger: logger.With("component", "reconciler")})
	if err != nil {
		broker.Close()
		refresher.Close()
		return nil, err
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
	if app.Sandbox != nil {
		// The request waits in the listener's backlog until the server
		// starts accepting, a moment later.
		live.Background(func(ctx context.Context) {
			ep, err := app.RegisterSandboxEndpoint(ctx, dashboardURL)
			if err != nil {
				logger.Warn("sandbox mode: could not register the dashboard's webhook endpoint; pages fall back to polling", "err", err)
				return
			}
			logger.Info("sandbox mode: live updates through the embedded sandbox's webhooks", "endpoint", ep.ID, "extend_id", ep.ExtendID)
		})
	}
	return func() {
		refresher.Close()
		<-done
		<-done
		live.Wait()
	}, nil
}
