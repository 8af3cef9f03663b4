package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// Webhook events, the storage behind signed payloads, and Extend's side of
// deliveries, for the database-outage and kill fault tests.

// Kinds of fault-test events, one per path through the receiver.
const (
	eventProcessed = iota // edit_run.processed, run inline: stored and applied in one transaction
	eventFailed           // edit_run.failed, run inline
	eventSigned           // edit_run.processed as a signed_data_url: stored, answered, then fetched and applied
	eventIgnored          // form_detection_run.processed: stored, then marked ignored
)

// faultEvent is one webhook event Extend would send, with what history
// must hold once it is applied.
type faultEvent struct {
	id, runID string
	kind      int
	credits   float64
	reason    string
	body      []byte
	payload   []byte // what the signed URL serves, for eventSigned
}

var faultFailureReasons = []string{"PDF_PARSE_ERROR", "CORRUPT_FILE", "INTERNAL_ERROR"}

// faultEvents makes n events of mixed kinds, one run each (a run finishes
// once), created an hour ago. Signed payloads are served by storage.
func faultEvents(prefix string, n int, storage *signedStorage) []faultEvent {
	created := time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339)
	events := make([]faultEvent, n)
	for i := range events {
		e := faultEvent{id: fmt.Sprintf("evt_%s_%04d", prefix, i), runID: fmt.Sprintf("edr_%s_%04d", prefix, i)}
		switch i % 10 {
		case 6, 7:
			e.kind = eventFailed
		case 8:
			e.kind = eventSigned
		case 9:
			e.kind = eventIgnored
		}
		eventType, payload := extendapi.EventEditRunProcessed, ""
		switch e.kind {
		case eventProcessed, eventSigned:
			e.credits = float64(i%7 + 1)
			payload = fmt.Sprintf(`{"object":"edit_run","id":%q,"status":"PROCESSED","createdAt":%q,`+
				`"file":{"object":"file","id":"file_%d","name":"form-%d.pdf"},"output":{"filledValues":{"name":"Ana"}},`+
				`"metrics":{"processingTimeMs":%d,"pageCount":2,"fieldCount":3},"usage":{"credits":%g}}`,
				e.runID, created, i, i, 800+i, e.credits)
		case eventFailed:
			eventType = extendapi.EventEditRunFailed
			e.reason = faultFailureReasons[i%len(faultFailureReasons)]
			payload = fmt.Sprintf(`{"object":"edit_run","id":%q,"status":"FAILED","createdAt":%q,`+
				`"failureReason":%q,"failureMessage":"could not edit","file":{"object":"file","id":"file_%d","name":"form-%d.pdf"}}`,
				e.runID, created, e.reason, i, i)
		case eventIgnored:
			eventType = extendapi.EventFormDetectionRunProcessed
			e.runID = ""
			payload = fmt.Sprintf(`{"object":"form_detection_run","id":"fdr_%s_%04d","status":"PROCESSED"}`, prefix, i)
		}
		if e.kind == eventSigned {
			e.payload = []byte(payload)
			payload = fmt.Sprintf(`{"object":"signed_data_url","id":%q,"data":%q}`, e.runID, storage.url(e))
			storage.put(e)
		}
		e.body = fmt.Appendf(nil, `{"eventId":%q,"eventType":%q,"payload":%s}`, e.id, eventType, payload)
		events[i] = e
	}
	return events
}

// signedStorage plays the storage behind Extend's signed_data_url
// payloads. A payload can be held back until the test releases it.
type signedStorage struct {
	srv      *httptest.Server
	mu       sync.Mutex
	payloads map[string][]byte
	holds    map[string]chan struct{}
	fetched  map[string]int
}

