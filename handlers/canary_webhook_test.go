package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// Canary signing secrets: one pasted on the settings page, one Extend
// returns when the dashboard registers an endpoint, one in a registration
// answer Editwatch cannot read. None may ever leave the server.
const (
	canaryPastedSecret     = "wss_canaryPasted_Hq4Zt8LmW2xV9kRb"
	canaryRegisteredSecret = "wss_canaryRegistered_Nf7Yp3DcJ6sQ1gTu"
	canaryMalformedSecret  = "wss_canaryMalformed_Ke5Wr9BvX2mL8hZa"
)

// registrationAnswer says how the Extend in front of the sandbox answers
// POST /webhook_endpoints.
type registrationAnswer int32

const (
	answerCanarySecret registrationAnswer = iota // the sandbox's endpoint, with the canary secret
	answerMalformed                              // a 200 Editwatch cannot decode, holding a secret
)

// TestCanaryWebhookSecretNeverLeaves drives canary signing secrets through
// every flow that touches one: pasting a secret (accepted and refused),
// registering an endpoint (Extend returns the secret; and once an answer
// Editwatch cannot decode), verified, duplicate, forged, stale and
// malformed deliveries, the settings and deliveries pages, a handler that
// panics while holding an endpoint with its secret, and the store going
// away. No response body or header, cookie or log line may hold a secret
// or a sizeable piece of one, raw, base64 or hex.
func TestCanaryWebhookSecretNeverLeaves(t *testing.T) {
	var target atomic.Pointer[url.URL]
	var answer atomic.Int32
	front := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target.Load()) },
		ModifyResponse: func(resp *http.Response) error {
			r := resp.Request
			if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/webhook_endpoints") || resp.StatusCode != http.StatusOK {
				return nil
			}
			var ep map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&ep); err != nil {
				return err
			}
			resp.Body.Close()
			ep["signingSecret"] = canaryRegisteredSecret
			b, _ := json.Marshal(ep)
			if registrationAnswer(answer.Load()) == answerMalformed {
				// The secret first, where an excerpt of the body would
				// catch it; a status that is not a string, so the answer
				// does not decode.
				delete(ep, "signingSecret")
				ep["status"] = 7
				rest, _ := json.Marshal(ep)
				b = append([]byte(`{"signingSecret":"`+canaryMalformedSecret+`",`), rest[1:]...)
			}
			resp.Body = io.NopCloser(bytes.NewReader(b))
			resp.ContentLength = int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		},
	})
	t.Cleanup(front.Close)
	env := newTestEnv(t, envOptions{seed: true, noRetry: true, extendURL: front.URL})
	sbURL, _ := url.Parse(env.sbURL)
	target.Store(sbURL)
	attachLive(t, env, nil)
	env.app.Live.PublicURL = env.srv.URL
	env.echo.GET("/ew/boom-webhook", func(c echo.Context) error {
		conn, cl, err := env.app.workspaceClient(c)
		if err != nil {
			return err
		}
		eps, err := env.st.ListWebhookEndpoints(c.Request().Context(), conn.Tenant)
		if err != nil || len(eps) == 0 {
			return fmt.Errorf("no endpoint: %w", err)
		}
		secrets, err := env.st.WebhookSecrets(c.Request().Context(), eps[0].ID)
		if err != nil {
			return err
		}
		held := &extendapi.WebhookEndpoint{ID: eps[0].ExtendID, URL: eps[0].URL, SigningSecret: secrets[0]}
		panic(fmt.Sprintf("failed while holding %+v / %#v / %v / %+v", held, held, *held, cl))
	})
	env.connect(demoKey, demoWS)
	tenant := "test/" + demoWS
	base := env.srv.URL + env.app.BasePath

	var seen []response
	expect := func(what string, r response, status int) response {
		t.Helper()
		seen = append(seen, r)
		if r.StatusCode != status {
			t.Errorf("%s: status %d, want %d: %s", what, r.StatusCode, status, errorText(r))
		}
		return r
	}
	settings := "settings?ws=" + demoWS
	expect("settings", env.get(settings), http.StatusOK)

	// Pasted, then refused pastes: a space inside, a bad Extend ID.
	pasted := expect("paste", env.post("settings/endpoints?ws="+demoWS, url.Values{views.FieldWebhookSecret: {" " + canaryPastedSecret + "\n"}}), http.StatusOK)
	pastedURL := strings.TrimSpace(testid(pasted.doc(t), "pasted-url").Find("code").Text())
	pastedID := pastedURL[strings.LastIndex(pastedURL, "/")+1:]
	expect("paste with a space", env.post("settings/endpoints?ws="+demoWS,
		url.Values{views.FieldWebhookSecret: {canaryPastedSecret + " " + canaryPastedSecret}}), http.StatusSeeOther)
	expect("paste with a bad Extend ID", env.post("settings/endpoints?ws="+demoWS,
		url.Values{views.FieldWebhookSecret: {canaryPastedSecret}, views.FieldWebhookExtendID: {canaryPastedSecret}}), http.StatusSeeOther)
	expect("settings after the refusals", env.get(settings), http.StatusOK)

	// Registered: Extend returns the secret once.
	expect("enable live updates", env.post("settings/live?ws="+demoWS, nil), http.StatusSeeOther)
	expect("settings with endpoints", env.get(settings), http.StatusOK)
	eps, err := env.st.ListWebhookEndpoints(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	registeredID := ""
	for _, ep := range eps {
		if ep.ID != pastedID && ep.ExtendID != "" {
			registeredID = ep.ID
		}
	}
	if secrets, err := env.st.WebhookSecrets(context.Background(), registeredID); err != nil || len(secrets) != 1 || secrets[0] != canaryRegisteredSecret {
		t.Fatalf("the registered endpoint %q keeps %d secrets, %v: the canary did not go through", registeredID, len(secrets), err)
	}
	answer.Store(int32(answerMalformed))
	r := env.post("settings/live?ws="+demoWS, nil)
	seen = append(seen, r)
	if r.StatusCode < 500 {
		t.Errorf("an unreadable registration answer gave %d", r.StatusCode)
	}
	answer.Store(int32(answerCanarySecret))

	// Deliveries: verified (to both endpoints), duplicate, forged, stale,
	// not an event.
	now := time.Now()
	deliveries := []struct {
		name     string
		endpoint string
		secret   string
		body     []byte
		at       time.Time
		status   int
	}{
		{"verified to the pasted endpoint", pastedID, canaryPastedSecret, runEventBody("evt_c1", "edr_c1", "PROCESSED"), now, http.StatusOK},
		{"verified to the registered endpoint", registeredID, canaryRegisteredSecret, runEventBody("evt_c2", "edr_c2", "FAILED"), now, http.StatusOK},
		{"duplicate", registeredID, canaryRegisteredSecret, runEventBody("evt_c2", "edr_c2", "FAILED"), now, http.StatusOK},
		{"forged", pastedID, "wss_forger_0000000000000000", runEventBody("evt_f", "edr_f", "PROCESSED"), now, http.StatusUnauthorized},
		{"signed by the other endpoint's secret", pastedID, canaryRegisteredSecret, runEventBody("evt_x", "edr_x", "PROCESSED"), now, http.StatusUnauthorized},
		{"stale", pastedID, canaryPastedSecret, runEventBody("evt_s", "edr_s", "PROCESSED"), now.Add(-time.Hour), http.StatusUnauthorized},
		{"not an event", registeredID, canaryRegisteredSecret, []byte(`{"hello":"world"}`), now, http.StatusBadRequest},
	}
	for _, d := range deliveries {
		expect(d.name, deliverRecorded(t, base, d.endpoint, d.secret, d.body, d.at, nil), d.status)
	}
	// A signature that is not hex, and the secret itself sent as the
	// signature (a confused client): refused without echoing it.
	body := runEventBody("evt_h", "edr_h", "PROCESSED")
	for _, sig := range []string{"not-hex", canaryPastedSecret, hex.EncodeToString([]byte(canaryPastedSecret))} {
		h := extendapi.WebhookHeaders(canaryPastedSecret, now, body)
		h.Set(extendapi.HeaderWebhookSignature, sig)
		expect("bad signature "+sig[:4], deliverRecorded(t, base, pastedID, "", body, now, h), http.StatusUnauthorized)
	}
	expect("deliveries", env.get("settings/deliveries?ws="+demoWS), http.StatusOK)

	// A handler that panics while holding an endpoint and its secret.
	expect("panicking handler", env.get("boom-webhook?ws="+demoWS), http.StatusInternalServerError)
	if !strings.Contains(env.logs.String(), "panic in handler") {
		t.Error("the panic was not logged; the check would prove nothing")
	}

	// The store goes away.
	if err := env.st.Close(); err != nil {
		t.Fatal(err)
	}
	expect("delivery with the store down", deliverRecorded(t, base, pastedID, canaryPastedSecret, runEventBody("evt_d", "edr_d", "PROCESSED"), time.Now(), nil),
		http.StatusServiceUnavailable)
	for _, p := range []string{settings, "settings/deliveries?ws=" + demoWS} {
		r := env.get(p)
		seen = append(seen, r)
		if r.StatusCode < 500 {
			t.Errorf("%s with the store down: %d", p, r.StatusCode)
		}
	}
	seen = append(seen, env.post("settings/endpoints?ws="+demoWS, url.Values{views.FieldWebhookSecret: {canaryPastedSecret}}))

	assertNoSecrets(t, env, seen, canaryPastedSecret, canaryRegisteredSecret, canaryMalformedSecret)
}

