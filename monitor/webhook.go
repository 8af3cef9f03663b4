package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// ErrUnknownEndpoint reports a delivery to an endpoint ID Editwatch does
// not know (answer 404: nothing to retry).
var ErrUnknownEndpoint = errors.New("monitor: unknown webhook endpoint")

// WebhookReceipt is what ReceiveWebhook stored.
type WebhookReceipt struct {
	Event     store.WebhookEvent
	Tenant    string
	Duplicate bool
}

// ReceiveWebhook stores a verified delivery, with its presigned URLs and
// filled values removed, and returns once it is durable: answer Extend 2xx
// after it returns nil and 503 when it fails, so Extend retries. An
// edit_run event with its run inline is applied in the same transaction
// (Event.Applied() is then true, and the change is published); any other
// (a signed_data_url payload to fetch, another event type) is only
// stored: apply it with ApplyWebhookEvent after answering. A duplicate
// delivery stores nothing new and is never applied twice. Concurrent
// deliveries share a transaction (see storeDelivery).
func (m *Monitor) ReceiveWebhook(ctx context.Context, endpointID string, ev *extendapi.WebhookEvent) (WebhookReceipt, error) {
	tenant, err := m.endpointTenant(ctx, endpointID)
	if err != nil {
		return WebhookReceipt{}, err
	}
	payload, err := RedactPayload(ev.Payload)
	if err != nil {
		return WebhookReceipt{}, fmt.Errorf("monitor: receive webhook %s: %w", ev.EventID, err)
	}
	record := store.WebhookEvent{EndpointID: endpointID, EventID: ev.EventID, EventType: ev.EventType,
		ReceivedAt: m.now(), Payload: payload}
	var obs []store.RunObservation
	if strings.HasPrefix(ev.EventType, "edit_run.") {
		inline := &extendapi.WebhookEvent{EventID: ev.EventID, EventType: ev.EventType, Payload: payload}
		if run, err := inline.EditRun(); err == nil {
			record.RunID = run.ID
			obs = []store.RunObservation{Observation(*run, store.ViaWebhook, record.ReceivedAt)}
		}
	}
	if record.RunID == "" {
		record.RunID = payloadRunID(payload)
	}
	res := m.storeDelivery(ctx, store.WebhookDelivery{Event: record, Tenant: tenant, Runs: obs,
		Outcome: func(changes []store.RunChange) string { return describeChange(changes[0]) }})
	if res.Err != nil {
		return WebhookReceipt{}, fmt.Errorf("monitor: receive webhook: %w", res.Err)
	}
	m.publishChanges(ctx, tenant, res.Changes)
	return WebhookReceipt{Event: res.Stored, Tenant: tenant, Duplicate: res.Duplicate}, nil
}

func (m *Monitor) endpointTenant(ctx context.Context, endpointID string) (string, error) {
	if t, ok := m.endpointTenants.Load(endpointID); ok {
		return t.(string), nil
	}
	ep, err := m.store.GetWebhookEndpoint(ctx, endpointID)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("%w: %s", ErrUnknownEndpoint, endpointID)
	}
	if err != nil {
		return "", fmt.Errorf("monitor: webhook endpoint: %w", err)
	}
	m.endpointTenants.Store(endpointID, ep.Tenant)
	return ep.Tenant, nil
}

// RedactPayload removes from a webhook payload what history must not keep:
// every presignedUrl, and the values (not the names) of filledValues, so
// their count survives. Anything else is kept as it came.
func RedactPayload(payload json.RawMessage) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", extendapi.ErrWebhookPayload, err)
	}
	return json.Marshal(redact(v))
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			// encoding/json matches keys case-insensitively (folding ſ and
			// the Kelvin sign too), so "PresignedURL" would still fill
			// EditRun's field: compare the same way.
			switch {
			case strings.EqualFold(k, "presignedUrl"):
				delete(t, k)
			case strings.EqualFold(k, "filledValues"):
				if fields, ok := val.(map[string]any); ok {
					for name := range fields {
						fields[name] = nil
					}
					continue
				}
				delete(t, k)
			default:
				t[k] = redact(val)
			}
		}
	case []any:
		for i := range t {
			t[i] = redact(t[i])
		}
	}
	return v
}

