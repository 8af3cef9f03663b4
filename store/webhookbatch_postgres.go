package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// pipelinedDeliveryWriter writes a webhook batch on PostgreSQL in two
// round trips however many deliveries it holds, where txDeliveryWriter
// needs ten or more: each statement of a step covers the whole batch
// (arrays and unnest, so its text, and PostgreSQL's plan of it, is the same
// for every size), and the statements of a step travel together in one
// pgx pipeline. On a busy machine a round trip is mostly a wait for
// PostgreSQL's backend to be scheduled, and those waits, not the rows, are
// what a batch costs.
//
//  1. BEGIN; the events' turns (webhookEventTurnClass); the tenants not
//     known yet; lock the runs the events name; lock the rollup rows the
//     runs can move (the minutes, hours and days of the runs' stored times
//     and of the observed ones).
//  2. Insert the new runs and rewrite the changed ones; write the rollup
//     rows; record the endpoints' last delivery; insert the events,
//     applied and with their outcomes (they commit together with their
//     runs or not at all); COMMIT.
//
// The changes themselves are worked out in Go between the steps, with the
// functions every other path uses (observedChange, rollupDelta), in the
// order the deliveries arrived. The events are inserted last because
// only then are their outcomes known: inserted first, as
// writeDeliveries' transaction does, each would be written twice.
//
// Every webhook path takes its locks in one order: the events' turns,
// tenants, runs, rollup rows, endpoints. Events are inserted at different
// points, but a transaction inserts an event only in its turn, so no
// other transaction can hold that row.
//
// A batch inserts its rows plainly (its events, and a run or a rollup
// row seen for the first time): if another transaction stored one
// between our read and our insert, the unique index refuses it and
// nothing commits. What this writer does not expect it leaves to
// txDeliveryWriter: that race, a delivery of an event stored already (a
// duplicate: counted, not applied), and a deadlock, should a path outside
// webhooks ever lock in another order. Its transaction is then rolled
// back and the batch written again, the other way.
type pipelinedDeliveryWriter struct{}

// errBatchRaced reports a batch that the pipeline leaves to
// txDeliveryWriter (see pipelinedDeliveryWriter).
var errBatchRaced = errors.New("store: webhook batch needs the one-statement-per-step path")

func (pipelinedDeliveryWriter) write(ctx context.Context, s *Store, ds []WebhookDelivery, todo []int, out []WebhookDeliveryResult) (batchEffects, error) {
	if repeatsAnEvent(ds, todo) {
		return txDeliveryWriter{}.write(ctx, s, ds, todo, out)
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return batchEffects{}, fmt.Errorf("connect: %w", err)
	}
	var fx batchEffects
	err = conn.Raw(func(dc any) error {
		pc, ok := pgxConnOf(dc)
		if !ok {
			return errBatchRaced
		}
		p := newDeliveryPipeline(s, ds, todo, out)
		fx, err = p.run(ctx, pc)
		return err
	})
	conn.Close() // back to the pool, before the other path takes one
	if errors.Is(err, errBatchRaced) {
		return txDeliveryWriter{}.write(ctx, s, ds, todo, out)
	}
	return fx, err
}

