package handlers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/views"
)

// canaryKey must never leave the server once typed into the connect form.
const canaryKey = "sk_canary_Q7x9LmZ2pV4kT8nB3wRcYd"

func TestCanaryKeyNeverLeaves(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true, sandboxMode: true,
		keys: map[string]string{canaryKey: demoWS, otherKey: otherWS}})
	var seen []response
	record := func(r response) response {
		seen = append(seen, r)
		return r
	}
	// Refused first (wrong workspace), then connected.
	record(env.post("connect", url.Values{views.FieldAPIKey: {canaryKey}, views.FieldWorkspaceID: {otherWS}}))
	r := record(env.post("connect", url.Values{views.FieldAPIKey: {canaryKey}, views.FieldWorkspaceID: {demoWS}}))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("connect: %d %s", r.StatusCode, errorText(r))
	}
	processed := findRunWithKey(t, env, canaryKey, extendapi.StatusProcessed)
	failed := findRunWithKey(t, env, canaryKey, extendapi.StatusFailed)
	field := ""
	for f := range secretsOf(processed) {
		if f != "instructions" {
			field = f
			break
		}
	}
	for _, p := range []string{
		"", "runs?ws=" + demoWS, "runs?ws=" + demoWS + "&status=FAILED&size=10",
		"runs/" + processed.ID + "?ws=" + demoWS, "runs/" + failed.ID + "?ws=" + demoWS,
		"runs/" + processed.ID + "/row?ws=" + demoWS, "runs/" + processed.ID + "/status?ws=" + demoWS,
		"runs/" + processed.ID + "/download?ws=" + demoWS, "runs/new?ws=" + demoWS, "audit", "connect",
		"runs/edr_nothere?ws=" + demoWS, "runs/edr_x?ws=ws_unknown", "nowhere",
	} {
		record(env.get(p))
	}
	record(env.post("runs/"+processed.ID+"/reveal?ws="+demoWS, url.Values{views.ParamField: {revealValuePrefix + field}}))
	record(env.get("runs/" + processed.ID + "?ws=" + demoWS))
	record(env.post("runs/"+processed.ID+"/rerun?ws="+demoWS, nil))
	record(env.post("runs/"+failed.ID+"/delete?ws="+demoWS, nil))
	record(env.post("runs/"+failed.ID+"/delete?ws="+demoWS, url.Values{views.CSRFField: {"forged"}}))
	record(env.post("runs/"+failed.ID+"/delete?ws="+demoWS, url.Values{views.ConfirmField: {"1"}}))
	record(env.get("runs/" + failed.ID + "?ws=" + demoWS))
	form := demoForm(t)
	record(env.postMultipart("runs/new?ws="+demoWS, newRunParts(form, "{broken", ""), env.csrf(), nil))
	record(env.post("disconnect", url.Values{views.ParamWorkspace: {demoWS}}))

	assertNoCanary(t, env, seen)
}

// assertNoCanary checks every response's body and headers, the cookie jar
// and the logs for any sizeable piece of the canary key.
func assertNoCanary(t *testing.T, env *testEnv, seen []response) {
	t.Helper()
	fragments := []string{canaryKey, canaryKey[:16], canaryKey[len(canaryKey)-12:]}
	for i, r := range seen {
		for _, frag := range fragments {
			if strings.Contains(r.body, frag) {
				t.Errorf("response %d (%s %s) body holds the key", i, r.Request.Method, r.Request.URL.Path)
			}
			for name, vals := range r.Header {
				for _, v := range vals {
					if strings.Contains(v, frag) {
						t.Errorf("response %d header %s holds the key", i, name)
					}
				}
			}
		}
	}
	u, _ := url.Parse(env.url(""))
	for _, ck := range env.client.Jar.Cookies(u) {
		for _, frag := range fragments {
			if strings.Contains(ck.Value, frag) {
				t.Errorf("cookie %s holds the key", ck.Name)
			}
		}
	}
	logs := env.logs.String()
	if !strings.Contains(logs, "request") {
		t.Fatal("nothing was logged; the check would prove nothing")
	}
	for _, frag := range fragments {
		if strings.Contains(logs, frag) {
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, frag) {
					t.Errorf("log line holds the key: %.200s", line)
				}
			}
		}
	}
}