func payloadRunID(payload []byte) string {
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(payload, &p)
	return p.ID
}

// ApplyWebhookEvent applies a stored event to its endpoint's tenant (at
// most once: an event already applied is left alone), marks it applied in
// the same transaction, and publishes what changed. It returns the outcome
// written for the deliveries page. An event that cannot be applied
// (unreadable, or a signed URL that cannot be fetched) is marked applied
// with the error, so it is not retried for ever; store errors leave it
// pending for the next ApplyPending.
func (m *Monitor) ApplyWebhookEvent(ctx context.Context, e store.WebhookEvent) (string, error) {
	if e.Applied() {
		return e.Outcome, nil
	}
	tenant, err := m.endpointTenant(ctx, e.EndpointID)
	if errors.Is(err, ErrUnknownEndpoint) {
		// The endpoint was deleted, and its deliveries with it.
		return "not applied", nil
	}
	if err != nil {
		return "", fmt.Errorf("monitor: apply webhook event %s: %w", e.EventID, err)
	}
	outcome, applyErr := m.applyEvent(ctx, tenant, e)
	var storeErr *storeError
	switch {
	case errors.Is(applyErr, store.ErrNotFound):
		// Purged (retention, or its endpoint deleted) since it was read.
		return "not applied", nil
	case errors.As(applyErr, &storeErr):
		return "", fmt.Errorf("monitor: apply webhook event %s: %w", e.EventID, applyErr)
	case applyErr == nil:
		return outcome, nil
	case transientFetch(applyErr) && m.now().Sub(e.ReceivedAt) < signedPayloadLifetime:
		// Extend will not deliver the event again, and its signed URL
		// lives an hour: keep it pending for the sweep rather than give up
		// on a network hiccup.
		return "", fmt.Errorf("monitor: apply webhook event %s: %w: %w", e.EventID, ErrPayloadDeferred, applyErr)
	}
	m.logger.WarnContext(ctx, "monitor: webhook event not applied", "event", e.EventID, "endpoint", e.EndpointID, "err", applyErr)
	if _, err := m.store.MarkWebhookEventApplied(ctx, e.ID, "not applied", applyErr.Error()); err != nil {
		return "", fmt.Errorf("monitor: apply webhook event %s: %w", e.EventID, err)
	}
	return "not applied", nil
}

// signedPayloadLifetime is how long a signed_data_url answers (1 hour,
// per Extend's webhook documentation).
const signedPayloadLifetime = time.Hour

// ErrPayloadDeferred: an event's signed payload could not be fetched for a
// reason that may pass (the network, a 5xx, a 429); it stays pending and
// is tried again until its URL expires.
var ErrPayloadDeferred = errors.New("signed payload not fetched yet")

// transientFetch reports whether fetching a signed payload failed for a
// reason worth trying again.
func transientFetch(err error) bool {
	var netErr *extendapi.NetworkError
	return errors.As(err, &netErr) || errors.Is(err, extendapi.ErrServer) || errors.Is(err, extendapi.ErrRateLimited) ||
		errors.Is(err, context.DeadlineExceeded)
}

// storeError marks a failure worth retrying (the database), as opposed to
// one in the event itself.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// applyEvent applies an event and, when it succeeds, has marked it applied.
func (m *Monitor) applyEvent(ctx context.Context, tenant string, e store.WebhookEvent) (string, error) {
	if !strings.HasPrefix(e.EventType, "edit_run.") {
		outcome := "ignored: " + e.EventType + " does not change edit-run history"
		if _, err := m.store.MarkWebhookEventApplied(ctx, e.ID, outcome, ""); err != nil {
			return "", &storeError{err}
		}
		return outcome, nil
	}
	ev := &extendapi.WebhookEvent{EventID: e.EventID, EventType: e.EventType, Payload: e.Payload}
	if _, signed := ev.SignedDataURL(); signed {
		if m.resolve == nil {
			return "", errors.New("payload is a signed URL and no resolver is configured")
		}
		if err := m.resolve(ctx, tenant, ev); err != nil {
			return "", fmt.Errorf("fetch signed payload: %w", err)
		}
		redacted, err := RedactPayload(ev.Payload)
		if err != nil {
			return "", err
		}
		ev.Payload = redacted
	}
	run, err := ev.EditRun()
	if err != nil {
		return "", err
	}
	outcome := "already applied"
	changes, first, err := m.store.ApplyWebhookEventRuns(ctx, tenant, []store.RunObservation{Observation(*run, store.ViaWebhook, m.now())},
		e.ID, func(changes []store.RunChange) string {
			outcome = describeChange(changes[0])
			return outcome
		})
	if err != nil {
		return "", &storeError{fmt.Errorf("monitor: ingest into %s: %w", tenant, err)}
	}
	if first {
		m.publishChanges(ctx, tenant, changes)
	}
	return outcome, nil
}