// repeatsAnEvent reports whether two deliveries of todo carry the same
// event: the second is a duplicate of the first.
func repeatsAnEvent(ds []WebhookDelivery, todo []int) bool {
	type eventKey struct{ endpoint, event string }
	seen := make(map[eventKey]bool, len(todo))
	for _, i := range todo {
		k := eventKey{ds[i].Event.EndpointID, ds[i].Event.EventID}
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}

// pgxConnOf is the pgx connection under a connection of the store's pool.
func pgxConnOf(dc any) (*pgx.Conn, bool) {
	if c, ok := dc.(*classifyingConn); ok {
		dc = c.inner
	}
	c, ok := dc.(*stdlib.Conn)
	if !ok {
		return nil, false
	}
	return c.Conn(), true
}

// runState is one run of a batch: as stored before it (if at all) and as
// the batch's deliveries, applied in order so far, leave it.
type runState struct {
	stored       RunSnapshot
	storedExists bool
	now          RunSnapshot
	exists       bool
}

// tenantWork is what a batch does to one tenant.
type tenantWork struct {
	tenant                string
	runIDs                []string // sorted: the order their rows are locked in
	runs                  map[string]*runState
	fromExtend, synthetic bool
	delta                 *rollupDelta
}

// deliveryPipeline is one batch on its way through the two steps.
type deliveryPipeline struct {
	s         *Store
	ds        []WebhookDelivery
	todo      []int
	out       []WebhookDeliveryResult
	obs       map[int]observationBatch // by delivery, for those with runs
	tenants   []*tenantWork            // sorted by name
	byTenant  map[string]*tenantWork
	appliedAt time.Time
	// The rollup rows of the minutes, hours and days the batch can move,
	// locked: one per table, in the order writeDeliveries locks them; and
	// the statement that locks them (rollupLockSQL).
	rollups []*lockedRollups
	lockSQL string
	// touches is the endpoints' last deliveries, to record in step 2.
	touches []endpointTouch
}

func newDeliveryPipeline(s *Store, ds []WebhookDelivery, todo []int, out []WebhookDeliveryResult) *deliveryPipeline {
	clear(out)
	p := &deliveryPipeline{s: s, ds: ds, todo: todo, out: out, obs: map[int]observationBatch{},
		byTenant: map[string]*tenantWork{}, appliedAt: msTime(s.now()), lockSQL: rollupLockSQLNoMinutes}
	if !s.noMinuteRollups {
		p.rollups = append(p.rollups, newLockedRollups(minuteRollups, func(d *rollupDelta) map[int64]*Aggregate { return d.minutes }))
		p.lockSQL = rollupLockSQL
	}
	p.rollups = append(p.rollups,
		newLockedRollups(hourRollups, func(d *rollupDelta) map[int64]*Aggregate { return d.buckets }),
		newLockedRollups(dayRollups, func(d *rollupDelta) map[int64]*Aggregate { return d.days }))
	for _, i := range todo {
		d := ds[i]
		if len(d.Runs) == 0 {
			continue
		}
		b, _ := s.batchObservations(d.Runs) // checked by normalizeDelivery
		p.obs[i] = b
		t := p.byTenant[d.Tenant]
		if t == nil {
			t = &tenantWork{tenant: d.Tenant, runs: map[string]*runState{}, delta: newRollupDelta()}
			p.byTenant[d.Tenant] = t
			p.tenants = append(p.tenants, t)
		}
		t.fromExtend = t.fromExtend || b.fromExtend
		t.synthetic = t.synthetic || b.synthetic
		for _, id := range b.order {
			if _, ok := t.runs[id]; !ok {
				t.runs[id] = &runState{}
				t.runIDs = append(t.runIDs, id)
			}
		}
	}
	slices.SortFunc(p.tenants, func(a, b *tenantWork) int { return cmp.Compare(a.tenant, b.tenant) })
	for _, t := range p.tenants {
		slices.Sort(t.runIDs)
	}
	return p
}

// run takes the batch through its steps on conn, in one transaction.
func (p *deliveryPipeline) run(ctx context.Context, conn *pgx.Conn) (fx batchEffects, err error) {
	defer func() {
		if err == nil {
			return
		}
		// The transaction may be half done: end it before the connection
		// goes back to the pool, or close the connection.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if _, rerr := conn.Exec(rctx, "ROLLBACK"); rerr != nil {
			conn.Close(rctx)
		}
		cancel()
		if !errors.Is(err, errBatchRaced) {
			err = classify(err)
		}
	}()
	if err := p.lockStep(ctx, conn); err != nil {
		return batchEffects{}, err
	}
	p.applyInOrder()
	if err := p.lockUnforeseenRollups(ctx, conn); err != nil {
		return batchEffects{}, err
	}
	if err := p.writeStep(ctx, conn); err != nil {
		return batchEffects{}, err
	}
	fx.touched = p.touches
	for _, t := range p.tenants {
		fx.flags = append(fx.flags, tenantFlags{tenant: t.tenant, fromExtend: t.fromExtend, synthetic: t.synthetic})
	}
	return fx, nil
}

