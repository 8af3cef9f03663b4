package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

func TestPlanBulk(t *testing.T) {
	two, half := 2.0, 0.5
	plan := planBulk([]store.RunSnapshot{
		{RunID: "a", RunFacts: store.RunFacts{Status: store.StatusProcessed, Credits: &two}},
		{RunID: "b", RunFacts: store.RunFacts{Status: store.StatusFailed, FailureReason: "CORRUPT_FILE"}},
		{RunID: "c", RunFacts: store.RunFacts{Status: store.StatusFailed, FailureReason: "PASSWORD_PROTECTED_FILE", Credits: &half}},
		{RunID: "d", RunFacts: store.RunFacts{Status: store.StatusFailed, FailureReason: "INTERNAL_ERROR"}},
		{RunID: "e", RunFacts: store.RunFacts{Status: store.StatusFailed, FailureReason: "CORRUPT_FILE"}},
	})
	if plan.credits != 2.5 || plan.noUsage != 3 || plan.failAgainCount() != 3 {
		t.Errorf("credits %v, no usage %d, fail again %d", plan.credits, plan.noUsage, plan.failAgainCount())
	}
	if got := plan.failAgainWhy(); got != "CORRUPT_FILE: 2 · PASSWORD_PROTECTED_FILE: 1" {
		t.Errorf("why = %q", got)
	}
	if got := strings.Join(plan.ids(true), ","); got != "a,d" {
		t.Errorf("ids leaving out = %s", got)
	}
	if got := strings.Join(plan.ids(false), ","); got != "a,b,c,d,e" {
		t.Errorf("all ids = %s", got)
	}
}

// TestBulkRerunConfirmsFirst: the runs list's bulk re-run names count,
// estimated credits and the runs that will fail again before anything
// runs, leaves those out when asked, caps a selection at 1,000, and its
// job reports each run's outcome.
func TestBulkRerunConfirmsFirst(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	seedHistory(t, env, true)
	d := env.get("runs?ws=" + demoWS).doc(t)
	if testid(d, "bulk-bar").Length() != 1 || testid(d, "run-select").Length() == 0 {
		t.Fatal("the history list offers no selection")
	}
	bulk := strings.TrimPrefix(views.RunsBulkURL(testBase, demoWS, views.RunsFilter{}), testBase)
	selection := url.Values{views.FieldBulkAction: {views.BulkRerun}, views.FieldBulkRun: {"edr_Pa", "edr_Fa", "edr_Fb", "edr_Pa"}}
	r := env.post(bulk, selection)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bulk: %d %s", r.StatusCode, errorText(r))
	}
	cd := r.doc(t)
	if got := testid(cd, "bulk-count").Text(); got != "3" {
		t.Errorf("count %q, want 3", got)
	}
	if got := testid(cd, "bulk-credits").Text(); !strings.Contains(got, "2 credits") || !strings.Contains(got, "2 runs have no usage") {
		t.Errorf("credits %q", got)
	}
	if got := testid(cd, "bulk-fail-again").Text(); !strings.Contains(got, "2") || !strings.Contains(got, "CORRUPT_FILE: 2") {
		t.Errorf("fail again %q", got)
	}
	if testid(cd, "bulk-skip-failing").Length() != 1 {
		t.Error("no offer to leave the failing runs out")
	}
	if entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditRerun}); err != nil || len(entries) != 0 {
		t.Fatalf("something ran before confirmation: %+v %v", entries, err)
	}

	confirmed := url.Values{views.ConfirmField: {"1"}, views.FieldSkipFailing: {"1"}}
	for k, v := range selection {
		confirmed[k] = v
	}
	r = env.post(bulk, confirmed)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(location(t, r), jobURLPrefix) {
		t.Fatalf("confirmed: %d %s", r.StatusCode, errorText(r))
	}
	jobID := jobIDOf(t, location(t, r))
	if job, ok := env.app.Reruns.Get(jobID); ok {
		select {
		case <-job.Done():
		case <-time.After(60 * time.Second):
			t.Fatal("bulk re-run did not finish")
		}
	}
	items, err := env.st.JobItems(context.Background(), jobID)
	if err != nil || len(items) != 1 || items[0].RunID != "edr_Pa" {
		t.Fatalf("job items %+v (%v), want edr_Pa alone", items, err)
	}
	// edr_Pa exists only in history: the report says so for that run.
	jd := env.get(location(t, r)).doc(t)
	if got := testid(jd, "rerun-failed").Text(); !strings.Contains(got, "edr_Pa") {
		t.Errorf("outcome report %q", got)
	}

	// Everything matching the filter, more than one job takes: capped.
	var many []store.RunSnapshot
	for i := range views.MaxBulkRuns + 5 {
		many = append(many, store.RunSnapshot{RunID: fmt.Sprintf("edr_M%04d", i), RunFacts: store.RunFacts{
			Status: store.StatusFailed, FailureReason: "OUTPUT_TOO_LARGE", CreatedAt: time.Now().Add(-time.Duration(i) * time.Second)}})
	}
	if err := env.st.InsertSyntheticRuns(context.Background(), demoTenant, many); err != nil {
		t.Fatal(err)
	}
	all := strings.TrimPrefix(views.RunsBulkURL(testBase, demoWS, views.RunsFilter{Reason: "OUTPUT_TOO_LARGE"}), testBase)
	cd = env.post(all, url.Values{views.FieldBulkAction: {views.BulkRerun}, views.FieldBulkAll: {"1"}}).doc(t)
	if got := testid(cd, "bulk-count").Text(); got != fmt.Sprint(views.MaxBulkRuns) || testid(cd, "bulk-capped").Length() != 1 {
		t.Errorf("select all: count %q, capped note %d", got, testid(cd, "bulk-capped").Length())
	}
}

