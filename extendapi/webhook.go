package extendapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhook verification errors. Both mean "reject with 4xx and do not
// process"; ErrWebhookTimestamp on an otherwise valid signature usually
// means a replay or a badly wrong clock.
var (
	ErrWebhookSignature = errors.New("extendapi: webhook signature invalid")
	ErrWebhookTimestamp = errors.New("extendapi: webhook timestamp invalid or outside the accepted window")
	// ErrWebhookPayload means a verified body is not a usable event.
	ErrWebhookPayload = errors.New("extendapi: malformed webhook event")
	// ErrSignedDataURL means the payload was replaced by a signed URL (large
	// payload mode): fetch it with Client.ResolveWebhookPayload first.
	ErrSignedDataURL = errors.New("extendapi: webhook payload is behind a signed URL")
)

// The replay window of the official SDKs: events older than WebhookMaxAge
// or stamped more than WebhookMaxFutureSkew ahead are refused.
const (
	WebhookMaxAge        = 300 * time.Second
	WebhookMaxFutureSkew = 60 * time.Second
)

// VerifyWebhook checks an Extend delivery: x-extend-request-signature must
// be the lowercase-hex HMAC-SHA256 of "v0:{timestamp}:{raw body}" under one
// of secrets (several are accepted so a secret can be rotated; empty ones
// are ignored), and x-extend-request-timestamp (Unix seconds) must be at
// most WebhookMaxAge old and WebhookMaxFutureSkew ahead of now. body must
// be the exact bytes received. MACs are compared in constant time, and
// every secret is tried, so timing tells nothing about which one matched.
//
// The error wraps ErrWebhookSignature or ErrWebhookTimestamp and never
// contains a secret or the expected MAC.
func VerifyWebhook(h http.Header, body []byte, secrets []string, now time.Time) error {
	tsRaw := headerValue(h, HeaderWebhookTimestamp)
	if tsRaw == "" {
		return fmt.Errorf("%w: missing %s header", ErrWebhookTimestamp, HeaderWebhookTimestamp)
	}
	ts, ok := parseUnixSeconds(tsRaw)
	if !ok {
		return fmt.Errorf("%w: %s is not Unix seconds", ErrWebhookTimestamp, HeaderWebhookTimestamp)
	}
	sigRaw := strings.ToLower(strings.TrimSpace(headerValue(h, HeaderWebhookSignature)))
	if sigRaw == "" {
		return fmt.Errorf("%w: missing %s header", ErrWebhookSignature, HeaderWebhookSignature)
	}
	got, err := hex.DecodeString(sigRaw)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a hex SHA-256 MAC", ErrWebhookSignature, HeaderWebhookSignature)
	}
	tried, matched := 0, false
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		tried++
		if hmac.Equal(webhookMAC(secret, tsRaw, body), got) {
			matched = true
		}
	}
	switch {
	case tried == 0:
		return fmt.Errorf("%w: no signing secret configured", ErrWebhookSignature)
	case !matched:
		return fmt.Errorf("%w: no configured secret produces this signature", ErrWebhookSignature)
	}
	age := now.Unix() - ts
	switch {
	case age > int64(WebhookMaxAge/time.Second):
		return fmt.Errorf("%w: signed %ds ago, more than %v", ErrWebhookTimestamp, age, WebhookMaxAge)
	case age < -int64(WebhookMaxFutureSkew/time.Second):
		return fmt.Errorf("%w: signed %ds in the future, more than %v", ErrWebhookTimestamp, -age, WebhookMaxFutureSkew)
	}
	return nil
}

// SignWebhook returns the x-extend-request-signature value for body sent at
// timestamp (Unix seconds) under secret: lowercase hex HMAC-SHA256 of
// "v0:{timestamp}:{body}". The sandbox signs its deliveries with it.
func SignWebhook(secret string, timestamp int64, body []byte) string {
	return hex.EncodeToString(webhookMAC(secret, strconv.FormatInt(timestamp, 10), body))
}

// WebhookHeaders returns the two signature headers for a delivery of body
// at time t, ready to be added to an outgoing request.
func WebhookHeaders(secret string, t time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(t.Unix(), 10))
	h.Set(HeaderWebhookSignature, SignWebhook(secret, t.Unix(), body))
	return h
}

func webhookMAC(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:"))
	m.Write([]byte(timestamp))
	m.Write([]byte(":"))
	m.Write(body)
	return m.Sum(nil)
}