// rollupKey is one rollup row: a tenant's minute, hour or day.
type rollupKey struct {
	tenant string
	bucket int64
}

// lockedRollups is what a batch read of one rollup table: the rows it
// locked, and the buckets it looked for (a bucket looked for and not
// found has no row yet).
type lockedRollups struct {
	table   rollupTable
	deltaOf func(*rollupDelta) map[int64]*Aggregate // the table's part of a delta
	sought  map[rollupKey]bool
	found   map[rollupKey]Aggregate
}

func newLockedRollups(table rollupTable, deltaOf func(*rollupDelta) map[int64]*Aggregate) *lockedRollups {
	return &lockedRollups{table: table, deltaOf: deltaOf, sought: map[rollupKey]bool{}, found: map[rollupKey]Aggregate{}}
}

// queueLock queues the read, locking, of tenant's rows of buckets.
func (l *lockedRollups) queueLock(b *pgx.Batch, tenant string, buckets []int64) {
	for _, bucket := range buckets {
		l.sought[rollupKey{tenant, bucket}] = true
	}
	b.Queue(`SELECT `+rollupColumns+` FROM `+l.table.name+` WHERE tenant = $1 AND bucket = ANY($2::int8[])
		ORDER BY bucket FOR UPDATE`, tenant, buckets).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			bucket, a, err := scanRollup(rows)
			if err != nil {
				return err
			}
			l.found[rollupKey{tenant, bucket}] = a
		}
		return rows.Err()
	})
}

// lockStep is step 1: BEGIN, the events' turns, the tenants, the run
// locks, the rollup locks.
func (p *deliveryPipeline) lockStep(ctx context.Context, conn *pgx.Conn) error {
	s := p.s
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	// The events' turns first (see webhookEventTurnClass): a batch holding
	// a redelivered event waits here, holding nothing, for the delivery
	// before it.
	b.Queue(webhookEventTurnsSQL, webhookEventTurnClass, webhookEventTurnKeys(p.ds, p.todo))
	for _, t := range p.tenants {
		want := tenantFlagBits(t.fromExtend, t.synthetic)
		if known, ok := s.tenantFlags.Load(t.tenant); ok && known.(uint8)&want == want {
			continue
		}
		dep, ws := TenantParts(t.tenant)
		b.Queue(s.d.rebind(tenantUpsert), t.tenant, dep, ws, millis(s.now()), boolInt(t.fromExtend), boolInt(t.synthetic))
	}

	for _, t := range p.tenants {
		b.Queue(`SELECT `+snapshotColumns+` FROM run_snapshots WHERE tenant = $1 AND run_id = ANY($2::text[])
			ORDER BY run_id FOR UPDATE`, t.tenant, t.runIDs).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				r, err := scanSnapshot(rows)
				if err != nil {
					return err
				}
				*t.runs[r.RunID] = runState{stored: r, storedExists: true, now: r, exists: true}
			}
			return rows.Err()
		})
	}

	// A run's time (RunSnapshot.At) is its creation or first sighting,
	// stored or observed: the rows of those minutes, hours and days are
	// the ones the batch can move. The stored times are read in the
	// statement.
	for _, t := range p.tenants {
		var observedAt []int64
		for _, i := range p.todo {
			if p.ds[i].Tenant != t.tenant {
				continue
			}
			for _, runs := range p.obs[i].byRun {
				for _, o := range runs {
					for _, at := range []time.Time{o.CreatedAt, o.SeenAt} {
						if !at.IsZero() {
							observedAt = append(observedAt, millis(at))
						}
					}
				}
			}
		}
		for _, l := range p.rollups {
			for _, at := range observedAt {
				l.sought[rollupKey{t.tenant, floorMs(at, l.table.size)}] = true
			}
		}
		b.Queue(p.lockSQL, t.tenant, t.runIDs, observedAt).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var level int
				var rec rollupRecord
				if err := rows.Scan(append([]any{&level}, rec.targets()...)...); err != nil {
					return err
				}
				var a Aggregate
				if err := rec.addTo(&a); err != nil {
					return err
				}
				p.rollups[level].found[rollupKey{t.tenant, rec.bucket}] = a
			}
			return rows.Err()
		})
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store %d webhook events: %w", len(p.todo), err)
	}
	// The stored times' buckets, now known, were looked for too.
	for _, t := range p.tenants {
		for _, st := range t.runs {
			if !st.storedExists {
				continue
			}
			for _, at := range []time.Time{st.stored.At, st.stored.FirstSeenAt} {
				for _, l := range p.rollups {
					l.sought[rollupKey{t.tenant, floorMs(millis(at), l.table.size)}] = true
				}
			}
		}
	}
	return nil
}

