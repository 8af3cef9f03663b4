package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// receiver is a webhook endpoint for tests: it records every delivery and
// answers with the status the test chooses per attempt.
type receiver struct {
	mu       sync.Mutex
	requests []receivedHook
	statuses []int // answer for attempt i; 200 beyond the list
	arrived  chan struct{}
	srv      *httptest.Server
}

type receivedHook struct {
	header http.Header
	body   []byte
}

func newReceiver(t testing.TB, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses, arrived: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.requests)
		r.requests = append(r.requests, receivedHook{header: req.Header.Clone(), body: body})
		status := http.StatusOK
		if n < len(r.statuses) {
			status = r.statuses[n]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// wait blocks until n deliveries arrived in total.
func (r *receiver) wait(t testing.TB, n int) []receivedHook {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.requests)
		r.mu.Unlock()
		if got >= n {
			r.mu.Lock()
			defer r.mu.Unlock()
			return slices.Clone(r.requests)
		}
		select {
		case <-r.arrived:
		case <-timeout:
			t.Fatalf("%d of %d deliveries arrived", got, n)
		}
	}
}

// TestWebhookEndpointsCRUD: the secret is shown once; updates are partial;
// bad input is 400.
func TestWebhookEndpointsCRUD(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	created, err := c.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: "https://hooks.example.com/extend", Name: "ops",
		EnabledEvents: []string{extendapi.EventEditRunFailed}, APIVersion: extendapi.APIVersion})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(created.SigningSecret, "wss_") || !strings.HasPrefix(created.ID, "wh_") || created.Status != "enabled" || created.CreatedAt == nil {
		t.Fatalf("created = %+v", created)
	}
	got, err := c.GetWebhookEndpoint(ctx, created.ID)
	if err != nil || got.SigningSecret != "" || got.URL != created.URL {
		t.Fatalf("get = %+v, %v; want the endpoint without its secret", got, err)
	}
	disabled := "disabled"
	updated, err := c.UpdateWebhookEndpoint(ctx, created.ID, &extendapi.UpdateWebhookEndpointRequest{Status: &disabled,
		EnabledEvents: []string{extendapi.EventEditRunProcessed, extendapi.EventEditRunFailed}})
	if err != nil || updated.Status != "disabled" || updated.Name != "ops" || len(updated.EnabledEvents) != 2 || updated.SigningSecret != "" {
		t.Fatalf("update = %+v, %v", updated, err)
	}
	for i := range 4 {
		if _, err := c.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: "https://hooks.example.com/" + string(rune('a'+i)),
			EnabledEvents: []string{extendapi.EventEditRunProcessed}, APIVersion: extendapi.APIVersion}); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	for e, err := range c.AllWebhookEndpoints(ctx, extendapi.ListWebhookEndpointsParams{MaxPageSize: 2}) {
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		all = append(all, e.ID)
	}
	if len(all) != 5 || all[4] != created.ID {
		t.Fatalf("listed %v, want 5 endpoints, oldest last", all)
	}
	if page, err := c.ListWebhookEndpoints(ctx, extendapi.ListWebhookEndpointsParams{Status: "disabled"}); err != nil || len(page.Data) != 1 {
		t.Fatalf("status filter: %+v, %v", page, err)
	}
	if err := c.DeleteWebhookEndpoint(ctx, created.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.GetWebhookEndpoint(ctx, created.ID); !errors.Is(err, extendapi.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	for _, body := range []string{
		`{"url":"ftp://x","enabledEvents":["edit_run.processed"]}`,
		`{"url":"https://x","enabledEvents":[]}`,
		`{"url":"https://x","enabledEvents":["extract_run.processed"]}`,
		`{"url":"https://x","enabledEvents":["edit_run.processed"],"apiVersion":"2024-12-23"}`,
		`{"url":"https://x","enabledEvents":["edit_run.processed"],"status":"paused"}`,
		`{"url":"https://x","enabledEvents":["edit_run.processed"],"advancedOptions":{"payload":{"format":"xml"}}}`,
	} {
		if resp, data := ts.raw(http.MethodPost, "/webhook_endpoints", authHeaders(testKeyA), []byte(body)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", body, resp.StatusCode, data)
		}
	}
}

// TestWebhookDelivery: the four event types arrive in the documented
// envelope, signed so that the client's verifier accepts them, only for the
// events the endpoint subscribed to.
func TestWebhookDelivery(t *testing.T) {
	clock := newTestClock(time.Now().UTC())
	ts := startSandbox(t, Options{Clock: clock.Now})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	recv := newReceiver(t)
	quiet := newReceiver(t)
	hook, err := c.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: recv.srv.URL + "/hook", EnabledEvents: webhookEvents,
		APIVersion: extendapi.APIVersion, AdvancedOptions: &extendapi.WebhookAdvancedOptions{Headers: map[string]string{"X-Tenant": "alpha"}}})
	if err != nil {
		t.Fatal(err)
	}
	quietHook, err := c.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: quiet.srv.URL, EnabledEvents: []string{extendapi.EventFormDetectionRunFailed},
		APIVersion: extendapi.APIVersion})
	if err != nil {
		t.Fatal(err)
	}
	form := demoForm(t, "")
	pdf := uploadFile(t, c, form.Name, form.PDF, "")
	text := uploadFile(t, c, "notes.txt", []byte("no pdf"), "")
	ok, err := c.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: pdf.ID}, Config: &extendapi.EditConfig{Instructions: form.Instructions}})
	if err != nil {
		t.Fatal(err)
	}
	failedEdit, _ := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: text.ID}})
	det, err := c.DetectForm(ctx, &extendapi.DetectFormRequest{File: extendapi.FileRef{ID: pdf.ID}})
	if err != nil {
		t.Fatal(err)
	}
	failedDet, _ := c.CreateFormDetectionRun(ctx, &extendapi.DetectFormRequest{File: extendapi.FileRef{ID: text.ID}})

	got := recv.wait(t, 4)
	byType := map[string]*extendapi.WebhookEvent{}
	for _, h := range got {
		if err := extendapi.VerifyWebhook(h.header, h.body, []string{"wss_wrong", hook.SigningSecret}, clock.Now()); err != nil {
			t.Fatalf("VerifyWebhook: %v", err)
		}
		if err := extendapi.VerifyWebhook(h.header, h.body, []string{"wss_wrong"}, clock.Now()); !errors.Is(err, extendapi.ErrWebhookSignature) {
			t.Fatalf("a wrong secret verified: %v", err)
		}
		if h.header.Get("X-Tenant") != "alpha" || h.header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v: want the endpoint's extra header and JSON", h.header)
		}
		e, err := extendapi.DecodeWebhookEvent(h.body)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !strings.HasPrefix(e.EventID, "evt_") || byType[e.EventType] != nil {
			t.Fatalf("event %s %s: want a fresh evt_ id, one per type", e.EventID, e.EventType)
		}
		byType[e.EventType] = e
	}
	checkRun := func(eventType, id string, status extendapi.RunStatus) {
		t.Helper()
		e := byType[eventType]
		if e == nil {
			t.Fatalf("no %s event", eventType)
		}
		var run struct {
			Object string              `json:"object"`
			ID     string              `json:"id"`
			Status extendapi.RunStatus `json:"status"`
		}
		if err := json.Unmarshal(e.Payload, &run); err != nil || run.ID != id || run.Status != status {
			t.Errorf("%s payload %s, want run %s %s", eventType, e.Payload, id, status)
		}
	}
	checkRun(extendapi.EventEditRunProcessed, ok.ID, extendapi.StatusProcessed)
	checkRun(extendapi.EventEditRunFailed, failedEdit.ID, extendapi.StatusFailed)
	checkRun(extendapi.EventFormDetectionRunProcessed, det.ID, extendapi.StatusProcessed)
	checkRun(extendapi.EventFormDetectionRunFailed, failedDet.ID, extendapi.StatusFailed)
	if run, err := byType[extendapi.EventEditRunProcessed].EditRun(); err != nil || run.Output == nil || run.Output.EditedFile.PresignedURL == "" {
		t.Errorf("processed payload is not the full run with a download link: %+v, %v", run, err)
	}

	// The quiet endpoint only gets its one event; a stale delivery fails
	// the replay window.
	q := quiet.wait(t, 1)
	clock.Advance(6 * time.Minute)
	if err := extendapi.VerifyWebhook(q[0].header, q[0].body, []string{"ignored"}, clock.Now()); err == nil {
		t.Fatal("a six-minute-old delivery verified")
	}
	// Every run has finished, and deliveries are logged when a run
	// finishes: the log is complete once the sandbox has recorded the
	// answers the receivers gave (a moment after they gave them).
	if log := settledDeliveries(t, ts, quietHook.ID); len(log) != 1 || log[0].EventType != extendapi.EventFormDetectionRunFailed {
		t.Fatalf("the quiet endpoint's deliveries: %+v, want its one event", log)
	}
	log := settledDeliveries(t, ts, hook.ID)
	if len(log) != 4 {
		t.Fatalf("delivery log has %d entries, want 4", len(log))
	}
	for _, d := range log {
		if d.Status != DeliverySucceeded || len(d.Attempts) != 1 || d.Attempts[0].StatusCode != 200 {
			t.Errorf("delivery %+v, want one successful attempt", d)
		}
	}
}

