package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// bulkJobID is the job a confirmed bulk action redirected to, after its
// worker ended.
func bulkJobID(t *testing.T, env *testEnv, r response) string {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(location(t, r), jobURLPrefix) {
		t.Fatalf("confirmed: %d %s", r.StatusCode, errorText(r))
	}
	jobID := jobIDOf(t, location(t, r))
	job, ok := env.app.Reruns.Get(jobID)
	if !ok {
		t.Fatalf("no job %s in this process", jobID)
	}
	select {
	case <-job.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("bulk job did not finish")
	}
	return jobID
}

// TestBulkDeleteOfRealRuns: the runs list's bulk delete names the count
// before anything happens; confirmed, its job deletes each run in Extend,
// records it gone in history, writes one audit entry per run, counts a
// run Extend answers 404 for as already gone, and reports each outcome.
func TestBulkDeleteOfRealRuns(t *testing.T) {
	env := newLiveEnv(t, envOptions{seed: true})
	env.connect(demoKey, demoWS)
	seedHistory(t, env, true)
	_, ids := failedSandboxRuns(t, env)
	if len(ids) < 2 {
		t.Fatalf("%d failed sandbox runs, want 2", len(ids))
	}
	ids = ids[:2]
	ctx := context.Background()
	// A run history knows and Extend does not (deleted elsewhere).
	if err := env.st.InsertSyntheticRuns(ctx, demoTenant, []store.RunSnapshot{{RunID: "edr_GoneElsewhere",
		RunFacts: store.RunFacts{Status: store.StatusProcessed, CreatedAt: time.Now().Add(-time.Hour)}}}); err != nil {
		t.Fatal(err)
	}
	d := env.get("runs?ws=" + demoWS).doc(t)
	if testid(d, "bulk-delete").Length() != 1 {
		t.Fatal("the bulk bar offers no delete")
	}

	bulk := strings.TrimPrefix(views.RunsBulkURL(testBase, demoWS, views.RunsFilter{}), testBase)
	selection := url.Values{views.FieldBulkAction: {views.BulkDelete}, views.FieldBulkRun: append([]string{"edr_GoneElsewhere"}, ids...)}
	r := env.post(bulk, selection)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("bulk delete: %d %s", r.StatusCode, errorText(r))
	}
	cd := r.doc(t)
	if got := testid(cd, "bulk-count").Text(); got != "3" {
		t.Errorf("count %q, want 3", got)
	}
	if got := cd.Find("#bulk-title").Text(); got != "Delete 3 runs?" {
		t.Errorf("heading %q", got)
	}
	if got := testid(cd, "bulk-confirm-submit").Text(); got != "Delete 3 runs" {
		t.Errorf("confirm button %q", got)
	}
	if testid(cd, "bulk-credits").Length()+testid(cd, "bulk-skip-failing").Length() != 0 {
		t.Error("the delete confirmation speaks of credits or failing again")
	}
	if entries, _, err := env.st.ListAudit(ctx, store.AuditFilter{Action: store.AuditDelete}); err != nil || len(entries) != 0 {
		t.Fatalf("something was deleted before confirmation: %+v %v", entries, err)
	}
	cl := env.extend(demoKey, demoWS)
	if _, err := cl.GetEditRun(ctx, ids[0]); err != nil {
		t.Fatalf("the run is gone before confirmation: %v", err)
	}

	confirmed := url.Values{views.ConfirmField: {"1"}}
	for k, v := range selection {
		confirmed[k] = v
	}
	r = env.post(bulk, confirmed)
	jobID := bulkJobID(t, env, r)
	if !strings.HasPrefix(jobID, "dl_") {
		t.Errorf("job %s is not a delete job", jobID)
	}

	jd := env.get(location(t, r)).doc(t)
	if got := testid(jd, "bulk-deleted").Length(); got != 2 {
		t.Errorf("%d runs reported deleted, want 2: %s", got, testid(jd, "rerun-progress").Text())
	}
	if got := testid(jd, "bulk-gone").Text(); !strings.Contains(got, "edr_GoneElsewhere") || !strings.Contains(got, "no longer had") {
		t.Errorf("already-gone report %q", got)
	}
	if testid(jd, "rerun-failed").Length() != 0 {
		t.Errorf("failures reported: %s", testid(jd, "rerun-failed").Text())
	}
	if got := jd.Find(`[role="status"]`).Text(); !strings.Contains(got, "3 deleted") || !strings.Contains(got, "0 could not be deleted") {
		t.Errorf("summary %q", got)
	}
	if got := jd.Find("h1").Text(); !strings.Contains(got, "Deleting 3 runs") {
		t.Errorf("page heading %q", got)
	}

	for _, id := range append([]string{"edr_GoneElsewhere"}, ids...) {
		if _, err := cl.GetEditRun(ctx, id); !errors.Is(err, extendapi.ErrNotFound) {
			t.Errorf("Extend still has %s: %v", id, err)
		}
		snap, err := env.st.GetRun(ctx, demoTenant, id)
		if err != nil || !snap.Deleted() {
			t.Errorf("history does not record %s gone: deleted=%v %v", id, snap.Deleted(), err)
		}
		entries, _, err := env.st.ListAudit(ctx, store.AuditFilter{Action: store.AuditDelete, Target: id})
		if err != nil || len(entries) != 1 || !strings.Contains(entries[0].Detail, "(bulk "+jobID+")") {
			t.Errorf("audit of %s: %+v %v", id, entries, err)
		}
	}
	gone, _, err := env.st.ListAudit(ctx, store.AuditFilter{Action: store.AuditDelete, Target: "edr_GoneElsewhere"})
	if err != nil || len(gone) != 1 || !strings.Contains(gone[0].Detail, "already gone") {
		t.Errorf("the already-gone run's audit entry: %+v %v", gone, err)
	}
}

