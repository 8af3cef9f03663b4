package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// WebhookDelivery is one verified delivery for StoreWebhookDeliveries:
// the event and, when it carries its runs inline, the runs to apply to
// Tenant with it and how to describe what they changed.
type WebhookDelivery struct {
	Event   WebhookEvent
	Tenant  string
	Runs    []RunObservation
	Outcome func([]RunChange) string
}

// WebhookDeliveryResult is what became of one delivery: what
// StoreAndApplyWebhookEvent returns for it alone.
type WebhookDeliveryResult struct {
	Stored    WebhookEvent
	Duplicate bool
	Changes   []RunChange
	Err       error
}

// StoreWebhookDeliveries stores and applies deliveries, in order, in one
// transaction: one commit, and so one wait for the disk, for all of them.
// Each result is durable once returned without an error. A delivery the
// database refuses (not an outage) costs the others nothing: the batch is
// rolled back and each delivery is stored in its own transaction, so only
// the bad one fails. When the database does not answer, every delivery
// fails with ErrUnavailable (answer 503: Extend delivers again).
func (s *Store) StoreWebhookDeliveries(ctx context.Context, ds []WebhookDelivery) []WebhookDeliveryResult {
	results := make([]WebhookDeliveryResult, len(ds))
	if len(ds) == 1 {
		results[0] = s.storeDeliveryAlone(ctx, ds[0])
		return results
	}
	var todo []int
	for i := range ds {
		if err := s.normalizeDelivery(&ds[i]); err != nil {
			results[i].Err = err
			continue
		}
		todo = append(todo, i)
	}
	batched := make([]WebhookDeliveryResult, len(ds))
	var applied []tenantFlags
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		clear(batched)
		var err error
		applied, err = s.writeDeliveries(ctx, tx, ds, todo, batched)
		return err
	})
	switch {
	case err == nil:
		for _, i := range todo {
			results[i] = batched[i]
		}
		for _, t := range applied {
			s.noteTenant(t.tenant, t.fromExtend, t.synthetic)
		}
	case errors.Is(err, ErrUnavailable) || ctx.Err() != nil:
		for _, i := range todo {
			results[i].Err = fmt.Errorf("store: store %d webhook events: %w", len(todo), err)
		}
	default:
		// One delivery broke the transaction (a constraint, a value the
		// database refuses): the batch left nothing behind, so give each
		// delivery a transaction of its own and only that one fails.
		s.logger.WarnContext(ctx, "store: webhook batch failed; storing its events one by one", "events", len(todo), "err", err)
		for _, i := range todo {
			results[i] = s.storeDeliveryAlone(ctx, ds[i])
		}
	}
	return results
}

func (s *Store) storeDeliveryAlone(ctx context.Context, d WebhookDelivery) WebhookDeliveryResult {
	var r WebhookDeliveryResult
	r.Stored, r.Duplicate, r.Changes, r.Err = s.StoreAndApplyWebhookEvent(ctx, d.Event, d.Tenant, d.Runs, d.Outcome)
	return r
}

// normalizeDelivery checks what StoreAndApplyWebhookEvent checks before
// its transaction, so a delivery that would fail there fails alone.
func (s *Store) normalizeDelivery(d *WebhookDelivery) error {
	e := &d.Event
	if e.EndpointID == "" || e.EventID == "" {
		return errors.New("store: store webhook event: endpoint and event ID are required")
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = s.now()
	}
	e.ReceivedAt = msTime(e.ReceivedAt)
	if len(d.Runs) > 0 {
		if d.Outcome == nil {
			d.Outcome = func([]RunChange) string { return "" }
		}
		if _, err := s.batchObservations(d.Runs); err != nil {
			return fmt.Errorf("store: store webhook event %s: %w", e.EventID, err)
		}
	}
	return nil
}

// tenantFlags is what a committed batch stored on a tenant (noteTenant).
type tenantFlags struct {
	tenant                string
	fromExtend, synthetic bool
}

