package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// extend is a client straight to the test sandbox, for checking what the
// dashboard did.
func (env *testEnv) extend(key, ws string) *extendapi.Client {
	env.t.Helper()
	cl, err := extendapi.New(extendapi.APIKey(key), extendapi.WithBaseURL(env.sbURL), extendapi.WithWorkspace(ws),
		extendapi.WithLimiter(nil))
	if err != nil {
		env.t.Fatal(err)
	}
	return cl
}

// findRun returns a run of the demo workspace in the given status, with
// filled values when it is PROCESSED.
func findRun(t *testing.T, env *testEnv, status extendapi.RunStatus) *extendapi.EditRun {
	t.Helper()
	return findRunVia(t, env.extend(demoKey, demoWS), status)
}

func findRunVia(t *testing.T, cl *extendapi.Client, status extendapi.RunStatus) *extendapi.EditRun {
	t.Helper()
	list, err := cl.ListEditRuns(context.Background(), extendapi.ListEditRunsParams{Status: status, MaxPageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, summary := range list.Data {
		run, err := cl.GetEditRun(context.Background(), summary.ID)
		if err != nil {
			t.Fatal(err)
		}
		if status != extendapi.StatusProcessed || (run.Output != nil && len(run.Output.FilledValues) > 0) {
			return run
		}
	}
	t.Fatalf("no %s run in the seeded history", status)
	return nil
}

// secretsOf are a run's personal values that are long enough to be
// recognised in a page (short ones like "X" or "true" occur anyway).
func secretsOf(run *extendapi.EditRun) map[string]string {
	out := map[string]string{}
	for field, raw := range run.Output.FilledValues {
		var s string
		if json.Unmarshal(raw, &s) == nil && len(s) >= 6 {
			out[field] = s
		}
	}
	if run.Config != nil && len(run.Config.Instructions) >= 6 {
		out["instructions"] = run.Config.Instructions
	}
	return out
}

func TestRunPageProcessedMasksUntilRevealed(t *testing.T) {
	env := seededEnv(t, envOptions{})
	run := findRun(t, env, extendapi.StatusProcessed)
	secrets := secretsOf(run)
	if len(secrets) < 2 {
		t.Fatalf("run %s has too few recognisable values: %v", run.ID, secrets)
	}
	page := env.get("runs/" + run.ID + "?ws=" + demoWS)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("run page: %d %s", page.StatusCode, errorText(page))
	}
	for field, v := range secrets {
		if strings.Contains(page.body, v) || strings.Contains(page.body, jsonEscaped(v)) {
			t.Errorf("masked value of %s appears in the page", field)
		}
	}
	d := page.doc(t)
	if got := testid(d, "run-status-panel").AttrOr("data-status", ""); got != "PROCESSED" {
		t.Errorf("status panel %q", got)
	}
	if testid(d, "filled-value").Length() != len(run.Output.FilledValues) {
		t.Errorf("%d filled value rows, want %d", testid(d, "filled-value").Length(), len(run.Output.FilledValues))
	}
	if !strings.Contains(testid(d, "run-config").Text(), "detected by Extend") {
		t.Error("a run without a given schema does not say Extend detected the fields")
	}
	if strings.Contains(page.body, "presignedUrl") || strings.Contains(page.body, "/_sandbox/blobs") {
		t.Error("the page holds a presigned URL")
	}
	if testid(d, "credits-total").Length() != 1 || d.Find("svg").Length() == 0 {
		t.Error("credits or stage chart missing")
	}
	if href := testid(d, "action-download").AttrOr("href", ""); href != testBase+"runs/"+run.ID+"/download?ws="+demoWS {
		t.Errorf("download link %q", href)
	}

	// Reveal one value: audited, then shown (table and raw JSON), the
	// others still hidden.
	var field, value string
	for f, v := range secrets {
		if f != "instructions" {
			field, value = f, v
			break
		}
	}
	r := env.post("runs/"+run.ID+"/reveal?ws="+demoWS, url.Values{views.ParamField: {revealValuePrefix + field}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reveal: %d %s", r.StatusCode, errorText(r))
	}
	entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditReveal, Target: run.ID})
	if err != nil || len(entries) != 1 || !strings.Contains(entries[0].Detail, field) {
		t.Fatalf("reveal audit: %+v %v", entries, err)
	}
	page = env.get(location(t, r))
	d = page.doc(t)
	shown := d.Find(`[data-testid="filled-value"][data-field="` + field + `"] [data-testid="revealed-value"]`).Text()
	if shown != value {
		t.Errorf("revealed %s shows %q, want %q", field, shown, value)
	}
	if !strings.Contains(testid(d, "raw-json").Text(), jsonEscaped(value)) {
		t.Error("the raw JSON still masks the revealed value")
	}
	for f, v := range secrets {
		if f != field && v != value && strings.Contains(page.body, v) {
			t.Errorf("value of %s appears although only %s was revealed", f, field)
		}
	}
	// A key the run does not have is refused.
	if r := env.post("runs/"+run.ID+"/reveal?ws="+demoWS, url.Values{views.ParamField: {"value:nope"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("reveal of an unknown field: %d", r.StatusCode)
	}
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

func TestRunPageFailedExplains(t *testing.T) {
	env := seededEnv(t, envOptions{})
	run := findRun(t, env, extendapi.StatusFailed)
	d := env.get("runs/" + run.ID + "?ws=" + demoWS).doc(t)
	if code := strings.TrimSpace(testid(d, "failure-code").Text()); code != string(run.FailureReason) {
		t.Errorf("failure code %q, want %q", code, run.FailureReason)
	}
	meaning, _ := views.FailureExplanation(string(run.FailureReason))
	if got := testid(d, "failure-meaning").Text(); got != meaning {
		t.Errorf("meaning %q", got)
	}
	if got := testid(d, "failure-message").Text(); got != run.FailureMessage {
		t.Errorf("Extend's message %q, want %q", got, run.FailureMessage)
	}
	if testid(d, "action-download").Length() != 0 {
		t.Error("a failed run offers a download")
	}
}

// The timer fallback of a finished run's panel says so and asks for a
// reload; it never reloads the page by itself.
func TestRunStatusPartialWhenDone(t *testing.T) {
	env := seededEnv(t, envOptions{})
	run := findRun(t, env, extendapi.StatusFailed)
	req, _ := http.NewRequest(http.MethodGet, env.url("runs/"+run.ID+"/status?ws="+demoWS), nil)
	req.Header.Set("HX-Request", "true")
	r := env.do(req)
	if r.StatusCode != http.StatusOK || r.Header.Get("HX-Refresh") != "" {
		t.Errorf("status partial of a finished run: %d, HX-Refresh %q", r.StatusCode, r.Header.Get("HX-Refresh"))
	}
	if !strings.Contains(r.body, `data-testid="run-finished-notice"`) || !strings.Contains(r.body, "Finished: reload to see the filled values") {
		t.Error("the finished panel does not ask for a reload")
	}
	if !strings.Contains(r.body, `data-testid="run-status-panel"`) || strings.Contains(r.body, "<html") {
		t.Error("status partial is not the panel alone")
	}
}

func TestRunLinkIntoUnconnectedWorkspace(t *testing.T) {
	env := seededEnv(t, envOptions{})
	r := env.get("runs/edr_abc123?ws=ws_elsewhere")
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d", r.StatusCode)
	}
	d := r.doc(t)
	if h := d.Find("#error-title").Text(); !strings.Contains(h, "ws_elsewhere") {
		t.Errorf("heading %q does not name the workspace", h)
	}
	if href := testid(d, "error-connect-workspace").AttrOr("href", ""); href != views.ConnectURLNext(testBase, "ws_elsewhere", testBase+"runs/edr_abc123?ws=ws_elsewhere") {
		t.Errorf("connect link %q", href)
	}
	// The connect page takes the workspace from the link.
	if v := testid(env.get(href(d)).doc(t), "connect-workspace").AttrOr("value", ""); v != "ws_elsewhere" {
		t.Errorf("connect form prefilled with %q", v)
	}
}

func href(d *goquery.Document) string {
	return testid(d, "error-connect-workspace").AttrOr("href", "")
}

func TestDeletedRunErrorPage(t *testing.T) {
	env := seededEnv(t, envOptions{})
	r := env.get("runs/edr_doesnotexist000?ws=" + demoWS)
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", r.StatusCode)
	}
	d := r.doc(t)
	explanation := testid(d, "error-explanation").Text()
	for _, want := range []string{"edr_doesnotexist000", "deleted", "another workspace"} {
		if !strings.Contains(explanation, want) {
			t.Errorf("explanation %q lacks %q", explanation, want)
		}
	}
	if testid(d, "extend-request-id").Text() == "" || testid(d, "our-request-id").Text() != r.Header.Get(middleware.HeaderRequestID) {
		t.Error("the page lacks Extend's or our request ID")
	}
	// API clients get JSON.
	req, _ := http.NewRequest(http.MethodGet, env.url("runs/edr_doesnotexist000?ws="+demoWS), nil)
	req.Header.Set("Accept", "application/json")
	jr := env.do(req)
	var body errorJSON
	if err := json.Unmarshal([]byte(jr.body), &body); err != nil || jr.StatusCode != http.StatusNotFound {
		t.Fatalf("JSON error: %d %v %s", jr.StatusCode, err, jr.body)
	}
	if body.Error.RequestID != jr.Header.Get(middleware.HeaderRequestID) || body.Error.ExtendRequestID == "" {
		t.Errorf("JSON error ids: %+v", body.Error)
	}
}
