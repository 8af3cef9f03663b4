package extendapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testSecret = "wss_9f8e7d6c5b4a39281706f5e4d3c2b1a0"

func TestSignWebhookKnownAnswer(t *testing.T) {
	// Computed independently with Python:
	// hmac.new(b'wss_test', b'v0:1700000000:{"a":1}', hashlib.sha256).hexdigest()
	const want = "7fdd380a158e728269a758d61dc872912331405048991e36e2900530f78372b3"
	if got := SignWebhook("wss_test", 1700000000, []byte(`{"a":1}`)); got != want {
		t.Errorf("SignWebhook = %s, want %s", got, want)
	}
	h := WebhookHeaders("wss_test", time.Unix(1700000000, 0), []byte(`{"a":1}`))
	if h.Get(HeaderWebhookSignature) != want || h.Get(HeaderWebhookTimestamp) != "1700000000" {
		t.Errorf("WebhookHeaders = %v", h)
	}
}

func TestVerifyWebhook(t *testing.T) {
	now := time.Unix(1_772_000_000, 0)
	body := readTestdata(t, "webhook_edit_run_processed.json")
	signed := func(secret string, at time.Time, b []byte) http.Header { return WebhookHeaders(secret, at, b) }
	tests := []struct {
		name    string
		header  http.Header
		body    []byte
		secrets []string
		wantErr error
	}{
		{"valid", signed(testSecret, now, body), body, []string{testSecret}, nil},
		{"valid with the old secret during rotation", signed("wss_old", now, body), body, []string{testSecret, "wss_old"}, nil},
		{"empty secrets are skipped", signed(testSecret, now, body), body, []string{"", testSecret}, nil},
		{"299 s old", signed(testSecret, now.Add(-299*time.Second), body), body, []string{testSecret}, nil},
		{"60 s ahead", signed(testSecret, now.Add(60*time.Second), body), body, []string{testSecret}, nil},
		{"uppercase hex", upper(signed(testSecret, now, body)), body, []string{testSecret}, nil},
		{"lowercase header names", lowerKeys(signed(testSecret, now, body)), body, []string{testSecret}, nil},
		{"wrong secret", signed("wss_other", now, body), body, []string{testSecret}, ErrWebhookSignature},
		{"no secret configured", signed(testSecret, now, body), body, nil, ErrWebhookSignature},
		{"only empty secrets", signed("", now, body), body, []string{""}, ErrWebhookSignature},
		{"body changed", signed(testSecret, now, body), append([]byte(" "), body...), []string{testSecret}, ErrWebhookSignature},
		{"timestamp changed", retimed(signed(testSecret, now, body), now.Add(time.Second)), body, []string{testSecret}, ErrWebhookSignature},
		{"301 s old", signed(testSecret, now.Add(-301*time.Second), body), body, []string{testSecret}, ErrWebhookTimestamp},
		{"61 s ahead", signed(testSecret, now.Add(61*time.Second), body), body, []string{testSecret}, ErrWebhookTimestamp},
		{"missing signature", http.Header{"X-Extend-Request-Timestamp": {strconv.FormatInt(now.Unix(), 10)}}, body, []string{testSecret}, ErrWebhookSignature},
		{"missing timestamp", http.Header{"X-Extend-Request-Signature": {SignWebhook(testSecret, now.Unix(), body)}}, body, []string{testSecret}, ErrWebhookTimestamp},
		{"signed timestamp with a sign", headers("+"+strconv.FormatInt(now.Unix(), 10), testSecret, body), body, []string{testSecret}, ErrWebhookTimestamp},
		{"truncated signature", truncated(signed(testSecret, now, body)), body, []string{testSecret}, ErrWebhookSignature},
		{"not hex", http.Header{"X-Extend-Request-Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "X-Extend-Request-Signature": {strings.Repeat("zz", 32)}}, body, []string{testSecret}, ErrWebhookSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyWebhook(tt.header, tt.body, tt.secrets, now)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("rejected a valid delivery: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "wss_") {
				t.Errorf("error mentions a secret: %v", err)
			}
		})
	}
}

