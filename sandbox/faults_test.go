package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/google/go-cmp/cmp"
)

// TestFaultsEndpoint: GET and POST /_sandbox/faults from loopback change
// the faults live; each fault shows on the API; bad values are 400; other
// peers are refused.
func TestFaultsEndpoint(t *testing.T) {
	ts := startSandbox(t, Options{Faults: Faults{Latency: 5 * time.Millisecond}})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	setFaults := func(body string) (int, Faults) {
		t.Helper()
		resp, data := ts.raw(http.MethodPost, "/_sandbox/faults", nil, []byte(body))
		var f Faults
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatalf("faults answer %s: %v", data, err)
			}
		}
		return resp.StatusCode, f
	}

	resp, data := ts.raw(http.MethodGet, "/_sandbox/faults", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"latency":"5ms"`) {
		t.Fatalf("GET faults: %d %s", resp.StatusCode, data)
	}

	if status, f := setFaults(`{"rate5xx": 1}`); status != 200 || !cmp.Equal(f, Faults{Latency: 5 * time.Millisecond, Rate5xx: 1}) {
		t.Fatalf("POST rate5xx: %d %+v; want the other faults kept", status, f)
	}
	_, err := c.ListEditRuns(ctx, extendapi.ListEditRunsParams{})
	if ae := asAPIError(t, err); ae.StatusCode != 500 || !ae.Retryable || ae.Code != "INTERNAL_ERROR" {
		t.Fatalf("with rate5xx=1: %+v", ae)
	}
	if resp, _ := ts.raw(http.MethodGet, "/_sandbox/health", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("faults reached the sandbox's own routes: %d", resp.StatusCode)
	}

	setFaults(`{"rate5xx": 0, "rate429": 1}`)
	resp, _ = ts.raw(http.MethodGet, "/edit_runs", authHeaders(testKeyA), nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("with rate429=1: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	setFaults(`{"rate429": 0, "latency": "40ms"}`)
	start := time.Now()
	if _, err := c.ListEditRuns(ctx, extendapi.ListEditRunsParams{}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 40*time.Millisecond {
		t.Fatalf("latency fault: the call took %s, want at least 40ms", took)
	}

	form := demoForm(t, "")
	file := uploadFile(t, c, form.Name, form.PDF, "")
	setFaults(`{"latency": 0, "rateFail": 1, "failReason": "CORRUPT_FILE"}`)
	created, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if run := waitRun(t, c, created.ID); run.FailureReason != extendapi.ReasonCorruptFile || !strings.Contains(run.FailureMessage, "injected") {
		t.Fatalf("rateFail: %s %s %q", run.Status, run.FailureReason, run.FailureMessage)
	}

	setFaults(`{"rateFail": 0, "rateStuck": 1}`)
	stuck, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}})
	if err != nil {
		t.Fatal(err)
	}
	setFaults(`{"rateStuck": 0}`)
	after, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, after.ID)
	if run, _ := c.GetEditRun(ctx, stuck.ID); run.Status != extendapi.StatusProcessing {
		t.Fatalf("stuck run is %s after a later run finished", run.Status)
	}

	for _, bad := range []string{`{"rate5xx": 2}`, `{"rate429": -0.1}`, `{"failReason": "NOPE"}`, `{"latency": "forever"}`, `{"latency": "2h"}`, `[]`} {
		if status, _ := setFaults(bad); status != http.StatusBadRequest {
			t.Errorf("POST %s: %d, want 400", bad, status)
		}
	}
	if resp, data := ts.raw(http.MethodDelete, "/_sandbox/faults", nil, nil); resp.StatusCode != 200 || !cmp.Equal(ts.srv.Faults(), Faults{}) {
		t.Fatalf("DELETE faults: %d %s, now %+v", resp.StatusCode, data, ts.srv.Faults())
	}

	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		req := httptest.NewRequest(method, "/_sandbox/faults", strings.NewReader(`{"rate5xx":1}`))
		req.RemoteAddr = "203.0.113.9:4711"
		rec := httptest.NewRecorder()
		ts.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s from a remote peer: %d, want 403", method, rec.Code)
		}
	}
	if ts.srv.Faults().Rate5xx != 0 {
		t.Fatal("a remote peer changed the faults")
	}

	// A page of another site in the operator's browser: refused, though
	// the browser is on loopback. Without the headers (curl) it works.
	for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "http://evil.example"}} {
		if resp, data := ts.raw(http.MethodPost, "/_sandbox/faults", h, []byte(`{"rate5xx":1}`)); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST faults with %v: %d %s, want 403", h, resp.StatusCode, data)
		}
	}
	if ts.srv.Faults().Rate5xx != 0 {
		t.Fatal("a cross-site request changed the faults")
	}
	if resp, data := ts.raw(http.MethodPost, "/_sandbox/faults", map[string]string{"Sec-Fetch-Site": "same-origin"}, []byte(`{"rate5xx":0}`)); resp.StatusCode != http.StatusOK {
		t.Errorf("same-origin POST faults: %d %s", resp.StatusCode, data)
	}
}

// TestFaultsJSON: latency is a duration string (or milliseconds) in JSON.
func TestFaultsJSON(t *testing.T) {
	f := Faults{Latency: 1500 * time.Millisecond, Rate5xx: 0.1, FailReason: extendapi.ReasonCorruptFile}
	data, err := json.Marshal(f)
	if err != nil || !strings.Contains(string(data), `"latency":"1.5s"`) {
		t.Fatalf("marshal: %s, %v", data, err)
	}
	var back Faults
	if err := json.Unmarshal(data, &back); err != nil || !cmp.Equal(back, f) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	var ms Faults
	if err := json.Unmarshal([]byte(`{"latency": 250}`), &ms); err != nil || ms.Latency != 250*time.Millisecond {
		t.Fatalf("milliseconds: %+v, %v", ms, err)
	}
}

// TestRateLimit: per category and workspace, 429 RATE_LIMIT_EXCEEDED
// retryable with Retry-After, refilled by the sandbox's clock.
func TestRateLimit(t *testing.T) {
	clock := newTestClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	ts := startSandbox(t, Options{RateLimit: 2, Clock: clock.Now})
	get := func(key string) *http.Response {
		resp, _ := ts.raw(http.MethodGet, "/edit_runs", authHeaders(key), nil)
		return resp
	}
	for i := range 2 {
		if resp := get(testKeyA); resp.StatusCode != 200 {
			t.Fatalf("GET %d within the burst: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := ts.raw(http.MethodGet, "/edit_runs", authHeaders(testKeyA), nil)
	var e extendapi.ErrorBody
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode != 429 || e.Code != "RATE_LIMIT_EXCEEDED" || !e.Retryable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("over the limit: %d %+v Retry-After %q", resp.StatusCode, e, resp.Header.Get("Retry-After"))
	}
	if resp := get(testKeyB); resp.StatusCode != 200 {
		t.Fatalf("workspace B is limited by A's traffic: %d", resp.StatusCode)
	}
	headers := authHeaders(testKeyA)
	if resp, _ := ts.raw(http.MethodPost, "/webhook_endpoints", headers, []byte(`{}`)); resp.StatusCode != 400 {
		t.Fatalf("WRITE is limited by GET traffic: %d", resp.StatusCode)
	}
	clock.Advance(time.Second)
	if resp := get(testKeyA); resp.StatusCode != 200 {
		t.Fatalf("after a second: %d", resp.StatusCode)
	}
}

// TestProcessingTimeFault: with processingTime set, a new run stays
// PROCESSING at least that long after its creation, then finishes with its
// metrics counting the wait; the fault is read as JSON and bounded.
func TestProcessingTimeFault(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	resp, data := ts.raw(http.MethodPost, "/_sandbox/faults", nil, []byte(`{"processingTime": "800ms"}`))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"processingTime":"800ms"`) {
		t.Fatalf("POST processingTime: %d %s", resp.StatusCode, data)
	}
	for _, bad := range []string{`{"processingTime": "-1s"}`, `{"processingTime": "2h"}`, `{"processingTime": "soon"}`} {
		if resp, data := ts.raw(http.MethodPost, "/_sandbox/faults", nil, []byte(bad)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s: %d %s, want 400", bad, resp.StatusCode, data)
		}
	}

	form := demoForm(t, "")
	file := uploadFile(t, c, form.Name, form.PDF, "")
	start := time.Now()
	created, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != extendapi.StatusProcessing {
		t.Fatalf("new run: %s, want PROCESSING", created.Status)
	}
	run := waitRun(t, c, created.ID)
	if took := time.Since(start); took < 800*time.Millisecond {
		t.Fatalf("the run finished %s after its creation, before its processing time of 800ms", took)
	}
	if run.Status != extendapi.StatusProcessed || run.Metrics == nil || run.Metrics.ProcessingTimeMs == nil || *run.Metrics.ProcessingTimeMs < 800 {
		t.Fatalf("finished run: %s, metrics %+v; want PROCESSED with processingTimeMs ≥ 800", run.Status, run.Metrics)
	}

	var ms Faults
	if err := json.Unmarshal([]byte(`{"processingTime": 4000}`), &ms); err != nil || ms.ProcessingTime != 4*time.Second {
		t.Fatalf("milliseconds: %+v, %v", ms, err)
	}
}
