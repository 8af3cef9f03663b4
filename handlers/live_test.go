package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

func decodeStreamEvent(t *testing.T, ev sseEvent) streamEvent {
	t.Helper()
	var se streamEvent
	if err := json.Unmarshal([]byte(ev.Data), &se); err != nil {
		t.Fatalf("event %s: %v in %q", ev.Name, err, ev.Data)
	}
	return se
}

// A webhook received is announced on the workspace's open event streams:
// the run's own JSON event (never its file name), the generic one, and, on
// a runs list's stream, the rendered row of a run new to history. Closing
// the broker (shutdown) ends the stream cleanly.
func TestWebhookUpdatesEventStream(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	endpoint := addEndpoint(t, env.st, "test/"+demoWS)
	stream := env.openStream(t, "events?ws="+demoWS+"&view=runs")

	status, _ := deliver(t, env.srv.URL+env.app.BasePath, endpoint, testWebhookSecret, runEventBody("evt_1", "edr_live1", "FAILED"), time.Now())
	if status != http.StatusOK {
		t.Fatalf("webhook: %d", status)
	}
	ev, ok := stream.next(t, views.LiveRunEvent("edr_live1"), 5*time.Second)
	if !ok {
		t.Fatal("no run-edr_live1 event")
	}
	if se := decodeStreamEvent(t, ev); se.Status != "FAILED" || se.FailureReason != "PDF_PARSE_ERROR" || se.Kind != monitor.EventRun {
		t.Errorf("event %+v", se)
	}
	if strings.Contains(ev.Data, "w9.pdf") {
		t.Errorf("the JSON event carries the file name: %q", ev.Data)
	}
	created, ok := stream.next(t, views.LiveEventCreated, 5*time.Second)
	if !ok || !strings.Contains(created.Data, `data-run-id="edr_live1"`) || !strings.Contains(created.Data, `data-status="FAILED"`) ||
		strings.Contains(created.Data, "sse-swap") {
		t.Errorf("created row %q (ok %v): want the finished run's row, which listens to nothing more", created.Data, ok)
	}

	env.app.Live.Broker.(*monitor.MemoryBroker).Close()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, open := <-stream.C:
			if !open {
				return
			}
		case <-deadline:
			t.Fatal("the stream did not end when the broker closed")
		}
	}
}

// Pages carry the stream and the triggers of their rows; without a
// connection there is no stream.
func TestPagesSubscribe(t *testing.T) {
	env := newLiveEnv(t, envOptions{seed: true})
	if r := env.get("events?ws=" + demoWS); r.StatusCode == http.StatusOK {
		t.Fatalf("a stream without a connection: %d", r.StatusCode)
	}
	env.connect(demoKey, demoWS)
	d := env.get("runs?ws=" + demoWS).doc(t)
	live := testid(d, "runs-live")
	connectURL, _ := live.Attr("sse-connect")
	cu, _ := url.Parse(connectURL)
	if live.Length() != 1 || live.AttrOr("hx-ext", "") != "sse" || cu.Path != testBase+"events" || cu.Query().Get("ws") != demoWS {
		t.Fatalf("runs page stream: %d elements, sse-connect %q", live.Length(), connectURL)
	}
	d.Find(`tr[data-status="PROCESSING"]`).Each(func(_ int, row *goquery.Selection) {
		id, _ := row.Attr("data-run-id")
		if swap, _ := row.Attr("sse-swap"); swap != views.LiveRowEvent(id) {
			t.Errorf("row %s sse-swap %q", id, swap)
		}
		if trig, _ := row.Attr("hx-trigger"); strings.Contains(trig, "sse:") {
			t.Errorf("row %s asks the server back on an event: trigger %q", id, trig)
		}
		if !slices.Contains(cu.Query()["run"], id) {
			t.Errorf("stream %q does not watch processing run %s", connectURL, id)
		}
	})
	if testid(d, "nav-settings").Length() == 0 {
		t.Error("no settings link in the header")
	}
}

