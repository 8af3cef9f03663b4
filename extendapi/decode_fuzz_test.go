package extendapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keyPlaceholder in a fuzzed body is replaced by the client's API key, so
// the fuzzer can make a server echo the key back anywhere in an answer.
const keyPlaceholder = "{KEY}"

// cannedTransport answers every request with the same status and body, in
// memory, and counts the requests.
type cannedTransport struct {
	status int
	body   []byte
	calls  int
}

func (c *cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.calls++
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(c.body)), Request: r}, nil
}

// keyFragments are the pieces of the key that must never reach an error
// (nor anything logged from one) unless the body held that very piece
// outside the key.
func keyFragments(key string, raw []byte) []string {
	const minFragment = 10
	var out []string
	for i := 0; i+minFragment <= len(key); i++ {
		if f := key[i : i+minFragment]; !bytes.Contains(raw, []byte(f)) {
			out = append(out, f)
		}
	}
	return out
}

// FuzzDecodeRunAnswer feeds any answer to GetEditRun, ListEditRuns and
// AllEditRuns: no panic; a run returned has an ID; a failed 2xx is
// ErrUnexpectedResponse and any other status an *APIError; no error text
// spans lines or holds any piece of the API key the body echoed; and
// pagination over a server that repeats its answer stops after two pages.
func FuzzDecodeRunAnswer(f *testing.F) {
	for _, name := range []string{"edit_run_processed.json", "edit_run_failed.json", "edit_run_processing.json", "edit_runs_list.json"} {
		f.Add(200, fuzzTestdata(f, name))
	}
	f.Add(200, []byte(`{"object":"list","data":[{"object":"edit_run","id":"edr_1","status":"PROCESSED"}],"nextPageToken":"tok_1"}`))
	f.Add(200, []byte(`{"id":"","object":"edit_run"}`))
	f.Add(200, []byte(`{"data":{"id":"edr_wrapped"}}`))
	f.Add(200, []byte(`{"id":"edr_1","status":7}`))
	f.Add(200, []byte(`<html><body>proxy says {KEY} is not welcome</body></html>`))
	f.Add(401, []byte(`{"code":"UNAUTHORIZED","message":"API key {KEY} is invalid"}`))
	f.Add(400, []byte(`{"code":"INVALID_REQUEST","message":"`+strings.Repeat("x", 490)+`{KEY}"}`))
	f.Add(502, []byte(strings.Repeat("y", 190)+"{KEY}"))
	f.Fuzz(func(t *testing.T, status int, raw []byte) {
		if status < 100 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		key := string(testKey)
		body := bytes.ReplaceAll(raw, []byte(keyPlaceholder), []byte(key))
		tr := &cannedTransport{status: status, body: body}
		c, err := New(testKey, WithBaseURL("https://api.extend.test"), WithHTTPClient(&http.Client{Transport: tr}),
			WithLimiter(NewUnlimitedLimiter()), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		fragments := keyFragments(key, raw)
		checkErr := func(what string, err error) {
			t.Helper()
			if err == nil {
				return
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("%s: error spans lines: %q", what, msg)
			}
			for _, frag := range fragments {
				if strings.Contains(msg, frag) {
					t.Fatalf("%s: error holds %q of the API key: %q", what, frag, msg)
				}
			}
			var apiErr *APIError
			switch {
			case status >= 200 && status <= 299:
				if !errors.Is(err, ErrUnexpectedResponse) {
					t.Fatalf("%s: a failed %d answer is %v, not ErrUnexpectedResponse", what, status, err)
				}
			case !errors.As(err, &apiErr) || apiErr.StatusCode != status:
				t.Fatalf("%s: a %d answer is %#v", what, status, err)
			}
		}
		ctx := context.Background()

		run, err := c.GetEditRun(ctx, "edr_1")
		checkErr("GetEditRun", err)
		if err == nil && run.ID == "" {
			t.Fatal("GetEditRun returned a run without an ID")
		}
		if err == nil && (status < 200 || status > 299) {
			t.Fatalf("GetEditRun succeeded on a %d answer", status)
		}

		page, err := c.ListEditRuns(ctx, ListEditRunsParams{})
		checkErr("ListEditRuns", err)
		if err == nil && page == nil {
			t.Fatal("ListEditRuns returned neither a page nor an error")
		}

		tr.calls = 0
		items, errs := 0, 0
		for _, err := range c.AllEditRuns(ctx, ListEditRunsParams{}) {
			if err != nil {
				errs++
				checkErr("AllEditRuns", err)
				continue
			}
			items++
		}
		if tr.calls > 2 || errs > 1 {
			t.Fatalf("AllEditRuns made %d calls and yielded %d errors on a server repeating itself", tr.calls, errs)
		}
		if page != nil && page.NextPageToken == "" && (errs != 0 || items != len(page.Data)) {
			t.Fatalf("AllEditRuns yielded %d runs and %d errors for one last page of %d", items, errs, len(page.Data))
		}
	})
}

// FuzzDecodeWebhookEvent: any verified body decodes to an event with an ID,
// a type and a payload, or fails with ErrWebhookPayload; an edit-run
// payload is either behind a signed URL (ErrSignedDataURL), an edit run
// with an ID, or ErrWebhookPayload, and the same holds for form-detection
// runs.
func FuzzDecodeWebhookEvent(f *testing.F) {
	for _, name := range []string{"webhook_edit_run_processed.json", "webhook_edit_run_failed.json", "webhook_signed_data_url.json", "webhook_endpoint_created.json"} {
		f.Add(fuzzTestdata(f, name))
	}
	f.Add([]byte(`{"eventId":"evt_1","eventType":"edit_run.processed","payload":null}`))
	f.Add([]byte(`{"eventId":"evt_1","eventType":"edit_run.processed","payload":{"object":"form_detection_run","id":"fdr_1"}}`))
	f.Add([]byte(`{"eventId":"evt_1","eventType":"form_detection_run.processed","payload":{"object":"form_detection_run","id":"fdr_1","status":"PROCESSED"}}`))
	f.Add([]byte(`{"eventId":"evt_1","eventType":"edit_run.processed","payload":{"object":"signed_data_url","data":"","id":"edr_1"}}`))
	f.Add([]byte(`{"eventId":"evt_1","eventType":"edit_run.processed","payload":"edr_1"}`))
	f.Add([]byte(`{"eventId":"","eventType":"edit_run.processed","payload":{}}`))
	f.Add([]byte(`[{"eventId":"evt_1"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodeWebhookEvent(body)
		if err != nil {
			if !errors.Is(err, ErrWebhookPayload) || ev != nil {
				t.Fatalf("refused body gave %v and %v", ev, err)
			}
			return
		}
		if ev.EventID == "" || ev.EventType == "" || len(ev.Payload) == 0 || string(ev.Payload) == "null" || !json.Valid(ev.Payload) {
			t.Fatalf("accepted event %+v", ev)
		}
		_, signed := ev.SignedDataURL()
		run, err := ev.EditRun()
		checkPayload(t, signed, err, run != nil)
		if err == nil && (run.ID == "" || (run.Object != "" && run.Object != "edit_run")) {
			t.Fatalf("accepted edit run %+v", run)
		}
		det, err := ev.FormDetectionRun()
		checkPayload(t, signed, err, det != nil)
		if err == nil && (det.ID == "" || (det.Object != "" && det.Object != "form_detection_run")) {
			t.Fatalf("accepted form detection run %+v", det)
		}
	})
}

// fuzzTestdata reads a documented payload for a seed.
func fuzzTestdata(f *testing.F, name string) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func checkPayload(t *testing.T, signed bool, err error, got bool) {
	t.Helper()
	switch {
	case signed && !errors.Is(err, ErrSignedDataURL):
		t.Fatalf("a signed_data_url payload decoded with %v", err)
	case !signed && err != nil && !errors.Is(err, ErrWebhookPayload):
		t.Fatalf("payload error %v is not ErrWebhookPayload", err)
	case (err == nil) != got:
		t.Fatalf("error %v with a result %v", err, got)
	}
}
