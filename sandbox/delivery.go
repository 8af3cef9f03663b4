package sandbox

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// Delivery tuning. Upstream's retry policy is not documented (§5.4); the
// sandbox retries a non-2xx answer six times over about 43 minutes.
var defaultRetrySchedule = []time.Duration{
	time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
}

const (
	deliveryTimeout      = 10 * time.Second
	deliveryConcurrency  = 4
	deliveryLogPerTarget = 100 // finished deliveries kept per endpoint
	largePayloadsKept    = 200
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event sent to one endpoint, as the delivery log
// (GET /_sandbox/webhook_deliveries) shows it.
type WebhookDelivery struct {
	Object        string            `json:"object"` // "webhook_delivery"
	ID            string            `json:"id"`
	EndpointID    string            `json:"endpointId"`
	EventID       string            `json:"eventId"`
	EventType     string            `json:"eventType"`
	Status        string            `json:"status"` // pending, succeeded or failed
	Attempts      []DeliveryAttempt `json:"attempts"`
	NextAttemptAt *time.Time        `json:"nextAttemptAt,omitempty"`
	CreatedAt     time.Time         `json:"createdAt"`
	Body          json.RawMessage   `json:"body"` // the exact bytes sent
}

// DeliveryAttempt is one POST to the endpoint.
type DeliveryAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"statusCode,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMs float64   `json:"durationMs"`
}

// deliveryRecord is the stored form of a delivery.
type deliveryRecord = WebhookDelivery

// scheduledDelivery is a delivery waiting for its (real, monotonic) time.
type scheduledDelivery struct {
	due                               time.Time
	workspace, endpointID, deliveryID string
}

// deliveryQueue is a min-heap of scheduled deliveries plus the dispatcher's
// wake-up signal. Guarded by Server.mu.
type deliveryQueue struct {
	items  deliveryHeap
	wake   chan struct{}
	client *http.Client
}

type deliveryHeap []scheduledDelivery

func (h deliveryHeap) Len() int           { return len(h) }
func (h deliveryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h deliveryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deliveryHeap) Push(x any)        { *h = append(*h, x.(scheduledDelivery)) }
func (h *deliveryHeap) Pop() any {
	old := *h
	item := old[len(old)-1]
	*h = old[:len(old)-1]
	return item
}

// newDeliveryQueue makes the queue and its HTTP client. Deliveries may go
// to loopback: the dashboard receiving them usually runs next door.
func newDeliveryQueue() deliveryQueue {
	return deliveryQueue{
		wake:   make(chan struct{}, 1),
		client: &http.Client{Timeout: deliveryTimeout, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}},
	}
}

func (s *Server) closeDeliveryClient() { s.delivery.client.CloseIdleConnections() }

// queueDeliveryLocked records a new delivery and schedules its first attempt.
func (s *Server) queueDeliveryLocked(wd *workspaceData, endpointID, eventID, eventType string, body json.RawMessage) {
	d := &deliveryRecord{Object: "webhook_delivery", ID: newID("whd_"), EndpointID: endpointID, EventID: eventID,
		EventType: eventType, Status: DeliveryPending, Attempts: []DeliveryAttempt{}, CreatedAt: s.opts.Clock().UTC(), Body: body}
	log := append(wd.Deliveries[endpointID], d)
	for len(log) > deliveryLogPerTarget && log[0].Status != DeliveryPending {
		log = log[1:]
	}
	wd.Deliveries[endpointID] = log
	s.scheduleLocked(wd.ID, endpointID, d.ID, 0)
}

func (s *Server) scheduleLocked(workspace, endpointID, deliveryID string, after time.Duration) {
	heap.Push(&s.delivery.items, scheduledDelivery{due: time.Now().Add(after), workspace: workspace, endpointID: endpointID, deliveryID: deliveryID})
	select {
	case s.delivery.wake <- struct{}{}:
	default:
	}
}

