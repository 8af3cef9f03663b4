package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
)

func TestWebhookReceiver(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	tenant := "test/" + demoWS
	endpoint := addEndpoint(t, env.st, tenant)
	base := env.srv.URL + env.app.BasePath
	now := time.Now()
	ctx := context.Background()

	tests := []struct {
		name      string
		endpoint  string
		secret    string
		body      []byte
		at        time.Time
		want      int
		duplicate bool
	}{
		{"verified", endpoint, testWebhookSecret, runEventBody("evt_1", "edr_hook1", "PROCESSED"), now, http.StatusOK, false},
		{"duplicate acknowledged", endpoint, testWebhookSecret, runEventBody("evt_1", "edr_hook1", "PROCESSED"), now, http.StatusOK, true},
		{"forged", endpoint, "wss_wrong", runEventBody("evt_2", "edr_forged", "PROCESSED"), now, http.StatusUnauthorized, false},
		{"stale", endpoint, testWebhookSecret, runEventBody("evt_3", "edr_stale", "PROCESSED"), now.Add(-10 * time.Minute), http.StatusUnauthorized, false},
		{"not an event", endpoint, testWebhookSecret, []byte(`{"hello":"world"}`), now, http.StatusBadRequest, false},
		{"unknown endpoint", "ewh_AAAAAAAAAAAAAAAAAAAAAAAA", testWebhookSecret, runEventBody("evt_4", "edr_x", "PROCESSED"), now, http.StatusNotFound, false},
		{"not an endpoint ID", "wh_whatever", testWebhookSecret, runEventBody("evt_5", "edr_x", "PROCESSED"), now, http.StatusNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ans := deliver(t, base, tt.endpoint, tt.secret, tt.body, tt.at)
			if status != tt.want || ans.Duplicate != tt.duplicate {
				t.Fatalf("status %d duplicate %v, want %d %v (%+v)", status, ans.Duplicate, tt.want, tt.duplicate, ans)
			}
		})
	}

	run, err := env.st.GetRun(ctx, tenant, "edr_hook1")
	if err != nil || run.Status != store.StatusProcessed {
		t.Fatalf("verified run in history: %+v %v", run, err)
	}
	for _, id := range []string{"edr_forged", "edr_stale"} {
		if _, err := env.st.GetRun(ctx, tenant, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s reached history: %v", id, err)
		}
	}
	events, _, err := env.st.ListWebhookEvents(ctx, store.WebhookEventFilter{Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	var verified, rejected int
	for _, e := range events {
		if e.Verified {
			verified++
			if e.EventID != "evt_1" || e.Deliveries != 2 || !e.Applied() {
				t.Errorf("event %s: %d deliveries, applied %v", e.EventID, e.Deliveries, e.Applied())
			}
		} else {
			rejected++
		}
	}
	if verified != 1 || rejected != 3 {
		t.Errorf("stored %d verified and %d refused deliveries, want 1 and 3", verified, rejected)
	}
}

// A store failure answers 503 so Extend retries.
func TestWebhookStoreDown(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	endpoint := addEndpoint(t, env.st, "test/"+demoWS)
	if err := env.st.Close(); err != nil {
		t.Fatal(err)
	}
	status, _ := deliver(t, env.srv.URL+env.app.BasePath, endpoint, testWebhookSecret, runEventBody("evt_1", "edr_a", "PROCESSED"), time.Now())
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", status)
	}
}

// The receiver needs no identity, session or CSRF token, even when every
// other request must come through the SSO proxy.
func TestWebhookPastTheProxy(t *testing.T) {
	env := newLiveEnv(t, envOptions{identity: middleware.IdentityConfig{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix(proxyIPNet)}, IdentityHeader: "X-Forwarded-Email"}})
	endpoint := addEndpoint(t, env.st, "test/"+demoWS)
	if r := env.get("connect"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a page without the proxy answered %d, want 401", r.StatusCode)
	}
	status, ans := deliver(t, env.srv.URL+env.app.BasePath, endpoint, testWebhookSecret, runEventBody("evt_1", "edr_a", "PROCESSED"), time.Now())
	if status != http.StatusOK || !ans.Received {
		t.Fatalf("webhook: %d %+v", status, ans)
	}
}

// A delivery body over the limit is refused before it is read whole.
func TestWebhookBodyLimit(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	endpoint := addEndpoint(t, env.st, "test/"+demoWS)
	body := []byte(`{"eventId":"evt_big","eventType":"edit_run.processed","payload":{"pad":"` + strings.Repeat("x", webhookBodyLimit) + `"}}`)
	status, _ := deliver(t, env.srv.URL+env.app.BasePath, endpoint, testWebhookSecret, body, time.Now())
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", status)
	}
}

// TestForgedWebhookFlood: forged deliveries to a known endpoint cost a
// few sample rows and one log line, not a row and a line each; a
// verified delivery in the middle of the flood is answered and stored.
func TestForgedWebhookFlood(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	tenant := "test/" + demoWS
	endpoint := addEndpoint(t, env.st, tenant)
	base := env.srv.URL + env.app.BasePath
	const forged = 60
	for i := range forged {
		if status, _ := deliver(t, base, endpoint, "wss_wrong", runEventBody(fmt.Sprintf("evt_f%d", i), "edr_forged", "PROCESSED"), time.Now()); status != http.StatusUnauthorized {
			t.Fatalf("forged delivery %d: %d", i, status)
		}
		if i == forged/2 {
			if status, _ := deliver(t, base, endpoint, testWebhookSecret, runEventBody("evt_ok", "edr_ok", "PROCESSED"), time.Now()); status != http.StatusOK {
				t.Fatalf("verified delivery in the flood: %d", status)
			}
		}
	}
	events, _, err := env.st.ListWebhookEvents(context.Background(), store.WebhookEventFilter{Tenant: tenant, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var verified, refused int
	for _, e := range events {
		if e.Verified {
			verified++
		} else {
			refused++
		}
	}
	if verified != 1 || refused > 5 {
		t.Errorf("%d forged deliveries stored %d refused rows (want at most 5) and %d verified (want 1)", forged, refused, verified)
	}
	if n := strings.Count(env.logs.String(), "webhook refused"); n != 1 {
		t.Errorf("%d forged deliveries logged %d lines, want 1", forged, n)
	}
}
