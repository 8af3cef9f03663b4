package handlers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
)

// Broker is what the live half needs of monitor's brokers: publish and
// subscribe per tenant (MemoryBroker in one process, PGBroker across
// replicas).
type Broker interface {
	monitor.Publisher
	Subscribe(tenant string, buffer int) *monitor.Subscription
}

// Defaults of LiveOptions.
const (
	DefaultHeartbeat     = 15 * time.Second
	DefaultBackfillDepth = 10_000
)

// LiveOptions configure NewLive.
type LiveOptions struct {
	Monitor   *monitor.Monitor
	Broker    Broker
	Refresher *monitor.Refresher // nil: watched runs are not refreshed
	// PublicURL is --public-url: how Extend reaches this dashboard. Without
	// it "Enable live updates" cannot register an endpoint.
	PublicURL string
	// Heartbeat is the interval of the comment event streams send so
	// proxies keep them open.
	Heartbeat time.Duration
	// BackfillDepth bounds how many runs one backfill walks.
	BackfillDepth int
}

// Live is the dashboard's pulse: history (the monitor), webhooks, event
// streams, the refresher and backfills. Background work runs under ctx
// and stops with it.
type Live struct {
	LiveOptions
	ctx       context.Context
	wg        sync.WaitGroup
	backfills backfills
}

// NewLive checks opts; background work it starts ends with ctx.
func NewLive(ctx context.Context, opts LiveOptions) (*Live, error) {
	if opts.Monitor == nil || opts.Broker == nil {
		return nil, fmt.Errorf("handlers: live updates need a monitor and a broker")
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.BackfillDepth <= 0 {
		opts.BackfillDepth = DefaultBackfillDepth
	}
	opts.PublicURL = strings.TrimSpace(opts.PublicURL)
	return &Live{LiveOptions: opts, ctx: ctx, backfills: backfills{m: map[string]*backfillState{}}}, nil
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

// The webhook receiver's path: Extend posts to <base>webhooks/extend/<endpoint>.
const (
	routeWebhookPrefix = "webhooks/extend/"
	routeWebhook       = routeWebhookPrefix + ":endpoint"
)

// isWebhookPath: deliveries from Extend carry no session, no CSRF token
// and no identity; their signature is their authentication.
func (a *App) isWebhookPath(p string) bool {
	rest, ok := strings.CutPrefix(p, a.BasePath)
	return ok && strings.HasPrefix(rest, routeWebhookPrefix)
}

// resolveClientKey is the placeholder key of the client that fetches
// signed_data_url payloads: those URLs authorize themselves and the client
// sends no credentials with them.
const resolveClientKey extendapi.APIKey = "editwatch_signed_url_fetch"

// ResolveWebhookPayload fetches a signed_data_url payload for monitor
// (monitor.Options.Resolve), with a client of the tenant's deployment (a
// signed URL on plain http is only accepted from a plain-http deployment:
// the sandbox).
func (a *App) ResolveWebhookPayload(ctx context.Context, tenant string, e *extendapi.WebhookEvent) error {
	dep, _ := store.TenantParts(tenant)
	cl, err := a.newClient(resolveClientKey, a.deploymentBaseURL(dep), "")
	if err != nil {
		return err
	}
	return cl.ResolveWebhookPayload(ctx, e)
}

// deploymentBaseURL is where a tenant's deployment answers today.
func (a *App) deploymentBaseURL(deployment string) string {
	if d, ok := a.fixedDeployment(); ok && d.Deployment == deployment {
		return d.BaseURL
	}
	if base, err := extendapi.RegionBaseURL(deployment); err == nil {
		return base
	}
	return deployment
}