func upper(h http.Header) http.Header {
	h.Set(HeaderWebhookSignature, strings.ToUpper(h.Get(HeaderWebhookSignature)))
	return h
}

func lowerKeys(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		out[strings.ToLower(k)] = v
	}
	return out
}

func retimed(h http.Header, t time.Time) http.Header {
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(t.Unix(), 10))
	return h
}

func truncated(h http.Header) http.Header {
	h.Set(HeaderWebhookSignature, h.Get(HeaderWebhookSignature)[:62])
	return h
}

// headers signs body under a raw timestamp text, exactly as given.
func headers(ts, secret string, body []byte) http.Header {
	h := http.Header{}
	h.Set(HeaderWebhookTimestamp, ts)
	h.Set(HeaderWebhookSignature, hexMAC(secret, ts, body))
	return h
}

func hexMAC(secret, ts string, body []byte) string {
	const digits = "0123456789abcdef"
	mac := webhookMAC(secret, ts, body)
	out := make([]byte, 0, 64)
	for _, b := range mac {
		out = append(out, digits[b>>4], digits[b&15])
	}
	return string(out)
}

func TestDecodeWebhookEvent(t *testing.T) {
	t.Run("processed", func(t *testing.T) {
		ev, err := DecodeWebhookEvent(readTestdata(t, "webhook_edit_run_processed.json"))
		if err != nil {
			t.Fatal(err)
		}
		if ev.EventID != "evt_8hQ2mV5nX1cB7zL4" || ev.EventType != EventEditRunProcessed {
			t.Errorf("event = %+v", ev)
		}
		if _, ok := ev.SignedDataURL(); ok {
			t.Errorf("an inline payload is not a signed URL")
		}
		run, err := ev.EditRun()
		if err != nil || run.ID != "edr_xK9mLPqRtN3vS8wF5hB2cQ" || run.Status != StatusProcessed || run.Metrics == nil {
			t.Errorf("EditRun() = %+v, %v", run, err)
		}
		if _, err := ev.FormDetectionRun(); !errors.Is(err, ErrWebhookPayload) {
			t.Errorf("an edit run is not a form detection run: %v", err)
		}
	})
	t.Run("failed", func(t *testing.T) {
		ev, err := DecodeWebhookEvent(readTestdata(t, "webhook_edit_run_failed.json"))
		if err != nil {
			t.Fatal(err)
		}
		run, err := ev.EditRun()
		if err != nil || run.FailureReason != ReasonFieldDetectionError || run.Output != nil {
			t.Errorf("EditRun() = %+v, %v", run, err)
		}
	})
	t.Run("signed data url", func(t *testing.T) {
		ev, err := DecodeWebhookEvent(readTestdata(t, "webhook_signed_data_url.json"))
		if err != nil {
			t.Fatal(err)
		}
		s, ok := ev.SignedDataURL()
		if !ok || s.ID != "edr_L4rg3PayL0adRun8sX" || !strings.HasPrefix(s.Data, "https://") || len(s.Metadata) == 0 {
			t.Errorf("SignedDataURL() = %+v, %v", s, ok)
		}
		if _, err := ev.EditRun(); !errors.Is(err, ErrSignedDataURL) {
			t.Errorf("EditRun() on a signed URL: %v", err)
		}
	})
	t.Run("form detection", func(t *testing.T) {
		body := `{"eventId":"evt_f","eventType":"form_detection_run.processed","payload":` + string(readTestdata(t, "form_detection_run_processed.json")) + `}`
		ev, err := DecodeWebhookEvent([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if run, err := ev.FormDetectionRun(); err != nil || run.ID != "sgr_Dt3cT10nRuN5kM2p" {
			t.Errorf("FormDetectionRun() = %+v, %v", run, err)
		}
	})
	t.Run("unknown event types are kept", func(t *testing.T) {
		ev, err := DecodeWebhookEvent([]byte(`{"eventId":"evt_x","eventType":"edit_run.cancelled","payload":{"object":"edit_run","id":"edr_1"}}`))
		if err != nil || ev.EventType != "edit_run.cancelled" {
			t.Errorf("event = %+v, %v", ev, err)
		}
	})
	for name, body := range map[string]string{
		"not json":      `<html>`,
		"no event id":   `{"eventType":"edit_run.processed","payload":{}}`,
		"no event type": `{"eventId":"evt_1","payload":{}}`,
		"null payload":  `{"eventId":"evt_1","eventType":"edit_run.processed","payload":null}`,
	} {
		if _, err := DecodeWebhookEvent([]byte(body)); !errors.Is(err, ErrWebhookPayload) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	ev := &WebhookEvent{EventID: "evt_1", EventType: EventEditRunProcessed, Payload: []byte(`{"object":"edit_run"}`)}
	if _, err := ev.EditRun(); !errors.Is(err, ErrWebhookPayload) {
		t.Errorf("a run without id: %v", err)
	}
}

func TestResolveWebhookPayload(t *testing.T) {
	runJSON := string(readTestdata(t, "edit_run_processed.json"))
	storage := newFakeAPI(t, nil, reply{Body: runJSON})
	api := newFakeAPI(t, nil)
	c := newTestClient(t, api)
	ev := &WebhookEvent{EventID: "evt_1", EventType: EventEditRunProcessed,
		Payload: []byte(`{"object":"signed_data_url","data":"` + storage.srv.URL + `/payload.json?sig=SECRETSIG","id":"edr_xK9mLPqRtN3vS8wF5hB2cQ"}`)}
	if err := c.ResolveWebhookPayload(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	run, err := ev.EditRun()
	if err != nil || run.ID != "edr_xK9mLPqRtN3vS8wF5hB2cQ" {
		t.Fatalf("EditRun() after resolving = %+v, %v", run, err)
	}
	req := storage.Requests()[0]
	if req.Header.Get("Authorization") != "" || req.Header.Get(HeaderAPIVersion) != "" || req.RawQuery != "sig=SECRETSIG" {
		t.Errorf("the signed URL must be fetched as is and without credentials: %+v", req)
	}
	// Inline payloads are left alone.
	if err := c.ResolveWebhookPayload(context.Background(), ev); err != nil || len(storage.Requests()) != 1 {
		t.Errorf("resolving an inline payload fetched again: %v", err)
	}

	t.Run("errors keep the URL's signature out", func(t *testing.T) {
		gone := newFakeAPI(t, nil, reply{Status: 403, Header: map[string]string{"Content-Type": "application/xml"}, Body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"})
		ev := &WebhookEvent{EventID: "evt_2", EventType: EventEditRunProcessed,
			Payload: []byte(`{"object":"signed_data_url","data":"` + gone.srv.URL + `/p.json?X-Amz-Signature=SECRETSIG","id":"edr_1"}`)}
		err := c.ResolveWebhookPayload(context.Background(), ev)
		if !errors.Is(err, ErrForbidden) || strings.Contains(err.Error(), "SECRETSIG") || !strings.Contains(err.Error(), "expired") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("plain http is refused for an https client", func(t *testing.T) {
		secure, err := New(testKey)
		if err != nil {
			t.Fatal(err)
		}
		ev := &WebhookEvent{EventID: "evt_3", Payload: []byte(`{"object":"signed_data_url","data":"http://169.254.169.254/latest","id":"edr_1"}`)}
		if err := secure.ResolveWebhookPayload(context.Background(), ev); !errors.Is(err, ErrWebhookPayload) {
			t.Errorf("err = %v", err)
		}
	})
}
