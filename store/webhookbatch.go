package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// fails with ErrUnavailable (answer 503: Extend delivers again). It
// fills in the ReceivedAt of ds' events that have none.
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
	if len(todo) == 0 {
		return results
	}
	batched := make([]WebhookDeliveryResult, len(ds))
	fx, err := s.d.deliveries.write(ctx, s, ds, todo, batched)
	switch {
	case err == nil:
		for _, i := range todo {
			results[i] = batched[i]
		}
		for _, t := range fx.flags {
			s.noteTenant(t.tenant, t.fromExtend, t.synthetic)
		}
		for _, t := range fx.touched {
			s.endpointTouched.Store(t.endpoint, t.at)
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
		var down error
		for _, i := range todo {
			if down != nil {
				// The database stopped answering meanwhile: do not wait
				// out its timeout once per delivery.
				results[i].Err = down
				continue
			}
			results[i] = s.storeDeliveryAlone(ctx, ds[i])
			if errors.Is(results[i].Err, ErrUnavailable) {
				down = results[i].Err
			}
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
		if err := checkTenant(d.Tenant); err != nil {
			return fmt.Errorf("store: store webhook event %s: %w", e.EventID, err)
		}
		if d.Outcome == nil {
			d.Outcome = func([]RunChange) string { return "" }
		}
		if _, err := s.batchObservations(d.Runs); err != nil {
			return fmt.Errorf("store: store webhook event %s: %w", e.EventID, err)
		}
	}
	return nil
}

// deliveryWriter writes the deliveries todo of a batch (checked by
// normalizeDelivery) in one transaction, filling in out; the dialect
// chooses how. An error leaves nothing behind.
type deliveryWriter interface {
	write(ctx context.Context, s *Store, ds []WebhookDelivery, todo []int, out []WebhookDeliveryResult) (batchEffects, error)
}

// batchEffects is what a committed batch leaves for the Store's memory.
type batchEffects struct {
	flags   []tenantFlags
	touched []endpointTouch
}

// txDeliveryWriter writes a batch with the statements of writeDeliveries
// in a database/sql transaction: one statement per step for the whole
// batch, each a round trip.
type txDeliveryWriter struct{}

func (txDeliveryWriter) write(ctx context.Context, s *Store, ds []WebhookDelivery, todo []int, out []WebhookDeliveryResult) (batchEffects, error) {
	var fx batchEffects
	err := s.inWriteTxRetryingDeadlocks(ctx, func(tx *sql.Tx) error {
		clear(out)
		var err error
		fx.flags, fx.touched, err = s.writeDeliveries(ctx, tx, ds, todo, out)
		return err
	})
	return fx, err
}

// endpointTouch is a last delivery time a batch recorded (millis).
type endpointTouch struct {
	endpoint string
	at       int64
}

// endpointTouchesDue is each endpoint's last delivery among deliveries
// todo, in the one order rows are locked in, leaving out the endpoints
// recorded less than a second before it: for those the statement would
// change nothing.
func (s *Store) endpointTouchesDue(ds []WebhookDelivery, todo []int) []endpointTouch {
	var endpoints []string
	lastDelivery := map[string]int64{}
	for _, i := range todo {
		e := ds[i].Event
		at, seen := lastDelivery[e.EndpointID]
		if !seen {
			endpoints = append(endpoints, e.EndpointID)
		}
		if !seen || millis(e.ReceivedAt) > at {
			lastDelivery[e.EndpointID] = millis(e.ReceivedAt)
		}
	}
	slices.Sort(endpoints)
	var due []endpointTouch
	for _, ep := range endpoints {
		at := lastDelivery[ep]
		if last, ok := s.endpointTouched.Load(ep); ok && at-last.(int64) < 1000 {
			continue
		}
		due = append(due, endpointTouch{ep, at})
	}
	return due
}

// tenantFlags is what a committed batch stored on a tenant (noteTenant).
type tenantFlags struct {
	tenant                string
	fromExtend, synthetic bool
}

// writeDeliveries is the body of StoreWebhookDeliveries' transaction: it
// takes the events' turns, inserts every event (duplicates found as
// StoreAndApplyWebhookEvent finds them), applies the new events' runs
// with one upsert per tenant, so the run rows are locked in one statement
// and the rollups written once for the whole batch, and records each
// endpoint's last delivery once: locks in the order of every webhook path
// (see pipelinedDeliveryWriter).
func (s *Store) writeDeliveries(ctx context.Context, tx *sql.Tx, ds []WebhookDelivery, todo []int, out []WebhookDeliveryResult) (flags []tenantFlags, touched []endpointTouch, err error) {
	var apply, dups []int
	inserted := map[int64]int{} // event row → the delivery that inserted it
	if s.d.eventTurns {
		if _, err := tx.ExecContext(ctx, webhookEventTurnsSQL, webhookEventTurnClass, webhookEventTurnKeys(ds, todo)); err != nil {
			return nil, nil, fmt.Errorf("webhook events' turns: %w", err)
		}
	}
	ids, err := s.insertWebhookEvents(ctx, tx, ds, todo)
	if err != nil {
		return nil, nil, err
	}
	for _, i := range todo {
		e := ds[i].Event
		stored, dup := WebhookEvent{ID: ids[i], EndpointID: e.EndpointID, EventID: e.EventID, EventType: e.EventType, RunID: e.RunID,
			ReceivedAt: e.ReceivedAt, Verified: true, Payload: e.Payload, Deliveries: 1}, false
		if ids[i] == 0 {
			// Stored before (or earlier in this batch): the batch insert
			// skipped it, so only the delivery is counted.
			if stored, err = s.countDuplicateDelivery(ctx, tx, e); err != nil {
				return nil, nil, fmt.Errorf("webhook event %s: %w", e.EventID, err)
			}
			dup = true
		}
		out[i] = WebhookDeliveryResult{Stored: stored, Duplicate: dup}
		switch {
		case dup:
			dups = append(dups, i)
		case len(ds[i].Runs) > 0:
			inserted[stored.ID] = i
			apply = append(apply, i)
		}
	}
	deltas := map[string]*rollupDelta{}
	for len(apply) > 0 {
		var round []deliveryGroup
		apply, round = deliveryRound(ds, apply)
		for _, g := range round {
			f, delta, err := s.applyDeliveryGroup(ctx, tx, ds, g, out)
			if err != nil {
				return nil, nil, err
			}
			flags = append(flags, f)
			if d, ok := deltas[g.tenant]; ok {
				d.absorb(delta)
			} else {
				deltas[g.tenant] = delta
			}
		}
	}
	// After the runs, as every transaction of a tenant waits for its
	// rollup rows; tenants in one order, so two batches wait rather than
	// deadlock.
	for _, tenant := range slices.Sorted(maps.Keys(deltas)) {
		if err := s.applyRollupDelta(ctx, tx, tenant, deltas[tenant]); err != nil {
			return nil, nil, fmt.Errorf("rollups of %s: %w", tenant, err)
		}
	}
	// The endpoints last, as every webhook path locks them.
	touched = s.endpointTouchesDue(ds, todo)
	for _, t := range touched {
		if err := s.touchWebhookEndpoint(ctx, tx, t.endpoint, fromMillis(t.at)); err != nil {
			return nil, nil, fmt.Errorf("webhook endpoint %s: %w", t.endpoint, err)
		}
	}
	// A duplicate of an event this batch inserted was read before the
	// event was applied: it is applied now.
	for _, i := range dups {
		if first, ok := inserted[out[i].Stored.ID]; ok {
			out[i].Stored.AppliedAt, out[i].Stored.Outcome = out[first].Stored.AppliedAt, out[first].Stored.Outcome
		}
	}
	return flags, touched, nil
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
	// Tenants in one order: their runs are locked group by group.
	slices.SortFunc(round, func(a, b deliveryGroup) int { return cmp.Compare(a.tenant, b.tenant) })
	return rest, round
}

// applyDeliveryGroup upserts a group's runs and marks each of its events
// applied with the outcome of its own runs' changes.
func (s *Store) applyDeliveryGroup(ctx context.Context, tx *sql.Tx, ds []WebhookDelivery, g deliveryGroup, out []WebhookDeliveryResult) (tenantFlags, *rollupDelta, error) {
	var obs []RunObservation
	for _, i := range g.deliveries {
		obs = append(obs, ds[i].Runs...)
	}
	batch, err := s.batchObservations(obs)
	if err != nil {
		return tenantFlags{}, nil, err
	}
	changes, delta, err := s.upsertSnapshotsInTx(ctx, tx, g.tenant, batch)
	if err != nil {
		return tenantFlags{}, nil, fmt.Errorf("apply %d webhook events to %s: %w", len(g.deliveries), g.tenant, err)
	}
	byRun := make(map[string]RunChange, len(changes))
	for _, c := range changes {
		byRun[c.RunID] = c
	}
	appliedAt := msTime(s.now())
	for _, i := range g.deliveries {
		r := &out[i]
		for _, o := range ds[i].Runs {
			if c, ok := byRun[o.RunID]; ok {
				r.Changes = append(r.Changes, c)
				delete(byRun, o.RunID) // a run named twice in one event changes once
			}
		}
		r.Stored.AppliedAt, r.Stored.Outcome = appliedAt, ds[i].Outcome(r.Changes)
	}
	if err := s.markWebhookEventsApplied(ctx, tx, g.deliveries, out); err != nil {
		return tenantFlags{}, nil, err
	}
	return tenantFlags{tenant: g.tenant, fromExtend: batch.fromExtend, synthetic: batch.synthetic}, delta, nil
}

// webhookEventsChunk bounds the rows of one multi-row statement on
// webhook_events.
const webhookEventsChunk = 200

// insertWebhookEvents inserts the first delivery of each event ID in
// todo, several in one statement, and returns the new rows' IDs by
// delivery; a delivery whose event is stored already (or is a second
// delivery in todo) gets 0.
func (s *Store) insertWebhookEvents(ctx context.Context, tx *sql.Tx, ds []WebhookDelivery, todo []int) (map[int]int64, error) {
	type eventKey struct{ endpoint, event string }
	firsts := make([]int, 0, len(todo))
	seen := make(map[eventKey]bool, len(todo))
	for _, i := range todo {
		k := eventKey{ds[i].Event.EndpointID, ds[i].Event.EventID}
		if !seen[k] {
			seen[k] = true
			firsts = append(firsts, i)
		}
	}
	// Every writer inserts in one order, so two batches racing on the same
	// event IDs wait for each other instead of deadlocking.
	slices.SortFunc(firsts, func(a, b int) int {
		ea, eb := ds[a].Event, ds[b].Event
		return cmp.Or(cmp.Compare(ea.EndpointID, eb.EndpointID), cmp.Compare(ea.EventID, eb.EventID))
	})
	ids := make(map[int]int64, len(todo))
	for start := 0; start < len(firsts); start += webhookEventsChunk {
		part := firsts[start:min(start+webhookEventsChunk, len(firsts))]
		byKey := make(map[eventKey]int, len(part))
		args := make([]any, 0, 7*len(part))
		for _, i := range part {
			e := ds[i].Event
			byKey[eventKey{e.EndpointID, e.EventID}] = i
			args = append(args, e.EndpointID, e.EventID, e.EventType, e.RunID, millis(e.ReceivedAt), e.Payload, 1)
		}
		rows, err := tx.QueryContext(ctx, s.d.rebind(`INSERT INTO webhook_events
			(endpoint_id, event_id, event_type, run_id, received_at, payload, verified) VALUES `+
			valueRows(len(part), 7)+`
			ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id, endpoint_id, event_id`), args...)
		if err != nil {
			return nil, fmt.Errorf("insert %d webhook events: %w", len(part), err)
		}
		for rows.Next() {
			var id int64
			var k eventKey
			if err := rows.Scan(&id, &k.endpoint, &k.event); err != nil {
				rows.Close()
				return nil, fmt.Errorf("insert %d webhook events: %w", len(part), err)
			}
			ids[byKey[k]] = id
		}
		if err := closeRows(rows); err != nil {
			return nil, fmt.Errorf("insert %d webhook events: %w", len(part), err)
		}
	}
	return ids, nil
}

// markWebhookEventsApplied records, in one statement per chunk, that the
// events of these deliveries are applied, with the time and outcome
// already in their results.
func (s *Store) markWebhookEventsApplied(ctx context.Context, tx *sql.Tx, deliveries []int, out []WebhookDeliveryResult) error {
	for start := 0; start < len(deliveries); start += webhookEventsChunk {
		part := deliveries[start:min(start+webhookEventsChunk, len(deliveries))]
		args := make([]any, 0, 3*len(part)+1)
		args = append(args, millis(out[part[0]].Stored.AppliedAt))
		for _, i := range part {
			args = append(args, out[i].Stored.ID, out[i].Stored.Outcome)
		}
		for _, i := range part {
			args = append(args, out[i].Stored.ID)
		}
		q := `UPDATE webhook_events SET applied_at = ?, error = '', outcome = CASE id` +
			strings.Repeat(` WHEN ? THEN ?`, len(part)) + ` END WHERE id IN (` + placeholders(len(part)) + `) AND applied_at IS NULL`
		if _, err := tx.ExecContext(ctx, s.d.rebind(q), args...); err != nil {
			return fmt.Errorf("mark %d webhook events applied: %w", len(part), err)
		}
	}
	return nil
}
