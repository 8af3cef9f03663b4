package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
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
