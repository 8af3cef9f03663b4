package handlers

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// demoTenant and otherTenant are the tenants of the test deployment.
const (
	demoTenant  = "test/" + demoWS
	otherTenant = "test/" + otherWS
)

// seedHistory writes a small known history into the demo tenant (6
// processed, 3 failed CORRUPT_FILE, 1 processing for two hours: stuck) and
// a noisy one into the other tenant, which must never show.
func seedHistory(t *testing.T, env *testEnv, synced bool) time.Time {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	at := now.Add(-2 * time.Hour)
	ms, credits, filled, total := 1500.0, 2.0, int64(8), int64(10)
	var demo []store.RunSnapshot
	for i := range 6 {
		demo = append(demo, store.RunSnapshot{RunID: "edr_P" + string(rune('a'+i)), RunFacts: store.RunFacts{
			Status: store.StatusProcessed, FileName: "w9-" + string(rune('a'+i)) + ".pdf", ProcessingMs: &ms, DetectionMs: &ms,
			Credits: &credits, FieldsFilled: &filled, FieldCount: &total, CreatedAt: at.Add(time.Duration(i) * time.Minute)}})
	}
	names := []string{"=cmd|' /C calc'!A0.pdf", "📄 résumé.pdf", "scan.pdf"}
	for i := range 3 {
		demo = append(demo, store.RunSnapshot{RunID: "edr_F" + string(rune('a'+i)), RunFacts: store.RunFacts{
			Status: store.StatusFailed, FailureReason: "CORRUPT_FILE", FailureMessage: "xref table not found",
			FileName: names[i], CreatedAt: at.Add(time.Duration(10+i) * time.Minute)}})
	}
	demo = append(demo, store.RunSnapshot{RunID: "edr_Stuck", RunFacts: store.RunFacts{Status: store.StatusProcessing, FileName: "slow.pdf", CreatedAt: at}})
	if err := env.st.InsertSyntheticRuns(ctx, demoTenant, demo); err != nil {
		t.Fatal(err)
	}
	var other []store.RunSnapshot
	for i := range 40 {
		other = append(other, store.RunSnapshot{RunID: "edr_OTHER" + string(rune('A'+i)), RunFacts: store.RunFacts{
			Status: store.StatusFailed, FailureReason: "OUT_OF_CREDITS", FileName: "other-secret.pdf", CreatedAt: at.Add(time.Duration(i) * time.Minute)}})
	}
	if err := env.st.InsertSyntheticRuns(ctx, otherTenant, other); err != nil {
		t.Fatal(err)
	}
	if synced {
		for _, tenant := range []string{demoTenant, otherTenant} {
			if err := env.st.MarkTenantSynced(ctx, tenant, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	return now
}

func figure(t *testing.T, d *goquery.Document, id string) string {
	t.Helper()
	s := testid(d, "figure-"+id).Find(`[data-testid="figure-value"]`)
	if s.Length() != 1 {
		t.Fatalf("figure %s not found", id)
	}
	return strings.TrimSpace(s.Text())
}

func TestOverviewFiguresChartsAndIsolation(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	seedHistory(t, env, false)

	r := env.get("?ws=" + demoWS)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("overview: %d %s", r.StatusCode, errorText(r))
	}
	d := r.doc(t)
	for id, want := range map[string]string{"runs": "10", "success": "66.7 %", "failures": "3", "credits": "12"} {
		if got := figure(t, d, id); got != want {
			t.Errorf("figure %s = %q, want %q", id, got, want)
		}
	}
	if got := figure(t, d, "p50"); got == "—" {
		t.Errorf("p50 = %q, want a time", got)
	}
	if !strings.Contains(testid(d, "history-note").Text(), "History covers runs since") {
		t.Errorf("history note = %q", testid(d, "history-note").Text())
	}
	if got := testid(d, "stuck-count").Text(); got != "1 run" {
		t.Errorf("stuck count = %q, want 1 run", got)
	}
	for _, chart := range []string{"runs-chart", "latency-chart", "stages-chart", "failures-chart", "credits-chart", "fill-chart"} {
		c := testid(d, "chart-"+chart)
		if c.Find("svg title").Length() == 0 || c.Find("svg desc").Length() == 0 || c.Find(`[data-testid="chart-table"]`).Length() != 1 {
			t.Errorf("%s: missing svg title/desc or data table", chart)
		}
		if c.Find(`[data-testid="chart-link"]`).Length() == 0 {
			t.Errorf("%s: no linked marks", chart)
		}
	}
	// The fill ratio says how many runs it stands on: the 3 failures
	// reported no field counts.
	if note := testid(d, "chart-fill-chart").Find(`[data-testid="chart-note"]`).Text(); !strings.Contains(note, "6 of 9 finished runs in this period reported their field counts") {
		t.Errorf("fill chart note = %q", note)
	}
	// A failure bar links to the runs list filtered to its reason.
	href, _ := testid(d, "chart-failures-chart").Find(`[data-testid="chart-link"]`).First().Attr("href")
	u, err := url.Parse(href)
	if err != nil || u.Path != testBase+views.RouteRuns || u.Query().Get(views.ParamStatus) != store.StatusFailed ||
		u.Query().Get(views.ParamReason) != "CORRUPT_FILE" {
		t.Errorf("failure bar links to %q", href)
	}
	// Failures by reason never show the other tenant's reason.
	if strings.Contains(r.body, "OUT_OF_CREDITS") || strings.Contains(r.body, "other-secret") {
		t.Error("the overview shows another tenant's runs")
	}
	// The range is in the URL.
	d = env.get("?ws=" + demoWS + "&range=1h").doc(t)
	if got := figure(t, d, "runs"); got != "0" {
		t.Errorf("last hour: runs = %q, want 0 (the runs are two hours old)", got)
	}
}

func TestOverviewWithoutHistoryRedirects(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	r := env.get("")
	if r.StatusCode != http.StatusFound || !strings.Contains(location(t, r), views.RouteRuns) {
		t.Fatalf("overview without history: %d to %q, want a redirect to the runs", r.StatusCode, r.Header.Get("Location"))
	}
	d := env.get(location(t, r)).doc(t)
	if !strings.Contains(testid(d, "flash").Text(), "once Editwatch has history") {
		t.Errorf("flash = %q", testid(d, "flash").Text())
	}
}

func TestRunsListFromHistory(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)

	// Not synced: Extend's list, with the note.
	seedHistory(t, env, false)
	d := env.get("runs?ws=" + demoWS).doc(t)
	if !strings.Contains(testid(d, "runs-note").Text(), "History is still syncing") {
		t.Errorf("note = %q", testid(d, "runs-note").Text())
	}
	if testid(d, "runs-counts").Length() != 0 {
		t.Error("counts shown before history is synced")
	}

	if err := env.st.MarkTenantSynced(context.Background(), demoTenant, time.Now()); err != nil {
		t.Fatal(err)
	}
	d = env.get("runs?ws=" + demoWS + "&size=100").doc(t)
	rows := testid(d, "run-row")
	if rows.Length() != 10 {
		t.Fatalf("%d rows, want the 10 runs of history", rows.Length())
	}
	rows.Each(func(_ int, s *goquery.Selection) {
		if strings.HasPrefix(s.AttrOr("data-run-id", ""), "edr_OTHER") {
			t.Errorf("row of another tenant: %s", s.AttrOr("data-run-id", ""))
		}
	})
	counts := map[string]string{}
	testid(d, "status-count").Each(func(_ int, s *goquery.Selection) {
		counts[s.AttrOr("data-status", "")] = s.Find(`[data-testid="status-count-value"]`).Text()
	})
	want := map[string]string{"": "10", store.StatusProcessing: "1", store.StatusProcessed: "6", store.StatusFailed: "3"}
	for st, n := range want {
		if counts[st] != n {
			t.Errorf("count %q = %q, want %q", st, counts[st], n)
		}
	}
	if got := d.Find(`[data-run-id="edr_Stuck"] [data-testid="stuck-badge"]`).Length(); got != 1 {
		t.Errorf("stuck run not flagged")
	}
	if testid(d, "export-csv").Length() != 1 || testid(d, "export-ndjson").Length() != 1 {
		t.Error("export links missing")
	}
	// Run-ID prefix and file-name search over history, state in the URL.
	d = env.get("runs?ws=" + demoWS + "&run=edr_F").doc(t)
	if got := testid(d, "run-row").Length(); got != 3 {
		t.Errorf("run=edr_F: %d rows, want 3", got)
	}
	d = env.get("runs?ws=" + demoWS + "&q=" + url.QueryEscape("résumé")).doc(t)
	if got := testid(d, "run-row").Length(); got != 1 {
		t.Errorf("q=résumé: %d rows, want 1", got)
	}
	d = env.get("runs?ws=" + demoWS + "&stuck=1").doc(t)
	if got := testid(d, "run-row").AttrOr("data-run-id", ""); got != "edr_Stuck" || testid(d, "run-row").Length() != 1 {
		t.Errorf("stuck=1 lists %q", got)
	}
	d = env.get("runs?ws=" + demoWS + "&range=1h").doc(t)
	if got := testid(d, "run-row").Length(); got != 0 {
		t.Errorf("range=1h: %d rows, want 0", got)
	}
}

func TestExportCSVAndNDJSON(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	seedHistory(t, env, true)

	r := env.get(views.ExportURL(testBase, demoWS, views.RunsFilter{Status: store.StatusFailed}, "csv"))
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("Content-Disposition = %q", r.Header.Get("Content-Disposition"))
	}
	records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 4 || records[0][0] != "run_id" {
		t.Fatalf("records = %q, want a header and the 3 failed runs", records)
	}
	names := map[string]bool{}
	for _, rec := range records[1:] {
		names[rec[1]] = true
		if rec[2] != store.StatusFailed || rec[3] != "CORRUPT_FILE" {
			t.Errorf("row %q does not match the filter", rec)
		}
	}
	for _, want := range []string{"'=cmd|' /C calc'!A0.pdf", "📄 résumé.pdf", "scan.pdf"} {
		if !names[want] {
			t.Errorf("file name %q missing from %v", want, names)
		}
	}
	if strings.Contains(r.body, "OTHER") || strings.Contains(r.body, "other-secret") {
		t.Error("the export contains another tenant's runs")
	}

	r = env.get(views.ExportURL(testBase, demoWS, views.RunsFilter{}, "ndjson"))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("ndjson: %d", r.StatusCode)
	}
	sc := bufio.NewScanner(strings.NewReader(r.body))
	n := 0
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if strings.HasPrefix(rec["run_id"].(string), "edr_OTHER") {
			t.Errorf("ndjson has another tenant's run %v", rec["run_id"])
		}
		if rec["run_id"] == "edr_Fa" && rec["file_name"] != "=cmd|' /C calc'!A0.pdf" {
			t.Errorf("ndjson keeps file names as they are, got %v", rec["file_name"])
		}
		n++
	}
	if n != 10 {
		t.Errorf("%d ndjson lines, want 10", n)
	}
}

