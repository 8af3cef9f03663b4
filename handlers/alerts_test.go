package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/alerts"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

const alertsPageRules = `channels:
  - name: ops-hook
    type: webhook
    url: RECEIVER
rules:
  - name: failure-spike
    deployment: test
    workspace: ws_demo
    kind: failure_rate
    above: 0.2
    min_runs: 5
    window: 5m
    notify: [ops-hook]
  - name: elsewhere
    deployment: test
    workspace: ws_other
    kind: reason
    reason: OUT_OF_CREDITS
    notify: [ops-hook]
`

func newAlertsEnv(t *testing.T, opts envOptions) (*testEnv, *alerts.Engine, func() []alerts.Payload) {
	t.Helper()
	var mu sync.Mutex
	var got []alerts.Payload
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p alerts.Payload
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &p)
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	env := newTestEnv(t, opts)
	rules, err := alerts.Parse([]byte(strings.Replace(alertsPageRules, "RECEIVER", hook.URL, 1)), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	engine := alerts.NewEngine(alerts.Options{Store: env.st, Interval: time.Second,
		Sender: alerts.NewSender(alerts.SenderOptions{AllowPrivate: true})}, rules)
	o := env.app.Options
	o.Alerts = engine
	env.build(o)
	return env, engine, func() []alerts.Payload { mu.Lock(); defer mu.Unlock(); return append([]alerts.Payload(nil), got...) }
}