// applyInOrder works out, in Go, each delivery's changes to its runs, in
// the order the deliveries arrived, and what they add to the rollups.
func (p *deliveryPipeline) applyInOrder() {
	for _, i := range p.todo {
		b, ok := p.obs[i]
		if !ok {
			continue
		}
		t := p.byTenant[p.ds[i].Tenant]
		byRun := make(map[string]RunChange, len(b.order))
		for _, runID := range b.order {
			st := t.runs[runID]
			var change RunChange
			if st.exists {
				change = observedChange(t.tenant, st.now, b.byRun[runID])
			} else {
				next, nextExists := RunSnapshot{}, false
				for _, o := range b.byRun[runID] {
					next = applyObservation(t.tenant, next, nextExists, o)
					nextExists = true
				}
				// The run's ID comes with its insert, in the round trip
				// that also writes the outcomes: until then it has a
				// stand-in, so its first change reads as a creation.
				next.ID = provisionalRunID
				change = RunChange{RunID: runID, After: next, Changed: true}
			}
			st.now, st.exists = change.After, true
			t.delta.retract(change.Before)
			t.delta.add(change.After)
			byRun[runID] = change
		}
		r := &p.out[i]
		for _, o := range p.ds[i].Runs {
			if c, ok := byRun[o.RunID]; ok {
				r.Changes = append(r.Changes, c)
				delete(byRun, o.RunID) // a run named twice in one event changes once
			}
		}
	}
}

// rollupLockSQL and rollupLockSQLNoMinutes (for a schema without minute
// rollups) are rollupLockQuery's statements for the tables a batch
// writes, in deliveryPipeline.rollups' order: built once, not per tenant
// and batch (the batch writer's hot path).
var (
	rollupLockSQL          = rollupLockQuery([]rollupTable{minuteRollups, hourRollups, dayRollups})
	rollupLockSQLNoMinutes = rollupLockQuery([]rollupTable{hourRollups, dayRollups})
)

// rollupLockQuery reads and locks, in one statement, a tenant's rows of
// each rollup table (in the order of levels, each by bucket) that the
// batch can move: the buckets of the observed times ($3) and of the
// stored runs' times (the runs of $2, locked by an earlier statement of
// the same step). Each row comes with its level, the index in levels.
func rollupLockQuery(levels []rollupTable) string {
	var q strings.Builder
	q.WriteString(`WITH stored AS MATERIALIZED (
		SELECT at, first_seen_at FROM run_snapshots WHERE tenant = $1 AND run_id = ANY($2::text[]))`)
	for i, table := range levels {
		floor := func(col string) string {
			size := strconv.FormatInt(table.size, 10)
			return col + ` - ((` + col + ` % ` + size + `) + ` + size + `) % ` + size
		}
		fmt.Fprintf(&q, `,
	level%d AS (SELECT %s FROM %s WHERE tenant = $1 AND bucket IN (
		SELECT %s FROM unnest($3::int8[]) AS o(at)
		UNION SELECT %s FROM stored UNION SELECT %s FROM stored)
		ORDER BY bucket FOR UPDATE)`, i, rollupColumns, table.name, floor("at"), floor("at"), floor("first_seen_at"))
	}
	q.WriteString("\n")
	for i := range levels {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&q, "SELECT %d, * FROM level%d", i, i)
	}
	return q.String()
}

