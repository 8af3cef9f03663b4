package monitor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// Broker is what live updates need of a broker: publish and subscribe per
// tenant (MemoryBroker in one process, PGBroker across replicas).
type Broker interface {
	Publisher
	Subscribe(tenant string, buffer int) *Subscription
}

// DefaultHeartbeat is the default of LiveOptions.Heartbeat.
const DefaultHeartbeat = 15 * time.Second

// LiveOptions configure NewLive.
type LiveOptions struct {
	Monitor   *Monitor
	Broker    Broker
	Refresher *Refresher // nil: watched runs are not refreshed
	// Poller lists watched workspaces' first page to learn of new runs;
	// nil: open lists hear only of runs that webhooks or pages report.
	Poller *WorkspacePoller
	// PublicURL is --public-url: how Extend reaches this dashboard. Without
	// it "Enable live updates" cannot register an endpoint.
	PublicURL string
	// Heartbeat is the interval of the comment event streams send so
	// proxies keep them open.
	Heartbeat time.Duration
}

// Live is the dashboard's pulse: history (the monitor), webhooks, event
// streams and the refresher. Background work runs under the context given
// to NewLive and stops with it.
type Live struct {
	LiveOptions
	ctx context.Context
	wg  sync.WaitGroup
}

// NewLive checks opts; background work it starts ends with ctx.
func NewLive(ctx context.Context, opts LiveOptions) (*Live, error) {
	if opts.Monitor == nil || opts.Broker == nil {
		return nil, errors.New("monitor: live updates need a monitor and a broker")
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	opts.PublicURL = strings.TrimSpace(opts.PublicURL)
	return &Live{LiveOptions: opts, ctx: ctx}, nil
}

// Background runs fn under the lifecycle context, outside any request.
func (l *Live) Background(fn func(ctx context.Context)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		fn(l.ctx)
	}()
}

// Wait blocks until the background work (webhook applications,
// backfills) has finished; call it after the lifecycle context ended.
func (l *Live) Wait() { l.wg.Wait() }

// IngestBackfill records a page of runs a backfill read in tenant's
// history and reports how many were new to it.
func (m *Monitor) IngestBackfill(ctx context.Context, tenant string, runs []extendapi.EditRun) (created int, err error) {
	changes, err := m.IngestMany(ctx, tenant, store.ViaBackfill, runs)
	if err != nil {
		return 0, err
	}
	for _, ch := range changes {
		if ch.Created() {
			created++
		}
	}
	return created, nil
}