// failedSandboxRuns records the sandbox's failed runs of one reason in the
// demo tenant's history (as a list page would), an hour old, and returns
// the reason and their IDs.
func failedSandboxRuns(t *testing.T, env *testEnv) (string, []string) {
	t.Helper()
	ctx := context.Background()
	cl, err := extendapi.New(demoKey, extendapi.WithBaseURL(env.sbURL), extendapi.WithWorkspace(demoWS))
	if err != nil {
		t.Fatal(err)
	}
	byReason := map[string][]string{}
	var obs []store.RunObservation
	for run, err := range cl.AllEditRuns(ctx, extendapi.ListEditRunsParams{Status: extendapi.StatusFailed, MaxPageSize: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		reason := string(run.FailureReason)
		byReason[reason] = append(byReason[reason], run.ID)
		obs = append(obs, store.RunObservation{RunID: run.ID, Via: store.ViaList, RunFacts: store.RunFacts{
			Status: store.StatusFailed, FailureReason: reason, FileID: run.File.ID, FileName: run.File.Name,
			CreatedAt: time.Now().Add(-time.Hour)}})
	}
	if _, err := env.st.UpsertRuns(ctx, demoTenant, obs); err != nil {
		t.Fatal(err)
	}
	// The most common reason (ties by name, so every run picks the same),
	// among those whose runs can be re-run: a file URL Extend could not
	// download never became a file.
	best := ""
	for reason, ids := range byReason {
		if reason == "" || reason == string(extendapi.ReasonUnableToDownloadFile) {
			continue
		}
		if best == "" || len(ids) > len(byReason[best]) || (len(ids) == len(byReason[best]) && reason < best) {
			best = reason
		}
	}
	if best == "" {
		t.Fatal("the seeded sandbox has no failed runs")
	}
	return best, byReason[best]
}

func TestFailuresGroupsAndRerun(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true})
	env.connect(demoKey, demoWS)
	reason, ids := failedSandboxRuns(t, env)

	d := env.get("failures?ws=" + demoWS).doc(t)
	group := d.Find(`[data-testid="failure-group"][data-reason="` + reason + `"]`)
	if group.Length() != 1 {
		t.Fatalf("no group for %s; page: %s", reason, errorText(response{body: d.Text()}))
	}
	wantCount := strconv.Itoa(len(ids)) + " " + map[bool]string{true: "run", false: "runs"}[len(ids) == 1]
	if got := strings.Join(strings.Fields(group.Find(`[data-testid="group-count"]`).Text()), " "); got != wantCount {
		t.Errorf("group count = %q, want %q", got, wantCount)
	}
	if group.Find(`[data-testid="sparkline"]`).Length() != 1 || group.Find(`[data-testid="group-example"]`).Length() == 0 {
		t.Error("group without sparkline or examples")
	}
	action, _ := group.Find(`[data-testid="group-rerun-form"]`).Attr("action")

	// The first POST asks for confirmation, naming how many.
	r := env.post(action, url.Values{})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("re-run without confirmation: %d %s", r.StatusCode, errorText(r))
	}
	cd := r.doc(t)
	if !strings.Contains(testid(cd, "bulk-confirm").Text(), "Re-run "+views.RunsCount(len(ids))) {
		t.Fatalf("confirmation = %q", testid(cd, "bulk-confirm").Text())
	}
	r = env.post(action, url.Values{views.ConfirmField: {"1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed re-run: %d %s", r.StatusCode, errorText(r))
	}
	jobURL := location(t, r)
	jobID := jobIDOf(t, jobURL)
	job, ok := env.app.Reruns.Get(jobID)
	if !ok {
		t.Fatalf("job %q not registered", jobID)
	}
	select {
	case <-job.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("bulk re-run did not finish")
	}
	jd := env.get(jobURL).doc(t)
	if got := testid(jd, "rerun-created").Length(); got != len(ids) {
		t.Errorf("%d runs started, want %d; failures: %s", got, len(ids), testid(jd, "rerun-failed").Text())
	}
	if testid(jd, "rerun-progress").AttrOr("data-finished", "") != "true" {
		t.Error("finished job still polling")
	}
	entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Tenant: demoTenant, Action: store.AuditRerun})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(ids)+1 {
		t.Errorf("%d audit entries, want one per run plus the bulk start (%d)", len(entries), len(ids)+1)
	}

	// Another session cannot read the job.
	env.client.Jar, _ = cookiejar.New(nil)
	env.connect(demoKey, demoWS)
	if r := env.get(jobURL); r.StatusCode != http.StatusNotFound {
		t.Errorf("job page in another session: %d, want 404", r.StatusCode)
	}
}