// resumeDeliveriesLocked reschedules deliveries a previous process left
// pending.
func (s *Server) resumeDeliveriesLocked() {
	for _, wd := range s.state.Workspaces {
		for endpointID, log := range wd.Deliveries {
			for _, d := range log {
				if d.Status == DeliveryPending {
					s.scheduleLocked(wd.ID, endpointID, d.ID, 0)
				}
			}
		}
	}
}

// dispatchDeliveries sends due deliveries with bounded concurrency until the
// server closes. Scheduling uses real time; timestamps use the clock.
func (s *Server) dispatchDeliveries() {
	sem := make(chan struct{}, deliveryConcurrency)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var due []scheduledDelivery
		now := time.Now()
		for s.delivery.items.Len() > 0 && !s.delivery.items[0].due.After(now) {
			due = append(due, heap.Pop(&s.delivery.items).(scheduledDelivery))
		}
		wait := time.Hour
		if s.delivery.items.Len() > 0 {
			wait = s.delivery.items[0].due.Sub(now)
		}
		s.mu.Unlock()
		for _, d := range due {
			select {
			case sem <- struct{}{}:
			case <-s.ctx.Done():
				return
			}
			s.wg.Go(func() {
				defer func() { <-sem }()
				s.attemptDelivery(d)
			})
		}
		if len(due) > 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-s.delivery.wake:
		case <-timer.C:
		case <-s.ctx.Done():
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// findDeliveryLocked finds a delivery by endpoint and ID.
func (s *Server) findDeliveryLocked(workspace, endpointID, id string) *deliveryRecord {
	wd := s.state.Workspaces[workspace]
	if wd == nil {
		return nil
	}
	for _, d := range wd.Deliveries[endpointID] {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// attemptDelivery makes one signed POST and records the outcome, scheduling
// the next attempt after a failure while the schedule lasts.
func (s *Server) attemptDelivery(sd scheduledDelivery) {
	s.mu.Lock()
	d := s.findDeliveryLocked(sd.workspace, sd.endpointID, sd.deliveryID)
	hook := s.webhookLocked(sd.workspace, sd.endpointID)
	if d == nil || d.Status != DeliveryPending {
		s.mu.Unlock()
		return
	}
	body := d.Body
	var target, secret string
	var headers map[string]string
	if hook != nil {
		target, secret = hook.Endpoint.URL, hook.Secret
		if hook.Endpoint.AdvancedOptions != nil {
			headers = hook.Endpoint.AdvancedOptions.Headers
		}
	}
	disabled := hook != nil && hook.Endpoint.Status != endpointEnabled
	s.mu.Unlock()

	start := time.Now()
	attempt := DeliveryAttempt{At: s.opts.Clock().UTC()}
	switch {
	case hook == nil:
		attempt.Error = "the endpoint was deleted"
	case disabled:
		attempt.Error = "the endpoint is disabled"
	case s.rollFault(func(f Faults) float64 { return f.RateWebhookFail }):
		attempt.Error = "injected by the sandbox's fault injection (rateWebhookFail): not sent"
	default:
		status, err := s.postEvent(target, secret, headers, body)
		if s.ctx.Err() != nil {
			return // interrupted by Close: still pending, resumed by the next start
		}
		attempt.StatusCode = status
		if err != nil {
			attempt.Error = err.Error()
		}
	}
	attempt.DurationMs = float64(time.Since(start).Microseconds()) / 1000

	s.mu.Lock()
	defer s.mu.Unlock()
	d = s.findDeliveryLocked(sd.workspace, sd.endpointID, sd.deliveryID)
	if d == nil {
		return
	}
	d.Attempts = append(d.Attempts, attempt)
	d.NextAttemptAt = nil
	switch {
	case attempt.Error == "":
		d.Status = DeliverySucceeded
	case hook != nil && !disabled && len(d.Attempts) <= len(s.retrySchedule):
		delay := s.retrySchedule[len(d.Attempts)-1]
		next := s.opts.Clock().UTC().Add(delay)
		d.NextAttemptAt = &next
		s.scheduleLocked(sd.workspace, sd.endpointID, d.ID, delay)
	default:
		d.Status = DeliveryFailed
	}
	s.markDirtyLocked()
}

// postEvent sends one signed delivery (§5.3): HMAC-SHA256 hex over
// "v0:{timestamp}:{body}" in x-extend-request-signature, the Unix timestamp
// in x-extend-request-timestamp. Any non-2xx answer is a failure.
func (s *Server) postEvent(target, secret string, headers map[string]string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(s.ctx, deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("bad endpoint URL: %w", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	ts := s.opts.Clock().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "editwatch-sandbox-webhooks")
	req.Header.Set(extendapi.HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(extendapi.HeaderWebhookSignature, extendapi.SignWebhook(secret, ts, body))
	resp, err := s.delivery.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// largePayload is an event payload served by signed URL for an hour.
type largePayload struct {
	data    []byte
	expires time.Time
}

func (s *Server) storeLargePayloadLocked(eventID string, data []byte) {
	now := s.opts.Clock()
	for id, p := range s.payloads {
		if now.After(p.expires) || len(s.payloads) >= largePayloadsKept {
			delete(s.payloads, id)
		}
	}
	s.payloads[eventID] = largePayload{data: data, expires: now.Add(presignedPayloadTTL)}
}

// handleWebhookPayload serves a large payload to the holder of its signed URL.
func (s *Server) handleWebhookPayload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.verifyPresigned(r, presignPayloads, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.mu.Lock()
	p, ok := s.payloads[id]
	s.mu.Unlock()
	if !ok {
		s.writeError(w, r, errNotFound("webhook payload", id))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(p.data)
}

// handleListDeliveries is GET /_sandbox/webhook_deliveries: the workspace's
// delivery log, newest first, optionally for one endpointId and status.
func (s *Server) handleListDeliveries(w http.ResponseWriter, r *http.Request, c *callContext) error {
	endpointID, status := r.URL.Query().Get("endpointId"), r.URL.Query().Get("status")
	s.mu.Lock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if endpointID != "" && wd.Webhooks[endpointID] == nil && wd.Deliveries[endpointID] == nil {
		s.mu.Unlock()
		return errNotFound("webhook endpoint", endpointID)
	}
	var out []WebhookDelivery
	for id, log := range wd.Deliveries {
		if endpointID != "" && id != endpointID {
			continue
		}
		for _, d := range log {
			if status == "" || d.Status == status {
				cp := *d
				cp.Attempts = append([]DeliveryAttempt{}, d.Attempts...)
				out = append(out, cp)
			}
		}
	}
	s.mu.Unlock()
	page, _ := paginate(out, func(d WebhookDelivery) sortKey { return sortKey{d.CreatedAt, d.ID} },
		pageQuery{dir: extendapi.SortDesc, size: len(out) + 1})
	writeJSON(w, http.StatusOK, extendapi.List[WebhookDelivery]{Object: "list", Data: page})
	return nil
}

// handleRetryDelivery is POST /_sandbox/webhook_deliveries/{id}/retry: one
// more attempt now, like the manual retry of upstream's dashboard.
func (s *Server) handleRetryDelivery(w http.ResponseWriter, r *http.Request, c *callContext) error {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		return err
	}
	for endpointID, log := range wd.Deliveries {
		for _, d := range log {
			if d.ID != id {
				continue
			}
			if d.Status != DeliveryPending {
				d.Status = DeliveryPending
				s.scheduleLocked(wd.ID, endpointID, d.ID, 0)
				s.markDirtyLocked()
			}
			cp := *d
			cp.Attempts = append([]DeliveryAttempt{}, d.Attempts...)
			writeJSON(w, http.StatusOK, cp)
			return nil
		}
	}
	return errNotFound("webhook delivery", id)
}