// writeDeliveries is the body of StoreWebhookDeliveries' transaction: it
// inserts every event (duplicates found as StoreAndApplyWebhookEvent finds
// them), records each endpoint's last delivery once, and applies the new
// events' runs with one upsert per tenant, so the run rows are locked in
// one statement and the rollups written once for the whole batch.
func (s *Store) writeDeliveries(ctx context.Context, tx *sql.Tx, ds []WebhookDelivery, todo []int, out []WebhookDeliveryResult) ([]tenantFlags, error) {
	lastDelivery := map[string]time.Time{}
	var endpoints []string
	var apply, dups []int
	inserted := map[int64]int{} // event row → the delivery that inserted it
	for _, i := range todo {
		e := ds[i].Event
		stored, dup, err := s.insertWebhookEvent(ctx, tx, e)
		if err != nil {
			return nil, fmt.Errorf("webhook event %s: %w", e.EventID, err)
		}
		out[i] = WebhookDeliveryResult{Stored: stored, Duplicate: dup}
		if last, seen := lastDelivery[e.EndpointID]; !seen || e.ReceivedAt.After(last) {
			if !seen {
				endpoints = append(endpoints, e.EndpointID)
			}
			lastDelivery[e.EndpointID] = e.ReceivedAt
		}
		switch {
		case dup:
			dups = append(dups, i)
		case len(ds[i].Runs) > 0:
			inserted[stored.ID] = i
			apply = append(apply, i)
		}
	}
	for _, ep := range endpoints {
		if err := s.touchWebhookEndpoint(ctx, tx, ep, lastDelivery[ep]); err != nil {
			return nil, fmt.Errorf("webhook endpoint %s: %w", ep, err)
		}
	}
	var flags []tenantFlags
	for len(apply) > 0 {
		var round []deliveryGroup
		apply, round = deliveryRound(ds, apply)
		for _, g := range round {
			f, err := s.applyDeliveryGroup(ctx, tx, ds, g, out)
			if err != nil {
				return nil, err
			}
			flags = append(flags, f)
		}
	}
	// A duplicate of an event this batch inserted was read before the
	// event was applied: it is applied now.
	for _, i := range dups {
		if first, ok := inserted[out[i].Stored.ID]; ok {
			out[i].Stored.AppliedAt, out[i].Stored.Outcome = out[first].Stored.AppliedAt, out[first].Stored.Outcome
		}
	}
	return flags, nil
}

// deliveryGroup is deliveries of one tenant that touch distinct runs, so
// one upsert applies them all and each run's change is its delivery's.
type deliveryGroup struct {
	tenant     string
	deliveries []int
}

// deliveryRound takes from apply, in order, per tenant, the deliveries
// whose runs no earlier delivery left in apply touches, and returns what
// is left for the next round: each run's observations still apply in the
// order they arrived.
func deliveryRound(ds []WebhookDelivery, apply []int) (rest []int, round []deliveryGroup) {
	type runKey struct{ tenant, run string }
	taken := map[runKey]bool{}
	groupOf := map[string]int{}
	for _, i := range apply {
		d := ds[i]
		clash := false
		for _, o := range d.Runs {
			clash = clash || taken[runKey{d.Tenant, o.RunID}]
		}
		for _, o := range d.Runs {
			taken[runKey{d.Tenant, o.RunID}] = true
		}
		if clash {
			rest = append(rest, i)
			continue
		}
		g, ok := groupOf[d.Tenant]
		if !ok {
			g = len(round)
			groupOf[d.Tenant] = g
			round = append(round, deliveryGroup{tenant: d.Tenant})
		}
		round[g].deliveries = append(round[g].deliveries, i)
	}
	return rest, round
}

// applyDeliveryGroup upserts a group's runs and marks each of its events
// applied with the outcome of its own runs' changes.
func (s *Store) applyDeliveryGroup(ctx context.Context, tx *sql.Tx, ds []WebhookDelivery, g deliveryGroup, out []WebhookDeliveryResult) (tenantFlags, error) {
	var obs []RunObservation
	for _, i := range g.deliveries {
		obs = append(obs, ds[i].Runs...)
	}
	batch, err := s.batchObservations(obs)
	if err != nil {
		return tenantFlags{}, err
	}
	changes, err := s.upsertInTx(ctx, tx, g.tenant, batch)
	if err != nil {
		return tenantFlags{}, fmt.Errorf("apply %d webhook events to %s: %w", len(g.deliveries), g.tenant, err)
	}
	byRun := make(map[string]RunChange, len(changes))
	for _, c := range changes {
		byRun[c.RunID] = c
	}
	for _, i := range g.deliveries {
		r := &out[i]
		for _, o := range ds[i].Runs {
			if c, ok := byRun[o.RunID]; ok {
				r.Changes = append(r.Changes, c)
				delete(byRun, o.RunID) // a run named twice in one event changes once
			}
		}
		if err := s.markWebhookEventAppliedInTx(ctx, tx, &r.Stored, ds[i].Outcome(r.Changes)); err != nil {
			return tenantFlags{}, fmt.Errorf("mark webhook event %s applied: %w", r.Stored.EventID, err)
		}
	}
	return tenantFlags{tenant: g.tenant, fromExtend: batch.fromExtend, synthetic: batch.synthetic}, nil
}