// TestBulkRerunOfRealRuns: a confirmed bulk re-run of runs Extend has
// starts each again, one audit entry and one lineage link per new run.
func TestBulkRerunOfRealRuns(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true})
	env.connect(demoKey, demoWS)
	_, ids := failedSandboxRuns(t, env)
	if len(ids) > 3 {
		ids = ids[:3]
	}
	form := url.Values{views.FieldBulkAction: {views.BulkRerun}, views.FieldBulkRun: ids, views.ConfirmField: {"1"}}
	r := env.post(strings.TrimPrefix(views.RunsBulkURL(testBase, demoWS, views.RunsFilter{}), testBase), form)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("bulk: %d %s", r.StatusCode, errorText(r))
	}
	jobID := jobIDOf(t, location(t, r))
	job, ok := env.app.Reruns.Get(jobID)
	if !ok {
		t.Fatal("no job")
	}
	select {
	case <-job.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("bulk re-run did not finish")
	}
	d := env.get(location(t, r)).doc(t)
	created := testid(d, "rerun-created")
	if created.Length() != len(ids) {
		t.Fatalf("%d runs started, want %d: %s", created.Length(), len(ids), testid(d, "rerun-progress").Text())
	}
	ctx := context.Background()
	entries, _, err := env.st.ListAudit(ctx, store.AuditFilter{Action: store.AuditRerun})
	if err != nil {
		t.Fatal(err)
	}
	perRun := 0
	for _, e := range entries {
		if strings.Contains(e.Detail, "(bulk "+jobID+")") {
			perRun++
		}
	}
	if perRun != len(ids) {
		t.Errorf("%d audit entries for the job's runs, want %d", perRun, len(ids))
	}
	created.Each(func(_ int, s *goquery.Selection) {
		l, err := env.st.RunLineage(ctx, demoTenant, s.Text())
		if err != nil || l.RerunOf == "" {
			t.Errorf("new run %s has no lineage: %v", s.Text(), err)
		}
	})
}