// deliveries reads the delivery log of an endpoint.
func deliveries(t testing.TB, ts *testSandbox, key, endpointID string) []WebhookDelivery {
	t.Helper()
	resp, body := ts.raw(http.MethodGet, "/_sandbox/webhook_deliveries?endpointId="+endpointID, map[string]string{"Authorization": "Bearer " + key}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delivery log: %d %s", resp.StatusCode, body)
	}
	var list extendapi.List[WebhookDelivery]
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	return list.Data
}

// settledDeliveries polls the log of an endpoint until none of its
// deliveries is pending.
func settledDeliveries(t testing.TB, ts *testSandbox, endpointID string) []WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		log := deliveries(t, ts, testKeyA, endpointID)
		if !slices.ContainsFunc(log, func(d WebhookDelivery) bool { return d.Status == DeliveryPending }) {
			return log
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still pending after 30 s: %+v", log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitDelivery polls the log until the delivery settles.
func waitDelivery(t testing.TB, ts *testSandbox, endpointID string, done func(WebhookDelivery) bool) WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if log := deliveries(t, ts, testKeyA, endpointID); len(log) > 0 && done(log[0]) {
			return log[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery did not settle: %+v", deliveries(t, ts, testKeyA, endpointID))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWebhookRetries: a non-2xx answer is retried on the schedule until a
// 2xx; a receiver that never accepts exhausts it and the delivery fails; a
// manual retry sends once more; injected delivery faults count as failures.
func TestWebhookRetries(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	form := demoForm(t, "")
	file := uploadFile(t, c, form.Name, form.PDF, "")
	run := func() string {
		r, err := c.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	endpoint := func(url string) string {
		e, err := c.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: url, EnabledEvents: []string{extendapi.EventEditRunProcessed}, APIVersion: extendapi.APIVersion})
		if err != nil {
			t.Fatal(err)
		}
		return e.ID
	}

	flaky := newReceiver(t, 500, 503)
	flakyID := endpoint(flaky.srv.URL)
	run()
	got := flaky.wait(t, 3)
	if string(got[0].body) != string(got[2].body) {
		t.Errorf("a retry changed the body")
	}
	d := waitDelivery(t, ts, flakyID, func(d WebhookDelivery) bool { return d.Status != DeliveryPending })
	if d.Status != DeliverySucceeded || len(d.Attempts) != 3 || d.Attempts[0].StatusCode != 500 || d.Attempts[2].StatusCode != 200 {
		t.Fatalf("flaky delivery %+v, want 500, 503, then 200", d)
	}
	if err := c.DeleteWebhookEndpoint(ctx, flakyID); err != nil {
		t.Fatal(err)
	}

	down := newReceiver(t, 500, 500, 500, 500)
	downID := endpoint(down.srv.URL)
	run()
	d = waitDelivery(t, ts, downID, func(d WebhookDelivery) bool { return d.Status != DeliveryPending })
	if d.Status != DeliveryFailed || len(d.Attempts) != 3 || d.NextAttemptAt != nil {
		t.Fatalf("dead receiver: %+v, want failed after 1 + 2 retries", d)
	}
	resp, body := ts.raw(http.MethodPost, "/_sandbox/webhook_deliveries/"+d.ID+"/retry", map[string]string{"Authorization": "Bearer " + testKeyA}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("manual retry: %d %s", resp.StatusCode, body)
	}
	d = waitDelivery(t, ts, downID, func(d WebhookDelivery) bool { return len(d.Attempts) == 4 && d.Status != DeliveryPending })
	if d.Status != DeliveryFailed || d.Attempts[3].StatusCode != 500 {
		t.Fatalf("manual retry against a 500: %+v", d)
	}
	if err := c.DeleteWebhookEndpoint(ctx, downID); err != nil {
		t.Fatal(err)
	}

	healthy := newReceiver(t)
	healthyID := endpoint(healthy.srv.URL)
	ts.srv.SetFaults(Faults{RateWebhookFail: 1})
	run()
	d = waitDelivery(t, ts, healthyID, func(d WebhookDelivery) bool { return d.Status != DeliveryPending })
	if d.Status != DeliveryFailed || !strings.Contains(d.Attempts[0].Error, "injected") {
		t.Fatalf("injected delivery faults: %+v", d)
	}
	ts.srv.SetFaults(Faults{})
	ts.raw(http.MethodPost, "/_sandbox/webhook_deliveries/"+d.ID+"/retry", map[string]string{"Authorization": "Bearer " + testKeyA}, nil)
	d = waitDelivery(t, ts, healthyID, func(d WebhookDelivery) bool { return d.Status == DeliverySucceeded })
	if n := len(healthy.wait(t, 1)); n != 1 {
		t.Fatalf("the healthy receiver got %d deliveries, want the one after the fault ended", n)
	}
	if other := deliveries(t, ts, testKeyB, ""); len(other) != 0 {
		t.Fatalf("workspace B sees A's deliveries: %+v", other)
	}
}

// TestWebhookLargePayload: in url mode a payload over the threshold
// becomes a signed_data_url that the client resolves to the full run.
func TestWebhookLargePayload(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	recv := newReceiver(t)
	threshold := 64
	if _, err := c.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: recv.srv.URL, APIVersion: extendapi.APIVersion,
		EnabledEvents:   []string{extendapi.EventEditRunProcessed},
		AdvancedOptions: &extendapi.WebhookAdvancedOptions{Payload: &extendapi.WebhookPayloadOptions{Format: "url", URLThresholdBytes: &threshold}}}); err != nil {
		t.Fatal(err)
	}
	form := demoForm(t, "")
	run, err := c.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: uploadFile(t, c, form.Name, form.PDF, "").ID}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := extendapi.DecodeWebhookEvent(recv.wait(t, 1)[0].body)
	if err != nil {
		t.Fatal(err)
	}
	ref, isURL := e.SignedDataURL()
	if !isURL || ref.ID != run.ID {
		t.Fatalf("payload %s, want a signed_data_url for %s", e.Payload, run.ID)
	}
	if err := c.ResolveWebhookPayload(ctx, e); err != nil {
		t.Fatalf("ResolveWebhookPayload: %v", err)
	}
	full, err := e.EditRun()
	if err != nil || full.ID != run.ID || full.Status != extendapi.StatusProcessed {
		t.Fatalf("resolved payload: %+v, %v", full, err)
	}
	if status, _ := ts.download(ref.Data + "x"); status != http.StatusForbidden {
		t.Fatalf("tampered payload URL: %d, want 403", status)
	}
}