// movedRollups is, per tenant in order, the buckets of one table whose
// delta is not zero, sorted.
func (p *deliveryPipeline) movedRollups(l *lockedRollups) []rollupKey {
	var keys []rollupKey
	for _, t := range p.tenants {
		deltas := l.deltaOf(t.delta)
		for _, bucket := range slices.Sorted(maps.Keys(deltas)) {
			if !deltas[bucket].zero() {
				keys = append(keys, rollupKey{t.tenant, bucket})
			}
		}
	}
	return keys
}

// lockUnforeseenRollups reads and locks the rollup rows the changes move
// that step 1 did not look for. lockStep looks for every bucket a change
// can move, so this costs nothing unless that reasoning is ever wrong.
func (p *deliveryPipeline) lockUnforeseenRollups(ctx context.Context, conn *pgx.Conn) error {
	b := &pgx.Batch{}
	for _, l := range p.rollups {
		missing := map[string][]int64{}
		var tenants []string
		for _, k := range p.movedRollups(l) {
			if !l.sought[k] {
				if _, ok := missing[k.tenant]; !ok {
					tenants = append(tenants, k.tenant)
				}
				missing[k.tenant] = append(missing[k.tenant], k.bucket)
			}
		}
		for _, t := range tenants {
			l.queueLock(b, t, missing[t])
		}
	}
	if b.Len() == 0 {
		return nil
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	return nil
}

// writeStep is step 2: the runs, the rollup rows, the endpoints, the
// events with their outcomes, COMMIT.
func (p *deliveryPipeline) writeStep(ctx context.Context, conn *pgx.Conn) error {
	b := &pgx.Batch{}
	var inserts, updates [][]any
	type runKey struct{ tenant, run string }
	newIDs := map[runKey]int64{}
	for _, t := range p.tenants {
		for _, id := range t.runIDs {
			st := t.runs[id]
			switch {
			case !st.storedExists:
				inserts = append(inserts, snapshotArgs(st.now))
			case !sameSnapshot(st.stored, st.now):
				updates = append(updates, append([]any{st.now.ID}, snapshotArgs(st.now)[2:]...))
			}
		}
	}
	if len(inserts) > 0 {
		b.Queue(`INSERT INTO run_snapshots (`+snapshotInsertColumns+`) SELECT * FROM unnest(`+arrayParams(snapshotArrayTypes)+`)
			RETURNING id, tenant, run_id`, columnsOf(inserts, snapshotInsertArity)...).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id int64
				var k runKey
				if err := rows.Scan(&id, &k.tenant, &k.run); err != nil {
					return err
				}
				newIDs[k] = id
			}
			return rows.Err()
		})
	}
	if len(updates) > 0 {
		b.Queue(snapshotsUpdateFromArrays, columnsOf(updates, 1+snapshotInsertArity-2)...)
	}

	for _, l := range p.rollups {
		var updates, inserts [][]any
		for _, k := range p.movedRollups(l) {
			delta := l.deltaOf(p.byTenant[k.tenant].delta)[k.bucket]
			if current, ok := l.found[k]; ok {
				current.merge(*delta)
				updates = append(updates, append([]any{k.tenant, k.bucket}, rollupArgs(current)...))
			} else {
				inserts = append(inserts, append([]any{k.tenant, k.bucket}, rollupArgs(*delta)...))
			}
		}
		table := l.table.name
		if len(updates) > 0 {
			b.Queue(`UPDATE `+table+` AS t SET processed = u.processed, failed = u.failed, credits = u.credits,
				pages = u.pages, fields_filled = u.fields_filled, fields_total = u.fields_total, field_reports = u.field_reports,
				failures = u.failures, timings = u.timings
				FROM unnest(`+arrayParams(rollupArrayTypes)+`) AS u(tenant, `+rollupColumns+`)
				WHERE t.tenant = u.tenant AND t.bucket = u.bucket`, columnsOf(updates, len(rollupArrayTypes))...)
		}
		if len(inserts) > 0 {
			b.Queue(`INSERT INTO `+table+` (tenant, `+rollupColumns+`) SELECT * FROM unnest(`+arrayParams(rollupArrayTypes)+`)`,
				columnsOf(inserts, len(rollupArrayTypes))...)
		}
	}

	// The rows inserted are new unless another transaction created one
	// meanwhile: then the insert breaks the unique index, the transaction
	// ends without committing, and the batch goes the other way
	// (errBatchRaced). So the inserts, the events' among them, and the
	// COMMIT travel together, in one round trip.
	p.queueEndpointTouches(b)
	p.queueEvents(b)
	if err := p.commit(ctx, conn, b); err != nil {
		if isPgError(err, pgUniqueViolation, pgDeadlockDetected) {
			return errBatchRaced
		}
		return err
	}
	for i := range p.out {
		for c := range p.out[i].Changes {
			ch := &p.out[i].Changes[c]
			if ch.After.ID != provisionalRunID {
				continue
			}
			id := newIDs[runKey{ch.After.Tenant, ch.RunID}]
			if ch.Before.ID == provisionalRunID {
				ch.Before.ID = id
			}
			ch.After.ID = id
		}
	}
	return nil
}