// parseUnixSeconds accepts only plain decimal digits (no sign, no spaces):
// the MAC covers the header's exact text, and a strict parse leaves no room
// for two texts meaning the same instant.
func parseUnixSeconds(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 12 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// headerValue reads a header whether h came from net/http (canonical keys)
// or was built by hand with lowercase keys.
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// DecodeWebhookEvent parses a (verified) delivery body. Unknown event types
// are kept, not rejected; an envelope without eventId, eventType or
// payload is ErrWebhookPayload.
func DecodeWebhookEvent(body []byte) (*WebhookEvent, error) {
	var e WebhookEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWebhookPayload, err)
	}
	switch {
	case e.EventID == "":
		return nil, fmt.Errorf("%w: no eventId", ErrWebhookPayload)
	case e.EventType == "":
		return nil, fmt.Errorf("%w: no eventType", ErrWebhookPayload)
	case len(e.Payload) == 0 || string(e.Payload) == "null":
		return nil, fmt.Errorf("%w: no payload", ErrWebhookPayload)
	}
	return &e, nil
}

// SignedDataURL reports whether the payload was replaced by a signed URL
// (large-payload mode) and returns it.
func (e *WebhookEvent) SignedDataURL() (*SignedDataURL, bool) {
	var s SignedDataURL
	if json.Unmarshal(e.Payload, &s) != nil || s.Object != "signed_data_url" || s.Data == "" {
		return nil, false
	}
	return &s, true
}

// EditRun decodes the payload of an edit_run.* event. It fails with
// ErrSignedDataURL when the payload must be fetched first, and with
// ErrWebhookPayload when it is not an edit run.
func (e *WebhookEvent) EditRun() (*EditRun, error) {
	var run EditRun
	if err := e.decodePayload("edit_run", &run, &run.Object, &run.ID); err != nil {
		return nil, err
	}
	return &run, nil
}

// FormDetectionRun decodes the payload of a form_detection_run.* event,
// failing like EditRun.
func (e *WebhookEvent) FormDetectionRun() (*FormDetectionRun, error) {
	var run FormDetectionRun
	if err := e.decodePayload("form_detection_run", &run, &run.Object, &run.ID); err != nil {
		return nil, err
	}
	return &run, nil
}

func (e *WebhookEvent) decodePayload(object string, into any, gotObject, gotID *string) error {
	if _, ok := e.SignedDataURL(); ok {
		return fmt.Errorf("%w: event %s", ErrSignedDataURL, e.EventID)
	}
	if err := json.Unmarshal(e.Payload, into); err != nil {
		return fmt.Errorf("%w: event %s: %v", ErrWebhookPayload, e.EventID, err)
	}
	// Extend's examples always carry "object"; tolerate its absence, but
	// refuse a payload that says it is something else.
	if *gotObject != "" && *gotObject != object {
		return fmt.Errorf("%w: event %s carries a %q, not a %s", ErrWebhookPayload, e.EventID, *gotObject, object)
	}
	if *gotID == "" {
		return fmt.Errorf("%w: event %s: the %s has no id", ErrWebhookPayload, e.EventID, object)
	}
	return nil
}

// ResolveWebhookPayload replaces a signed_data_url payload with the full
// payload it points to (a no-op for inline payloads). The URL expires an
// hour after delivery. Nothing of the client's credentials is sent with it:
// the URL is self-authorizing and points at storage, not at the API. It
// must be https, unless the client itself talks plain http (a sandbox).
// One attempt, bounded by the client's timeout; on failure the caller can
// fall back to GET /edit_runs/{id}.
func (c *Client) ResolveWebhookPayload(ctx context.Context, e *WebhookEvent) error {
	s, ok := e.SignedDataURL()
	if !ok {
		return nil
	}
	u, err := url.Parse(s.Data)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && strings.HasPrefix(c.base, "http:"))) {
		return fmt.Errorf("extendapi: event %s: %w: the signed URL is not a usable https URL", e.EventID, ErrWebhookPayload)
	}
	// The query holds the URL's signature: keep it out of errors and logs.
	where := u.Scheme + "://" + u.Host + u.EscapedPath()

	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("extendapi: fetch %s: %w", where, err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("extendapi: fetch %s: %w", where, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &NetworkError{Method: http.MethodGet, Path: where, Timeout: isTimeout(actx, err), Err: err}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10))
		_ = resp.Body.Close()
	}()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return &NetworkError{Method: http.MethodGet, Path: where, Timeout: isTimeout(actx, err), Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := decodeScrubbedError(resp.StatusCode, resp.Header, body, c.clock.Now(), c.key.redactFrom)
		apiErr.Method, apiErr.Path = http.MethodGet, where
		return apiErr
	}
	if len(body) > maxResponseBody || !json.Valid(body) {
		return fmt.Errorf("extendapi: fetch %s: %w: the payload is not JSON (or too large)", where, ErrUnexpectedResponse)
	}
	e.Payload = json.RawMessage(body)
	return nil
}