// Two people whose keys reach different workspaces never see each
// other's runs through a stream or the deliveries page, and a key whose
// workspace header is ignored upstream cannot open a workspace that has
// history from Extend.
func TestLiveIsolation(t *testing.T) {
	// Upstream that ignores the workspace header: every key acts in its
	// own workspace whatever it claims.
	var target *url.URL
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del(extendapi.HeaderWorkspaceID)
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	env := newTestEnv(t, envOptions{seed: true, extendURL: proxy.URL})
	target, _ = url.Parse(env.sbURL)
	attachLive(t, env, nil)
	ctx := context.Background()
	demoTenant, otherTenant := "test/"+demoWS, "test/"+otherWS

	ana := env
	ana.connect(demoKey, demoWS)
	if r := ana.get("runs?ws=" + demoWS); r.StatusCode != http.StatusOK {
		t.Fatalf("ana's runs: %d", r.StatusCode)
	}
	if _, err := env.st.ProofRunIDs(ctx, demoTenant, 1); err != nil {
		t.Fatalf("ana's list did not reach history: %v", err)
	}
	ben := env.secondUser()
	ben.connect(otherKey, otherWS)
	demoEndpoint := addEndpoint(t, env.st, demoTenant)
	otherEndpoint := addEndpoint(t, env.st, otherTenant)

	anaStream := ana.openStream(t, "events?ws="+demoWS)
	benStream := ben.openStream(t, "events?ws="+otherWS)
	if r := ben.get("events?ws=" + demoWS); r.StatusCode == http.StatusOK {
		t.Fatalf("ben opened ana's stream: %d", r.StatusCode)
	}

	base := env.srv.URL + env.app.BasePath
	deliver(t, base, demoEndpoint, testWebhookSecret, runEventBody("evt_ana", "edr_ana", "PROCESSED"), time.Now())
	deliver(t, base, otherEndpoint, testWebhookSecret, runEventBody("evt_ben", "edr_ben", "PROCESSED"), time.Now())
	for _, tc := range []struct {
		who         string
		s           *eventStream
		mine, their string
	}{{"ana", anaStream, "edr_ana", "edr_ben"}, {"ben", benStream, "edr_ben", "edr_ana"}} {
		for {
			ev, ok := tc.s.next(t, sseEventRun, 5*time.Second)
			if !ok {
				t.Fatalf("%s never saw %s", tc.who, tc.mine)
			}
			se := decodeStreamEvent(t, ev)
			if se.RunID == tc.their {
				t.Fatalf("%s saw %s", tc.who, tc.their)
			}
			if se.RunID == tc.mine {
				break
			}
		}
	}
	d := ben.get("settings/deliveries?ws=" + otherWS).doc(t)
	if strings.Contains(d.Text(), "edr_ana") || !strings.Contains(d.Text(), "edr_ben") {
		t.Errorf("ben's deliveries: %q", testid(d, "deliveries-table").Text())
	}

	// Ben claims ana's workspace with his own key: upstream ignores the
	// header, so the live call succeeds, but ana's stored run cannot be
	// fetched with his key: no grant, nothing of his enters her history.
	eve := env.secondUser()
	eve.connect(otherKey, demoWS)
	r := eve.get("runs?ws=" + demoWS)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("eve's live list: %d", r.StatusCode)
	}
	if r := eve.get("events?ws=" + demoWS); r.StatusCode == http.StatusOK {
		t.Fatal("eve opened ana's stream")
	}
	if r := eve.get("settings/deliveries?ws=" + demoWS); r.StatusCode != http.StatusForbidden {
		t.Fatalf("eve's deliveries of ana's workspace: %d", r.StatusCode)
	}
	page, err := env.st.ListRuns(ctx, store.RunFilter{Tenant: demoTenant, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	otherRuns, err := env.extend(otherKey, otherWS).ListEditRuns(ctx, extendapi.ListEditRunsParams{MaxPageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, r := range page.Runs {
		mine[r.RunID] = true
	}
	for _, r := range otherRuns.Data {
		if mine[r.ID] {
			t.Fatalf("run %s of %s entered %s's history", r.ID, otherWS, demoWS)
		}
	}
}

// Connecting syncs history: a backfill walks Extend's list and marks the
// tenant synced; the settings page shows it.
func TestBackfillOnConnect(t *testing.T) {
	env := newLiveEnv(t, envOptions{seed: true})
	env.connect(demoKey, demoWS)
	ctx := context.Background()
	tenant := "test/" + demoWS
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, ok, err := env.app.Backfills.Progress(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if ok && !v.Running {
			if v.Failed || v.Seen == 0 {
				t.Fatalf("backfill: %+v", v)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backfill still running: %+v", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tn, err := env.st.GetTenant(ctx, tenant)
	if err != nil || tn.SyncedAt.IsZero() {
		t.Fatalf("tenant not synced: %+v %v", tn, err)
	}
	all, err := env.extend(demoKey, demoWS).ListEditRuns(ctx, extendapi.ListEditRunsParams{MaxPageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all.Data {
		if _, err := env.st.GetRun(ctx, tenant, r.ID); err != nil {
			t.Errorf("run %s not in history: %v", r.ID, err)
		}
	}
	d := env.get("settings?ws=" + demoWS).doc(t)
	if p := testid(d, "sync-progress"); p.AttrOr("data-running", "") != "false" || !strings.Contains(p.Text(), "completed") {
		t.Errorf("sync progress: %q", p.Text())
	}
	if r := env.post("settings/sync?ws="+demoWS, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sync history: %d %s", r.StatusCode, errorText(r))
	}
}

// The settings page: live updates need --public-url (and say so), an
// endpoint made in Extend's dashboard is added by its secret, the service
// key is kept by fingerprint, audited and revocable.
func TestSettingsPage(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	ctx := context.Background()
	d := env.get("settings?ws=" + demoWS).doc(t)
	if testid(d, "public-url-missing").Length() != 1 || testid(d, "live-updates-off").Length() != 1 {
		t.Fatal("the page does not say that --public-url is missing")
	}
	r := env.post("settings/endpoints?ws="+demoWS, url.Values{views.FieldWebhookSecret: {"wss_pasted_secret_1"}})
	d = r.doc(t)
	pasted := strings.TrimSpace(testid(d, "pasted-url").Find("code").Text())
	if r.StatusCode != http.StatusOK || !strings.Contains(pasted, "/webhooks/extend/ewh_") || testid(d, "endpoint-row").Length() != 1 {
		t.Fatalf("paste: %d, URL %q", r.StatusCode, pasted)
	}
	if strings.Contains(r.body, "wss_pasted_secret_1") {
		t.Fatal("the page shows the secret")
	}
	endpoint := pasted[strings.LastIndex(pasted, "/")+1:]

	r = env.post("settings/service-key?ws="+demoWS, url.Values{views.FieldServiceKey: {otherKey}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("service key: %d", r.StatusCode)
	}
	if tn, _ := env.st.GetTenant(ctx, "test/"+demoWS); tn.ServiceKeyFingerprint != "" {
		t.Fatal("a key of another workspace was kept as service key")
	}
	if r := env.post("settings/service-key?ws="+demoWS, url.Values{views.FieldServiceKey: {demoKey}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("service key: %d", r.StatusCode)
	}
	fp := store.ServiceKeyFingerprint(demoKey)
	d = env.get("settings?ws=" + demoWS).doc(t)
	if got := testid(d, "service-key-fingerprint").Text(); !strings.Contains(got, fp) || strings.Contains(d.Text(), demoKey) {
		t.Fatalf("service key shown as %q", got)
	}
	if r := env.post("settings/service-key/revoke?ws="+demoWS, url.Values{views.ConfirmField: {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if _, err := env.st.ServiceKey(ctx, "test/"+demoWS); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("service key after revoke: %v", err)
	}
	for _, action := range []string{auditEndpointAdd, auditServiceKeySet, auditServiceKeyRevoke} {
		entries, _, err := env.st.ListAudit(ctx, store.AuditFilter{Action: action})
		if err != nil || len(entries) != 1 {
			t.Errorf("audit %s: %d entries, %v", action, len(entries), err)
		}
	}
	status, _ := deliver(t, env.srv.URL+env.app.BasePath, endpoint, "wss_pasted_secret_1", runEventBody("evt_p", "edr_p", "PROCESSED"), time.Now())
	if status != http.StatusOK {
		t.Fatalf("delivery to the pasted endpoint: %d", status)
	}
	d = env.get("settings/deliveries?ws=" + demoWS).doc(t)
	if rows := testid(d, "delivery-row"); rows.Length() != 1 || !strings.Contains(rows.Text(), "edr_p: new, PROCESSED") {
		t.Errorf("deliveries: %q", rows.Text())
	}
}

// With --public-url, "Enable live updates" registers an endpoint with the
// person's key and keeps its secret sealed: the deliveries Extend then
// signs verify.
func TestEnableLiveUpdates(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	env.app.Live.PublicURL = env.srv.URL
	env.connect(demoKey, demoWS)
	if r := env.post("settings/live?ws="+demoWS, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: %d %s", r.StatusCode, errorText(r))
	}
	eps, err := env.st.ListWebhookEndpoints(context.Background(), "test/"+demoWS)
	if err != nil || len(eps) != 1 {
		t.Fatalf("endpoints: %v %v", eps, err)
	}
	ep := eps[0]
	if ep.Status != store.EndpointEnabled || !strings.HasPrefix(ep.ExtendID, "wh_") || ep.URL != env.srv.URL+testBase+routeWebhookPrefix+ep.ID {
		t.Fatalf("endpoint %+v", ep)
	}
	remote, err := env.extend(demoKey, demoWS).GetWebhookEndpoint(context.Background(), ep.ExtendID)
	if err != nil || remote.URL != ep.URL {
		t.Fatalf("registered endpoint %+v %v", remote, err)
	}
}

// In --sandbox mode live updates need no setup: the dashboard registers
// its endpoint with the embedded sandbox (idempotently), a run created
// through the dashboard finishes, the sandbox delivers the signed webhook,
// and the runs page's event stream announces the run.
func TestSandboxModeLiveUpdates(t *testing.T) {
	env := newLiveEnv(t, envOptions{sandboxMode: true})
	ctx := context.Background()
	register := func() (store.WebhookEndpoint, error) {
		sb := env.app.Sandbox
		cl, err := env.app.Connector.Client(extendapi.APIKey(sb.Key), sb.InternalURL, sb.Workspace)
		if err != nil {
			return store.WebhookEndpoint{}, err
		}
		return upstream.RegisterSandboxEndpoint(ctx, env.st, cl, store.TenantFor(SandboxDeployment, sb.Workspace, ""),
			func(id string) string { return views.WebhookURL(env.srv.URL+testBase, id) })
	}
	first, err := register()
	if err != nil {
		t.Fatal(err)
	}
	again, err := register()
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != again.ID || first.ExtendID != again.ExtendID || again.Status != store.EndpointEnabled {
		t.Fatalf("registration not idempotent: %+v then %+v", first, again)
	}
	remote, err := env.extend(demoKey, demoWS).ListWebhookEndpoints(ctx, extendapi.ListWebhookEndpointsParams{})
	if err != nil || len(remote.Data) != 1 {
		t.Fatalf("sandbox endpoints: %v %v", remote, err)
	}

	env.connect(demoKey, demoWS)
	d := env.get("runs?ws=" + demoWS).doc(t)
	streamURL, ok := testid(d, "runs-live").Attr("sse-connect")
	if !ok {
		t.Fatal("the runs page has no event stream")
	}
	stream := env.openStream(t, streamURL)

	form := demoForm(t)
	r := env.postMultipart("runs/new?ws="+demoWS, newRunParts(form, "", form.Instructions), env.csrf(), nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.StatusCode, errorText(r))
	}
	loc, _ := url.Parse(location(t, r))
	id := strings.TrimPrefix(loc.Path, testBase+"runs/")
	created, ok := stream.next(t, views.LiveEventCreated, 60*time.Second)
	if !ok || !strings.Contains(created.Data, `data-run-id="`+id+`"`) {
		t.Fatalf("the stream did not announce run %s: %q", id, created.Data)
	}
	// The run enters history as PROCESSING when it is created; the sandbox's
	// webhook then finishes it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap, err := env.st.GetRun(ctx, "sandbox/"+demoWS, id)
		if err == nil && store.IsFinished(snap.Status) && snap.SeenVia == store.ViaWebhook {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history never finished the run through the webhook: %+v %v", snap, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