// queueEndpointTouches records each endpoint's last delivery, after the
// runs and rollups as every webhook path does (see writeDeliveries).
func (p *deliveryPipeline) queueEndpointTouches(b *pgx.Batch) {
	p.touches = p.s.endpointTouchesDue(p.ds, p.todo)
	for _, t := range p.touches {
		b.Queue(p.s.d.rebind(webhookEndpointTouch), t.at, t.endpoint, t.at-1000)
	}
}

// provisionalRunID stands for the ID of a run the batch creates until its
// insert returns one (no row has a negative ID).
const provisionalRunID = -1

// PostgreSQL's SQLSTATEs for a duplicate key, and for a deadlock it broke
// by ending this transaction (the webhook paths lock in one order, but a
// writer outside them may not).
const (
	pgUniqueViolation  = "23505"
	pgDeadlockDetected = "40P01"
)

// isPgError reports whether err is PostgreSQL's answer with one of codes.
func isPgError(err error, codes ...string) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && slices.Contains(codes, pgErr.Code)
}

// queueEvents works out each applied event's outcome and queues the
// insert of the events, outcomes and all. An event stored already (a
// duplicate, delivered meanwhile to another replica) breaks the unique
// index: the transaction ends without committing, and the batch goes the
// other way (errBatchRaced), where duplicates are counted, not applied.
func (p *deliveryPipeline) queueEvents(b *pgx.Batch) {
	// In one order, as insertWebhookEvents inserts them.
	events := slices.Clone(p.todo)
	slices.SortFunc(events, func(a, b int) int {
		ea, eb := p.ds[a].Event, p.ds[b].Event
		return cmp.Or(cmp.Compare(ea.EndpointID, eb.EndpointID), cmp.Compare(ea.EventID, eb.EventID))
	})
	cols := make([][]any, 8)
	for _, i := range events {
		e := p.ds[i].Event
		r := &p.out[i]
		r.Stored = WebhookEvent{EndpointID: e.EndpointID, EventID: e.EventID, EventType: e.EventType, RunID: e.RunID,
			ReceivedAt: e.ReceivedAt, Verified: true, Payload: e.Payload, Deliveries: 1}
		var applied any
		if _, ok := p.obs[i]; ok {
			applied = millis(p.appliedAt)
			r.Stored.AppliedAt = p.appliedAt
			r.Stored.Outcome = p.ds[i].Outcome(r.Changes)
		}
		for c, v := range []any{e.EndpointID, e.EventID, e.EventType, e.RunID, millis(e.ReceivedAt), e.Payload, applied, r.Stored.Outcome} {
			cols[c] = append(cols[c], v)
		}
	}
	type eventKey struct{ endpoint, event string }
	b.Queue(`INSERT INTO webhook_events (endpoint_id, event_id, event_type, run_id, received_at, payload, applied_at, outcome, verified)
		SELECT endpoint_id, event_id, event_type, run_id, received_at, payload, applied_at, outcome, 1
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::bytea[], $7::int8[], $8::text[])
			WITH ORDINALITY AS u(endpoint_id, event_id, event_type, run_id, received_at, payload, applied_at, outcome, n)
		ORDER BY n
		RETURNING id, endpoint_id, event_id`,
		anySlices(cols)...).Query(func(rows pgx.Rows) error {
		byKey := make(map[eventKey]int, len(events))
		for _, i := range events {
			byKey[eventKey{p.ds[i].Event.EndpointID, p.ds[i].Event.EventID}] = i
		}
		for rows.Next() {
			var id int64
			var k eventKey
			if err := rows.Scan(&id, &k.endpoint, &k.event); err != nil {
				return err
			}
			p.out[byKey[k]].Stored.ID = id
		}
		return rows.Err()
	})
}