func newSignedStorage(t *testing.T) *signedStorage {
	s := &signedStorage{payloads: map[string][]byte{}, holds: map[string]chan struct{}{}, fetched: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/signed/")
		s.mu.Lock()
		payload, ok := s.payloads[id]
		hold := s.holds[id]
		s.fetched[id]++
		s.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if !ok || r.URL.Query().Get("sig") != "ok" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *signedStorage) url(e faultEvent) string { return s.srv.URL + "/signed/" + e.id + "?sig=ok" }

func (s *signedStorage) put(e faultEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payloads[e.id] = e.payload
}

// hold makes fetches of e wait until release is called.
func (s *signedStorage) hold(e faultEvent) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.holds[e.id] = ch
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (s *signedStorage) fetches(e faultEvent) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetched[e.id]
}

// deliveryResult is what one delivery got: a status, or no answer.
type deliveryResult struct {
	status    int // 0: no answer (connection refused, reset, timeout)
	duplicate bool
	err       error
}

func (d deliveryResult) acknowledged() bool { return d.status >= 200 && d.status <= 299 }

// deliverEvent signs and posts an event as Extend does: no cookie, no
// CSRF token, the signature over the raw body.
func deliverEvent(ctx context.Context, client *http.Client, baseURL, endpoint, secret string, e faultEvent) deliveryResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"webhooks/extend/"+endpoint, bytes.NewReader(e.body))
	if err != nil {
		return deliveryResult{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range extendapi.WebhookHeaders(secret, time.Now(), e.body) {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return deliveryResult{err: err}
	}
	defer resp.Body.Close()
	var answer struct {
		Received  bool `json:"received"`
		Duplicate bool `json:"duplicate"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	return deliveryResult{status: resp.StatusCode, duplicate: answer.Duplicate}
}

// faultBurst sends queue with workers concurrent deliveries.
func faultBurst(queue []faultEvent, workers int, send func(faultEvent)) {
	faultBurstGated(queue, workers, len(queue), nil, send)
}

// faultBurstGated is faultBurst that hands out the events from gateAt on
// only once gate is closed.
func faultBurstGated(queue []faultEvent, workers, gateAt int, gate <-chan struct{}, send func(faultEvent)) {
	next := make(chan faultEvent)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for e := range next {
				send(e)
			}
		})
	}
	for i, e := range queue {
		if i == gateAt {
			<-gate
		}
		next <- e
	}
	close(next)
	wg.Wait()
}

// deliveryLedger counts what Extend (the test) sent and what it got.
type deliveryLedger struct {
	mu         sync.Mutex
	acked      map[string]bool
	failedOnce map[string]bool
	byStatus   map[int]int // 0: no answer
	sent       int
	retries    int // deliveries of an event that had failed before
	duplicates int // answered "duplicate": stored by an earlier delivery
	// lostAnswers counts retries answered "duplicate": an earlier delivery
	// was stored, but its answer never came.
	lostAnswers int
}

func newDeliveryLedger() *deliveryLedger {
	return &deliveryLedger{acked: map[string]bool{}, byStatus: map[int]int{}, failedOnce: map[string]bool{}}
}

func (l *deliveryLedger) record(e faultEvent, d deliveryResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	l.byStatus[d.status]++
	if l.failedOnce[e.id] {
		l.retries++
	}
	if d.duplicate {
		l.duplicates++
		if l.failedOnce[e.id] {
			l.lostAnswers++
		}
	}
	if d.acknowledged() {
		l.acked[e.id] = true
	} else {
		l.failedOnce[e.id] = true
	}
}

func (l *deliveryLedger) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *deliveryLedger) deliveries() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent
}

func (l *deliveryLedger) status(code int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byStatus[code]
}

func (l *deliveryLedger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d deliveries (by status, 0 = no answer: %v), %d events acknowledged, %d retries of a failed delivery, "+
		"%d answered duplicate (%d of them retries whose first delivery was stored but not answered)",
		l.sent, l.byStatus, len(l.acked), l.retries, l.duplicates, l.lostAnswers)
}

// unacknowledged returns the events that have not had a 2xx yet.
func (l *deliveryLedger) unacknowledged(events []faultEvent) []faultEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []faultEvent
	for _, e := range events {
		if !l.acked[e.id] {
			out = append(out, e)
		}
	}
	return out
}