func TestFailuresRerunRefusedWhenReadOnly(t *testing.T) {
	env := newTestEnv(t, envOptions{identity: middleware.IdentityConfig{ReadOnly: true}})
	env.connect(demoKey, demoWS)
	r := env.post(views.FailuresRerunURL(testBase, demoWS, "CORRUPT_FILE", views.TimeRange{}), url.Values{views.ConfirmField: {"1"}})
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("read-only re-run: %d, want 403", r.StatusCode)
	}
	d := env.get("failures?ws=" + demoWS).doc(t)
	if testid(d, "group-rerun-form").Length() != 0 {
		t.Error("read-only page offers Re-run these")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	m := middleware.NewMetrics(middleware.MetricsOptions{Store: env.st})
	env = env.withOptions(func(a *Options) { a.Metrics = m })
	env.connect(demoKey, demoWS)
	seedHistory(t, env, true)
	env.get("runs?ws=" + demoWS)

	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	for _, want := range []string{
		`editwatch_http_requests_total{method="GET",route="/ew/runs",status="200"} 1`,
		`editwatch_runs_finished{status="FAILED",tenant="test/ws_demo",window="24h"} 3`,
		`editwatch_runs_finished{status="PROCESSED",tenant="test/ws_demo",window="24h"} 6`,
		`editwatch_run_failures{reason="CORRUPT_FILE",tenant="test/ws_demo",window="24h"} 3`,
		`editwatch_run_failures{reason="OUT_OF_CREDITS",tenant="test/ws_other",window="24h"} 40`,
		`editwatch_runs_stuck{tenant="test/ws_demo"} 1`,
		`editwatch_run_processing_seconds_count{tenant="test/ws_demo",window="24h"} 6`,
		`editwatch_run_credits{tenant="test/ws_demo",window="24h"} 12`,
		`editwatch_run_metrics_errors 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