func (p *deliveryPipeline) commit(ctx context.Context, conn *pgx.Conn, b *pgx.Batch) error {
	committed := false
	b.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		committed = ct.String() == "COMMIT" // a failed transaction answers ROLLBACK
		return nil
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if !committed {
		return errors.New("commit: the transaction was rolled back")
	}
	return nil
}

// PostgreSQL array types of snapshotInsertColumns, in order, and of the
// rollup rows (tenant, then rollupColumns).
var (
	snapshotArrayTypes = []string{"text", "text", "int8", "text", "text", "text", "text", "text", "text",
		"int8", "int8", "int8", "int8", "int8", "float8", "float8", "float8", "float8", "float8",
		"int8", "int8", "int8", "int8", "int8", "text", "int8", "int8"}
	rollupArrayTypes = []string{"text", "int8", "int8", "int8", "float8", "int8", "int8", "int8", "int8", "bytea", "bytea"}
)

// snapshotsUpdateFromArrays rewrites runs by ID from one array per column
// (the ID, then snapshotInsertColumns less tenant and run_id).
var snapshotsUpdateFromArrays = func() string {
	cols := strings.Split(snapshotInsertColumns, ",")[2:]
	set := make([]string, len(cols))
	for i, c := range cols {
		c = strings.TrimSpace(c)
		cols[i] = c
		set[i] = c + " = u." + c
	}
	return `UPDATE run_snapshots AS s SET ` + strings.Join(set, ", ") + `
		FROM unnest(` + arrayParams(append([]string{"int8"}, snapshotArrayTypes[2:]...)) + `) AS u(id, ` + strings.Join(cols, ", ") + `)
		WHERE s.id = u.id`
}()

// arrayParams is "$1::type[], …" for one array per type.
func arrayParams(types []string) string {
	params := make([]string, len(types))
	for i, t := range types {
		params[i] = fmt.Sprintf("$%d::%s[]", i+1, t)
	}
	return strings.Join(params, ", ")
}

// columnsOf turns rows of arguments into one array argument per column,
// for unnest.
func columnsOf(rows [][]any, arity int) []any {
	cols := make([]any, arity)
	for c := range arity {
		col := make([]any, len(rows))
		for r, row := range rows {
			col[r] = row[c]
		}
		cols[c] = col
	}
	return cols
}

func anySlices(cols [][]any) []any {
	out := make([]any, len(cols))
	for i, c := range cols {
		out[i] = c
	}
	return out
}