func TestAlertsPageSilenceAndTest(t *testing.T) {
	env, _, received := newAlertsEnv(t, envOptions{})
	env.connect(demoKey, demoWS)

	r := env.get("alerts?ws=" + demoWS)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("alerts page: %d %s", r.StatusCode, errorText(r))
	}
	d := r.doc(t)
	rows := testid(d, "alert-rule")
	if rows.Length() != 1 || rows.AttrOr("data-rule", "") != "failure-spike" {
		t.Fatalf("rules shown: %d (another workspace's rule must not show)", rows.Length())
	}
	if origin := strings.TrimSpace(testid(d, "alert-origin").Text()); origin != "from file" {
		t.Errorf("origin %q", origin)
	}
	if href := testid(d, "alert-runs").AttrOr("href", ""); !strings.Contains(href, "/runs?") || !strings.Contains(href, "status=FAILED") {
		t.Errorf("runs link %q", href)
	}

	// Silence it: stored with who and why, audited, shown.
	r = env.post("alerts/silence?ws="+demoWS, url.Values{"rule": {"failure-spike"}, "for": {"4h"}, "reason": {"deploy in progress"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("silence: %d %s", r.StatusCode, errorText(r))
	}
	states, err := env.st.AlertStates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s := states["failure-spike"]; s.SilenceReason != "deploy in progress" || s.SilencedBy != store.AuditActorSingleUser || !s.Silenced(time.Now()) {
		t.Fatalf("state after silence: %+v", s)
	}
	entries, _, err := env.st.ListAudit(t.Context(), store.AuditFilter{Action: auditSilence})
	if err != nil || len(entries) != 1 || entries[0].Target != "failure-spike" {
		t.Fatalf("audit: %+v %v", entries, err)
	}
	d = env.get("alerts?ws=" + demoWS).doc(t)
	if !strings.Contains(testid(d, "alert-silenced").Text(), "deploy in progress") || testid(d, "alert-event").Length() != 1 {
		t.Errorf("page after silence: %q, %d events", testid(d, "alert-silenced").Text(), testid(d, "alert-event").Length())
	}

	// A silence needs a reason; a rule of another workspace is not found.
	if r := env.post("alerts/silence?ws="+demoWS, url.Values{"rule": {"failure-spike"}, "for": {"4h"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("silence without a reason: %d", r.StatusCode)
	}
	if r := env.post("alerts/silence?ws="+demoWS, url.Values{"rule": {"elsewhere"}, "for": {"1h"}, "reason": {"x"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("another workspace's rule: %d", r.StatusCode)
	}

	// Send a test notification.
	if r := env.post("alerts/test?ws="+demoWS, url.Values{"rule": {"failure-spike"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("test: %d %s", r.StatusCode, errorText(r))
	}
	if got := received(); len(got) != 1 || got[0].Kind != alerts.NotifyTest || got[0].Rule != "failure-spike" {
		t.Fatalf("test notification: %+v", got)
	}
	if d := env.get("alerts?ws=" + demoWS).doc(t); testid(d, "alert-delivery").Length() != 1 {
		t.Errorf("delivery log rows: %d", testid(d, "alert-delivery").Length())
	}
}

func TestAlertsPageReadOnlyForViewers(t *testing.T) {
	env, _, received := newAlertsEnv(t, envOptions{identity: middleware.IdentityConfig{ReadOnly: true}})
	env.connect(demoKey, demoWS)
	d := env.get("alerts?ws=" + demoWS).doc(t)
	if testid(d, "alert-rule").Length() != 1 || testid(d, "silence-form").Length() != 0 || testid(d, "test-form").Length() != 0 {
		t.Fatalf("viewer page: %d rules, %d silence forms, %d test forms", testid(d, "alert-rule").Length(),
			testid(d, "silence-form").Length(), testid(d, "test-form").Length())
	}
	if r := env.post("alerts/silence?ws="+demoWS, url.Values{"rule": {"failure-spike"}, "for": {"4h"}, "reason": {"x"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer silence: %d", r.StatusCode)
	}
	if r := env.post("alerts/test?ws="+demoWS, url.Values{"rule": {"failure-spike"}}); r.StatusCode != http.StatusForbidden || len(received()) != 0 {
		t.Errorf("viewer test: %d, %d sent", r.StatusCode, len(received()))
	}
}

func TestAlertRulesAndChannelsMadeOnThePage(t *testing.T) {
	env, engine, received := newAlertsEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()

	// A signed webhook channel: the secret is shown once, in the flash.
	r := env.post("alerts/channels?ws="+demoWS, url.Values{"name": {"team-hook"}, "type": {"webhook"}, "url": {hook.URL + "/x?token=s3cret"}, "sign": {"1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save channel: %d %s", r.StatusCode, errorText(r))
	}
	page := env.get("alerts?ws=" + demoWS)
	if !strings.Contains(page.body, "shown this once: whsec_") {
		t.Error("the new signing secret is not shown once")
	}
	if strings.Contains(page.body, "s3cret") {
		t.Error("the page shows the channel's URL")
	}
	if strings.Contains(env.get("alerts?ws="+demoWS).body, "whsec_") {
		t.Error("the signing secret is shown again")
	}
	// Sealed at rest: the raw column holds no URL.
	chans, err := env.st.AlertPageChannels(t.Context())
	if err != nil || len(chans) != 1 || chans[0].URL != hook.URL+"/x?token=s3cret" || !strings.HasPrefix(chans[0].Secret, "whsec_") {
		t.Fatalf("stored channel: %v %v", len(chans), err)
	}

	// A bad rule says the line and the problem.
	r = env.post("alerts/rules?ws="+demoWS, url.Values{"spec": {"name: mine\nkind: reason\nreason: OUT_OF_CREDITS\nwindow: soon\nnotify: [team-hook]\n"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("bad rule: %d", r.StatusCode)
	}
	if body := env.get("alerts?ws=" + demoWS).body; !strings.Contains(body, "line 4") && !strings.Contains(body, `&#34;soon&#34;: want a duration`) {
		t.Errorf("bad rule flash missing: %s", errorText(response{body: body}))
	}
	// A good one, notifying the page channel.
	r = env.post("alerts/rules?ws="+demoWS, url.Values{"spec": {"name: mine\nkind: reason\nreason: OUT_OF_CREDITS\nwindow: 10m\nnotify: [team-hook, ops-hook]\n"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("rule: %d", r.StatusCode)
	}
	d := env.get("alerts?ws=" + demoWS).doc(t)
	if testid(d, "alert-rule").Length() != 2 || testid(d, "rule-change-form").Length() != 1 {
		t.Fatalf("rules after save: %d, change forms %d", testid(d, "alert-rule").Length(), testid(d, "rule-change-form").Length())
	}
	all, err := engine.AllRules(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rule, ok := all.Rule("mine"); !ok || rule.Origin != alerts.FromPage || rule.Tenant() != "test/ws_demo" || rule.Window != 10*time.Minute {
		t.Fatalf("engine's rule: %+v %v", rule, ok)
	}
	// Edit opens the form with the rule's own YAML; saving it under the
	// same name replaces it.
	if testid(d, "rule-edit").Length() != 1 {
		t.Error("a page-made rule has no Edit link")
	}
	d = env.get("alerts?ws=" + demoWS + "&edit=mine").doc(t)
	if spec := testid(d, "rule-spec").Text(); !strings.Contains(spec, "mine") || !strings.Contains(spec, "OUT_OF_CREDITS") || !strings.Contains(d.Find("#rule-form-title").Text(), "Edit the rule mine") {
		t.Errorf("edit form: %q / %q", d.Find("#rule-form-title").Text(), spec)
	}
	if r := env.post("alerts/rules?ws="+demoWS, url.Values{"spec": {strings.Replace(testid(d, "rule-spec").Text(), "10m", "15m", 1)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("edited rule: %d", r.StatusCode)
	}
	edited, err := engine.AllRules(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rule, ok := edited.Rule("mine"); !ok || rule.Window != 15*time.Minute {
		t.Errorf("the edited rule: %+v %v", rule, ok)
	}
	if d := env.get("alerts?ws=" + demoWS + "&edit=failure-spike").doc(t); strings.Contains(d.Find("#rule-form-title").Text(), "Edit") {
		t.Error("a file rule opens in the edit form")
	}
	// The test notification reaches both channels.
	if r := env.post("alerts/test?ws="+demoWS, url.Values{"rule": {"mine"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("test: %d", r.StatusCode)
	}
	if len(received()) != 1 {
		t.Errorf("file channel got %d test notifications", len(received()))
	}
	// Disable, then delete; each audited.
	for _, change := range []string{"disable", "delete"} {
		if r := env.post("alerts/rules/change?ws="+demoWS, url.Values{"rule": {"mine"}, "change": {change}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", change, r.StatusCode)
		}
	}
	if rules, _ := env.st.AlertPageRules(t.Context()); len(rules) != 0 {
		t.Errorf("rules after delete: %+v", rules)
	}
	entries, _, err := env.st.ListAudit(t.Context(), store.AuditFilter{Action: auditAlertRule})
	if err != nil || len(entries) != 4 {
		t.Errorf("rule audit entries: %d %v", len(entries), err)
	}
	// A file rule cannot be changed here.
	if r := env.post("alerts/rules/change?ws="+demoWS, url.Values{"rule": {"failure-spike"}, "change": {"delete"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("file rule delete: %d", r.StatusCode)
	}
	if _, ok := engine.Rules().Rule("failure-spike"); !ok {
		t.Error("the file rule is gone")
	}
}

// TestAlertRunsLinkSortsByTheRulesMeasure pins the sort names alerts
// writes into the runs links of slow and credits rules (alerts may not
// import views) to the runs list's own.
func TestAlertRunsLinkSortsByTheRulesMeasure(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for kind, want := range map[string]string{alerts.KindSlow: views.SortProcessing, alerts.KindCredits: views.SortCredits} {
		r := alerts.Rule{Name: "r", Kind: kind, Workspace: "ws_demo", Window: time.Hour}
		link, err := url.Parse(alerts.RunsLink("/ew/", r, alerts.Measurement{}, now))
		if err != nil {
			t.Fatal(err)
		}
		q := link.Query()
		if q.Get(views.ParamSort) != want || !views.HistorySort(want) || q.Get(views.ParamDir) != "desc" {
			t.Errorf("%s rule links to %s, want sorted by %s, descending", kind, link, want)
		}
	}
	r := alerts.Rule{Name: "r", Kind: alerts.KindFailureRate, Workspace: "ws_demo", Window: time.Hour}
	if link := alerts.RunsLink("/ew/", r, alerts.Measurement{}, now); strings.Contains(link, views.ParamSort+"=") {
		t.Errorf("failure_rate rule links to %s: sorted for no reason", link)
	}
}