// TestBulkDeleteReportsErrors: a run Extend refuses to delete is reported
// with the error in the person's terms, and nothing is recorded gone.
func TestBulkDeleteReportsErrors(t *testing.T) {
	env := newLiveEnv(t, envOptions{seed: true, noRetry: true})
	env.connect(demoKey, demoWS)
	_, ids := failedSandboxRuns(t, env)
	ids = ids[:1]
	env.sb.SetFaults(sandbox.Faults{Rate5xx: 1})
	defer env.sb.SetFaults(sandbox.Faults{})
	r := env.post(strings.TrimPrefix(views.RunsBulkURL(testBase, demoWS, views.RunsFilter{}), testBase),
		url.Values{views.FieldBulkAction: {views.BulkDelete}, views.FieldBulkRun: ids, views.ConfirmField: {"1"}})
	bulkJobID(t, env, r)
	env.sb.SetFaults(sandbox.Faults{})

	jd := env.get(location(t, r)).doc(t)
	failed := testid(jd, "rerun-failed").Text()
	if !strings.Contains(failed, ids[0]) || !strings.Contains(failed, "Extend") || strings.Contains(failed, "INTERNAL_ERROR") {
		t.Errorf("failure report %q", failed)
	}
	if testid(jd, "bulk-deleted").Length()+testid(jd, "bulk-gone").Length() != 0 {
		t.Error("a run Extend refused to delete is reported deleted")
	}
	if got := jd.Find(`[role="status"]`).Text(); !strings.Contains(got, "1 could not be deleted") {
		t.Errorf("summary %q", got)
	}
	if snap, err := env.st.GetRun(context.Background(), demoTenant, ids[0]); err != nil || snap.Deleted() {
		t.Errorf("history records a run gone that Extend kept: %v", err)
	}
}

// TestBulkDeleteCapped: "select all matching" takes at most 1,000 runs,
// and a job of more is refused.
func TestBulkDeleteCapped(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	seedHistory(t, env, true)
	var many []store.RunSnapshot
	for i := range views.MaxBulkRuns + 5 {
		many = append(many, store.RunSnapshot{RunID: fmt.Sprintf("edr_D%04d", i), RunFacts: store.RunFacts{
			Status: store.StatusFailed, FailureReason: "OUTPUT_TOO_LARGE", CreatedAt: time.Now().Add(-time.Duration(i) * time.Second)}})
	}
	if err := env.st.InsertSyntheticRuns(context.Background(), demoTenant, many); err != nil {
		t.Fatal(err)
	}
	all := strings.TrimPrefix(views.RunsBulkURL(testBase, demoWS, views.RunsFilter{Reason: "OUTPUT_TOO_LARGE"}), testBase)
	cd := env.post(all, url.Values{views.FieldBulkAction: {views.BulkDelete}, views.FieldBulkAll: {"1"}}).doc(t)
	if got := testid(cd, "bulk-count").Text(); got != fmt.Sprint(views.MaxBulkRuns) || testid(cd, "bulk-capped").Length() != 1 {
		t.Errorf("select all: count %q, capped note %d", got, testid(cd, "bulk-capped").Length())
	}
	if views.MaxBulkRuns != upstream.MaxJobRuns {
		t.Errorf("the page caps at %d, the job at %d", views.MaxBulkRuns, upstream.MaxJobRuns)
	}
	ids := make([]string, upstream.MaxJobRuns+1)
	for i := range ids {
		ids[i] = many[i].RunID
	}
	if _, err := env.app.Reruns.Start(context.Background(), upstream.RerunSpec{Conn: store.Connection{Tenant: demoTenant},
		RunIDs: ids, Delete: true}); err == nil {
		t.Error("a job of 1,001 runs started")
	}
}

// TestBulkDeleteViewerRefused: a viewer is offered no bulk bar and its
// bulk delete is refused, with nothing deleted or queued.
func TestBulkDeleteViewerRefused(t *testing.T) {
	env := proxyEnv(t)
	env.headers.Set("X-Forwarded-Email", "viewer@example.com")
	env.headers.Set("X-Forwarded-Groups", "audit")
	env.connect(demoKey, demoWS)
	seedHistory(t, env, true)
	_, ids := failedSandboxRuns(t, env)
	d := env.get("runs?ws=" + demoWS).doc(t)
	if testid(d, "bulk-delete").Length()+testid(d, "run-select").Length() != 0 {
		t.Error("a viewer is offered bulk delete")
	}
	r := env.post(strings.TrimPrefix(views.RunsBulkURL(testBase, demoWS, views.RunsFilter{}), testBase),
		url.Values{views.FieldBulkAction: {views.BulkDelete}, views.FieldBulkRun: ids[:1], views.ConfirmField: {"1"}})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(errorText(r), "viewer") {
		t.Fatalf("viewer bulk delete: %d %s", r.StatusCode, errorText(r))
	}
	if _, err := env.extend(demoKey, demoWS).GetEditRun(context.Background(), ids[0]); err != nil {
		t.Errorf("the viewer's bulk delete deleted the run: %v", err)
	}
	if entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditDelete}); err != nil || len(entries) != 0 {
		t.Errorf("audit after a refused bulk delete: %+v %v", entries, err)
	}
}
