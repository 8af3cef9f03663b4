package monitor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// Monitor records runs in tenant history and publishes what changed.
type Monitor struct {
	store   *store.Store
	pub     Publisher
	logger  *slog.Logger
	now     func() time.Time
	resolve ResolveFunc
	// endpointTenants caches each webhook endpoint's tenant, which never
	// changes (a deleted endpoint's deliveries fail their signature check
	// and their insert before they get here).
	endpointTenants sync.Map
	sweeper         pendingSweeper // see SweepPending
	refusals        refusalLedger  // see RefuseWebhook
	deliveries      deliveryQueue  // see ReceiveWebhook
}

// ResolveFunc fetches the payload of a webhook event delivered as a
// signed_data_url (large-payload mode), replacing e.Payload; the HTTP side
// passes extendapi.Client.ResolveWebhookPayload.
type ResolveFunc func(ctx context.Context, tenant string, e *extendapi.WebhookEvent) error

// Options configure New; the zero value is fine.
type Options struct {
	Logger *slog.Logger
	// Now is the clock stamping sightings (default time.Now).
	Now func() time.Time
	// Resolve fetches signed_data_url payloads; without it such events
	// stay unapplied with an error saying so.
	Resolve ResolveFunc
	// WebhookBatch is how many concurrent webhook deliveries one
	// transaction stores at most (default DefaultWebhookBatch); 1 gives
	// every delivery its own transaction, as before batching.
	WebhookBatch int
	// WebhookCommitInterval is the least time between the starts of two
	// batches while deliveries keep coming (default
	// DefaultWebhookCommitInterval): what arrives meanwhile joins the
	// next batch. A delivery after a quiet spell is stored at once.
	WebhookCommitInterval time.Duration
}

// New returns a Monitor writing to st and publishing to pub (nil: publish
// nowhere).
func New(st *store.Store, pub Publisher, opts Options) *Monitor {
	m := &Monitor{store: st, pub: pub, logger: opts.Logger, now: opts.Now, resolve: opts.Resolve}
	if m.logger == nil {
		m.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.deliveries.max, m.deliveries.interval = opts.WebhookBatch, opts.WebhookCommitInterval
	if m.deliveries.max <= 0 {
		m.deliveries.max = DefaultWebhookBatch
	}
	if m.deliveries.interval <= 0 {
		m.deliveries.interval = DefaultWebhookCommitInterval
	}
	return m
}

// Observation reduces an EditRun to what history keeps: counts, timings,
// reasons, credits and the file's name and ID, never a presigned URL or a
// filled value (only how many there were).
func Observation(run extendapi.EditRun, via string, seenAt time.Time) store.RunObservation {
	o := store.RunObservation{
		RunID: run.ID, SeenAt: seenAt, Via: via,
		RunFacts: store.RunFacts{
			Status: string(run.Status), FailureReason: string(run.FailureReason), FailureMessage: run.FailureMessage,
			FileID: run.File.ID, FileName: run.File.Name, Source: run.Source,
		},
	}
	if run.CreatedAt != nil {
		o.CreatedAt = *run.CreatedAt
	}
	if run.UpdatedAt != nil {
		o.UpdatedAt = *run.UpdatedAt
	}
	if m := run.Metrics; m != nil {
		o.PageCount, o.FieldCount = intPtr(m.PageCount), intPtr(m.FieldCount)
		o.FieldsDetected, o.FieldsAnnotated = intPtr(m.FieldsDetectedCount), intPtr(m.FieldsAnnotatedCount)
		o.ProcessingMs, o.DetectionMs = m.ProcessingTimeMs, m.FieldDetectionTimeMs
		o.AnnotationMs, o.FillingMs = m.FieldAnnotationTimeMs, m.FieldFillingTimeMs
	}
	if o.PageCount == nil && run.File.Metadata != nil {
		o.PageCount = intPtr(run.File.Metadata.PageCount)
	}
	if run.Output != nil && run.Status == extendapi.StatusProcessed {
		n := int64(len(run.Output.FilledValues))
		o.FieldsFilled = &n
	}
	if run.Usage != nil {
		credits := run.Usage.Credits
		if run.Usage.TotalCredits != nil {
			credits = *run.Usage.TotalCredits
		}
		o.Credits = &credits
	}
	return o
}

func intPtr(p *int) *int64 {
	if p == nil {
		return nil
	}
	v := int64(*p)
	return &v
}

// Ingest records one sighting of a run in a tenant's history (via says
// where: store.ViaList, ViaRun, …) and publishes an event when it changed
// something. Call it only with a tenant the run was proven to belong to:
// a call made under a granted tenant, or a webhook endpoint of the tenant.
func (m *Monitor) Ingest(ctx context.Context, tenant, via string, run extendapi.EditRun) (store.RunChange, error) {
	changes, err := m.IngestMany(ctx, tenant, via, []extendapi.EditRun{run})
	if err != nil {
		return store.RunChange{}, err
	}
	return changes[0], nil
}

// IngestMany records a page of runs in one transaction.
func (m *Monitor) IngestMany(ctx context.Context, tenant, via string, runs []extendapi.EditRun) ([]store.RunChange, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	seen := m.now()
	obs := make([]store.RunObservation, len(runs))
	for i, r := range runs {
		obs[i] = Observation(r, via, seen)
	}
	changes, err := m.store.UpsertRuns(ctx, tenant, obs)
	if err != nil {
		return nil, fmt.Errorf("monitor: ingest into %s: %w", tenant, err)
	}
	m.publishChanges(ctx, tenant, changes)
	return changes, nil
}

// RecordDeleted makes a run a tombstone in a tenant's history (after a
// DELETE, or a 404 for a run history knew) and publishes the deletion.
func (m *Monitor) RecordDeleted(ctx context.Context, tenant, runID string) (store.RunChange, error) {
	change, err := m.store.MarkRunDeleted(ctx, tenant, runID, m.now())
	if err != nil {
		return store.RunChange{}, fmt.Errorf("monitor: record deletion: %w", err)
	}
	m.publishChanges(ctx, tenant, []store.RunChange{change})
	return change, nil
}

func (m *Monitor) publishChanges(ctx context.Context, tenant string, changes []store.RunChange) {
	if m.pub == nil {
		return
	}
	for _, c := range changes {
		if !c.Changed {
			continue
		}
		e := Event{Tenant: tenant, Kind: EventRun, RunID: c.RunID, Status: c.After.Status, PrevStatus: c.Before.Status,
			FailureReason: c.After.FailureReason, At: m.now().UTC()}
		if snap := c.After; snap.ID != 0 {
			e.Snapshot = &snap
		}
		if c.After.Deleted() {
			e.Kind = EventDeleted
		}
		// The store has the change; a lost event only delays a page.
		if err := m.pub.Publish(ctx, e); err != nil {
			m.logger.WarnContext(ctx, "monitor: publish event", "tenant", tenant, "run", c.RunID, "err", err)
		}
	}
}