func describeChange(c store.RunChange) string {
	switch {
	case c.Created():
		return fmt.Sprintf("%s: new, %s", c.RunID, c.After.Status)
	case c.After.Deleted():
		return fmt.Sprintf("%s: ignored, the run was deleted", c.RunID)
	case c.StatusChanged():
		return fmt.Sprintf("%s: %s → %s", c.RunID, c.Before.Status, c.After.Status)
	case c.Changed:
		return fmt.Sprintf("%s: %s, details updated", c.RunID, c.After.Status)
	default:
		return fmt.Sprintf("%s: no change (history already had this or newer)", c.RunID)
	}
}

// ApplyPending applies every stored event not applied yet, oldest first:
// call it at start, so events stored before a crash are not lost. It
// returns how many it applied. An event whose signed payload cannot be
// fetched yet does not hold up the ones behind it: it is passed over, and
// the error (ErrPayloadDeferred) says some are left for a later sweep.
func (m *Monitor) ApplyPending(ctx context.Context) (int, error) {
	var after int64
	applied, deferred := 0, 0
	for {
		events, err := m.store.PendingWebhookEvents(ctx, after, 100)
		if err != nil {
			return applied, fmt.Errorf("monitor: apply pending: %w", err)
		}
		for _, e := range events {
			after = e.ID
			if _, err := m.ApplyWebhookEvent(ctx, e); errors.Is(err, ErrPayloadDeferred) {
				deferred++
				continue
			} else if err != nil {
				return applied, err
			}
			applied++
		}
		if len(events) < 100 {
			if deferred > 0 {
				return applied, fmt.Errorf("monitor: apply pending: %d events: %w", deferred, ErrPayloadDeferred)
			}
			return applied, nil
		}
	}
}

// How SweepPending waits between attempts while the database fails.
const (
	sweepFirstDelay = time.Second
	sweepMaxDelay   = 30 * time.Second
)

// pendingSweeper lets one SweepPending run at a time per Monitor, and
// makes it sweep once more when asked while it runs, so an event that
// failed just as a sweep finished is not left behind.
type pendingSweeper struct {
	mu      sync.Mutex
	running bool
	again   bool
}

// SweepPending applies every stored event not applied yet, trying again
// (1 s, doubling up to 30 s) while the database fails or a signed payload
// cannot be fetched, until none is left or ctx ends. Call it when applying an acknowledged event failed: Extend
// will not deliver that event again, so without a sweep it would wait for
// the next start. Concurrent calls coalesce: the running sweep picks up
// their events, and the others return at once.
func (m *Monitor) SweepPending(ctx context.Context) {
	s := &m.sweeper
	s.mu.Lock()
	if s.running {
		s.again = true
		s.mu.Unlock()
		return
	}
	s.running = true
	s.mu.Unlock()
	for {
		m.sweepUntilDone(ctx)
		s.mu.Lock()
		if !s.again || ctx.Err() != nil {
			s.running, s.again = false, false
			s.mu.Unlock()
			return
		}
		s.again = false
		s.mu.Unlock()
	}
}

// sweepUntilDone waits before each attempt: the caller has just seen the
// database fail.
func (m *Monitor) sweepUntilDone(ctx context.Context) {
	for delay := sweepFirstDelay; ; delay = min(2*delay, sweepMaxDelay) {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		n, err := m.ApplyPending(ctx)
		if err == nil {
			if n > 0 {
				m.logger.InfoContext(ctx, "monitor: applied webhook events left pending by a database failure", "count", n)
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		m.logger.WarnContext(ctx, "monitor: webhook events still pending; trying again", "in", min(2*delay, sweepMaxDelay), "applied", n, "err", err)
	}
}