// deliverRecorded posts a delivery like deliver, with header h when given
// (instead of a signature by secret), and keeps the whole response.
func deliverRecorded(t *testing.T, baseURL, endpointID, secret string, body []byte, at time.Time, h http.Header) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, baseURL+routeWebhookPrefix+endpointID, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if h == nil {
		h = extendapi.WebhookHeaders(secret, at, body)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, string(b)}
}

// secretForms are the ways a secret could show: raw, base64 (padded, raw,
// URL-safe) and hex, each whole and as every 10-character window of the
// raw form (the settings page shows the last four characters as a hint,
// by design).
func secretForms(secret string) []string {
	b := []byte(secret)
	forms := []string{base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)), url.QueryEscape(secret)}
	const window = 10
	for i := 0; i+window <= len(secret); i++ {
		forms = append(forms, secret[i:i+window])
	}
	return forms
}

// assertNoSecrets checks every response's body and headers, the cookie jar
// and the logs for any form of the secrets.
func assertNoSecrets(t *testing.T, env *testEnv, seen []response, secrets ...string) {
	t.Helper()
	var forms []string
	for _, s := range secrets {
		forms = append(forms, secretForms(s)...)
	}
	where := func(what, text string) {
		t.Helper()
		for _, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("%s holds %q of a signing secret", what, f)
				return
			}
		}
	}
	for i, r := range seen {
		what := fmt.Sprintf("response %d (%s %s, %d)", i, r.Request.Method, r.Request.URL.Path, r.StatusCode)
		where(what+" body", r.body)
		for name, vals := range r.Header {
			for _, v := range vals {
				where(what+" header "+name, v)
			}
		}
	}
	u, _ := url.Parse(env.url(""))
	for _, ck := range env.client.Jar.Cookies(u) {
		where("cookie "+ck.Name, ck.Value)
	}
	logs := env.logs.String()
	for _, must := range []string{"webhook refused", "request failed", "panic in handler"} {
		if !strings.Contains(logs, must) {
			t.Errorf("nothing logged %q; the check would prove less than it claims", must)
		}
	}
	for _, line := range strings.Split(logs, "\n") {
		where(fmt.Sprintf("log line %.160q", line), line)
	}
}
