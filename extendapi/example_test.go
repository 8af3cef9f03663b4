package extendapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

func Example() {
	// A stand-in for Extend; in production leave WithBaseURL out and use
	// WithRegion("us" | "us2" | "eu1").
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/edit_runs/edr_xK9mLPqRtN3vS8wF5hB2cQ" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code":"NOT_FOUND","message":"Edit run not found","retryable":false,"requestId":"req_1"}`)
			return
		}
		_, _ = io.WriteString(w, `{"object":"edit_run","id":"edr_xK9mLPqRtN3vS8wF5hB2cQ","status":"PROCESSED",
			"file":{"object":"file","id":"file_1","name":"w9_form.pdf"},
			"metrics":{"processingTimeMs":12873.5,"pageCount":6,"fieldCount":23}}`)
	}))
	defer srv.Close()

	key := extendapi.APIKey("sk_live_example_0123456789")
	client, err := extendapi.New(key,
		extendapi.WithBaseURL(srv.URL),
		extendapi.WithWorkspace("ws_demo"),
		extendapi.WithLimiter(extendapi.NewLimiterRegistry(extendapi.LimiterConfig{}).For(key)),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	run, err := client.GetEditRun(ctx, "edr_xK9mLPqRtN3vS8wF5hB2cQ")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.ID, run.Status, run.File.Name, *run.Metrics.PageCount, "pages")

	_, err = client.GetEditRun(ctx, "edr_missing")
	fmt.Println(errors.Is(err, extendapi.ErrNotFound))
	fmt.Println(err)
	fmt.Println(key) // keys never print

	// Output:
	// edr_xK9mLPqRtN3vS8wF5hB2cQ PROCESSED w9_form.pdf 6 pages
	// true
	// extendapi: GET /edit_runs/edr_missing: HTTP 404 NOT_FOUND: Edit run not found (request req_1)
	// [redacted API key]
}

// testNow stands in for time.Now() so the example output is stable.
var testNow = time.Unix(1_772_000_000, 0)

func ExampleVerifyWebhook() {
	secret := "wss_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	body := []byte(`{"eventId":"evt_1","eventType":"edit_run.processed","payload":{"object":"edit_run","id":"edr_1","status":"PROCESSED"}}`)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/extend/ep_1", nil)
	for k, v := range extendapi.WebhookHeaders(secret, testNow, body) { // what Extend sends
		req.Header[k] = v
	}

	// In the receiving handler: verify over the raw body, then decode.
	if err := extendapi.VerifyWebhook(req.Header, body, []string{secret}, testNow); err != nil {
		fmt.Println("reject:", err)
		return
	}
	event, err := extendapi.DecodeWebhookEvent(body)
	if err != nil {
		fmt.Println("reject:", err)
		return
	}
	run, err := event.EditRun()
	fmt.Println(event.EventType, run.ID, run.Status, err)

	err = extendapi.VerifyWebhook(req.Header, append(body, ' '), []string{secret}, testNow)
	fmt.Println(errors.Is(err, extendapi.ErrWebhookSignature))
	// Output:
	// edit_run.processed edr_1 PROCESSED <nil>
	// true
}