// findRunWithKey is findRun for another key of ws_demo.
func findRunWithKey(t *testing.T, env *testEnv, key string, status extendapi.RunStatus) *extendapi.EditRun {
	t.Helper()
	return findRunVia(t, env.extend(key, demoWS), status)
}

// TestCanaryKeyNeverLeavesWhenThingsFail drives the canary key through
// Extend's failures (401 after a revocation, 429, 5xx, a timeout), our own
// rate limit and a handler that panics while holding a client.
func TestCanaryKeyNeverLeavesWhenThingsFail(t *testing.T) {
	// Between the dashboard and the sandbox: when revoked, the key the
	// dashboard sends is swapped for one the sandbox does not know, so the
	// sandbox's own 401 comes back.
	var revoked atomic.Bool
	var target atomic.Pointer[url.URL]
	front := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target.Load())
		if revoked.Load() {
			pr.Out.Header.Set("Authorization", "Bearer sk_revoked_000000000000")
		}
	}})
	t.Cleanup(front.Close)
	env := newTestEnv(t, envOptions{seed: true, noRetry: true, extendURL: front.URL,
		keys: map[string]string{canaryKey: demoWS}, upstreamTimeout: 300 * time.Millisecond})
	sbURL, _ := url.Parse(env.sbURL)
	target.Store(sbURL)
	env = env.withOptions(func(a *Options) {
		a.RateLimits = middleware.RateLimits{Connect: middleware.RateLimit{Rate: rate.Every(time.Hour), Burst: 3}}
	})
	env.echo.GET("/ew/boom", func(c echo.Context) error {
		_, cl, err := env.app.workspaceClient(c)
		if err != nil {
			return err
		}
		panic(fmt.Sprintf("failed while holding %+v / %#v", cl, cl))
	})

	var seen []response
	expect := func(what string, r response, status int) {
		t.Helper()
		seen = append(seen, r)
		if r.StatusCode != status {
			t.Errorf("%s: status %d, want %d: %s", what, r.StatusCode, status, errorText(r))
		}
	}
	connect := url.Values{views.FieldAPIKey: {canaryKey}, views.FieldWorkspaceID: {demoWS}}
	expect("connect", env.post("connect", connect), http.StatusSeeOther)
	run := findRunWithKey(t, env, canaryKey, extendapi.StatusProcessed)
	runPath := "runs/" + run.ID + "?ws=" + demoWS
	expect("runs", env.get("runs?ws="+demoWS), http.StatusOK)

	for _, f := range []struct {
		name   string
		faults sandbox.Faults
		status int
	}{
		{"5xx", sandbox.Faults{Rate5xx: 1}, http.StatusBadGateway},
		{"429", sandbox.Faults{Rate429: 1}, http.StatusTooManyRequests},
		{"timeout", sandbox.Faults{Latency: time.Second}, http.StatusGatewayTimeout},
	} {
		env.sb.SetFaults(f.faults)
		// The runs list may fall back to history (200, "Extend degraded")
		// instead of an error page: either way the key must not show.
		if r := env.get("runs?ws=" + demoWS); r.StatusCode == http.StatusOK {
			seen = append(seen, r)
		} else {
			expect(f.name+" runs", r, f.status)
		}
		expect(f.name+" run", env.get(runPath), f.status)
		expect(f.name+" download", env.get("runs/"+run.ID+"/download?ws="+demoWS), f.status)
		expect(f.name+" re-run", env.post("runs/"+run.ID+"/rerun?ws="+demoWS, nil), f.status)
		env.sb.SetFaults(sandbox.Faults{})
	}

	revoked.Store(true)
	expect("revoked runs", env.get("runs?ws="+demoWS), http.StatusUnauthorized)
	expect("revoked run", env.get(runPath), http.StatusUnauthorized)
	expect("connect with a revoked key", env.post("connect", connect), http.StatusUnprocessableEntity)
	revoked.Store(false)
	expect("our rate limit", env.post("connect", connect), http.StatusSeeOther)
	expect("our rate limit, over", env.post("connect", connect), http.StatusTooManyRequests)
	expect("panicking handler", env.get("boom?ws="+demoWS), http.StatusInternalServerError)
	if !strings.Contains(env.logs.String(), "panic in handler") {
		t.Error("the panic was not logged; the check would prove nothing")
	}
	assertNoCanary(t, env, seen)
}
