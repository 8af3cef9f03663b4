package extendapi

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDecodeError: any status, headers and body give an *APIError whose
// text is one clean line, without panicking.
func FuzzDecodeError(f *testing.F) {
	f.Add(400, "", "", []byte(`{"code":"INVALID_REQUEST","message":"bad","retryable":false,"requestId":"req_1"}`))
	f.Add(429, "2", "req_2", []byte(`{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"slow","retryable":true}}`))
	f.Add(502, "Wed, 21 Oct 2015 07:28:00 GMT", "", []byte("<html><title>502</title><script>x</script></html>"))
	f.Add(500, "-1", "\r\n", []byte(`{"error":"text"}`))
	f.Add(0, "1e400", "", []byte("\xff\xfe<"))
	f.Fuzz(func(t *testing.T, status int, retryAfter, requestID string, body []byte) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		h[http.CanonicalHeaderKey(HeaderRequestID)] = []string{requestID}
		e := DecodeError(status, h, body)
		if e == nil {
			t.Fatal("nil error")
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, "extendapi: ") {
			t.Errorf("Error() = %q", msg)
		}
		for _, field := range []string{e.Code, e.Message, e.RequestID, e.DocURL, e.Excerpt} {
			if strings.ContainsAny(field, "\r\n\x00") || !utf8.ValidString(field) {
				t.Errorf("field %q is not one clean line", field)
			}
		}
		if n := utf8.RuneCountInString(e.Excerpt); n > excerptLen+1 {
			t.Errorf("excerpt has %d characters", n)
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxServerDelay {
			t.Errorf("RetryAfter = %v", e.RetryAfter)
		}
	})
}

// FuzzVerifyWebhook: VerifyWebhook never panics, never accepts a signature
// that is not the MAC of exactly this timestamp and body under the secret,
// never accepts outside the window, and does accept the genuine MAC inside
// it.
func FuzzVerifyWebhook(f *testing.F) {
	now := time.Unix(1_772_000_000, 0)
	body := []byte(`{"eventId":"evt_1","eventType":"edit_run.processed","payload":{"object":"edit_run","id":"edr_1"}}`)
	f.Add(testSecret, "1772000000", SignWebhook(testSecret, 1772000000, body), body)
	f.Add(testSecret, "1771999700", SignWebhook(testSecret, 1771999700, body), body)
	f.Add(testSecret, "1771999699", SignWebhook(testSecret, 1771999699, body), body)
	f.Add("", "1772000000", SignWebhook("", 1772000000, body), body)
	f.Add("wss_x", "01772000000", hexMAC("wss_x", "01772000000", nil), []byte(nil))
	f.Add("wss_x", "-5", "", []byte("x"))
	f.Fuzz(func(t *testing.T, secret, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderWebhookTimestamp, ts)
		h.Set(HeaderWebhookSignature, sig)
		err := VerifyWebhook(h, body, []string{secret}, now)

		inWindow := false
		if n, perr := strconv.ParseInt(ts, 10, 64); perr == nil && len(ts) <= 12 && !strings.ContainsAny(ts, "+-") {
			age := now.Unix() - n
			inWindow = age <= 300 && age >= -60
		}
		genuine := hexMAC(secret, h.Get(HeaderWebhookTimestamp), body)
		if err == nil {
			if secret == "" {
				t.Fatal("accepted with no secret")
			}
			if strings.ToLower(strings.TrimSpace(h.Get(HeaderWebhookSignature))) != genuine {
				t.Fatalf("accepted signature %q, genuine is %q", sig, genuine)
			}
			if !inWindow {
				t.Fatalf("accepted timestamp %q outside the window", ts)
			}
			tampered := append(append([]byte(nil), body...), ' ')
			if VerifyWebhook(h, tampered, []string{secret}, now) == nil {
				t.Fatal("accepted a tampered body")
			}
		}
		if secret != "" && inWindow && h.Get(HeaderWebhookTimestamp) == ts {
			h.Set(HeaderWebhookSignature, genuine)
			if err := VerifyWebhook(h, body, []string{"wss_other", secret}, now); err != nil {
				t.Fatalf("rejected the genuine signature: %v", err)
			}
		}
	})
}
