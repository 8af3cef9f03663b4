package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// A group of runs Extend never had a file for offers no re-run, and a
// forged POST for it is refused with a reason.
func TestFailuresGroupWithoutFilesOffersNoRerun(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true})
	env.connect(demoKey, demoWS)
	failedSandboxRuns(t, env) // records every failed run in history
	reason := string(extendapi.ReasonUnableToDownloadFile)
	d := env.get("failures?ws=" + demoWS).doc(t)
	group := d.Find(`[data-testid="failure-group"][data-reason="` + reason + `"]`)
	if group.Length() != 1 {
		t.Skip("the seeded sandbox has no " + reason + " run")
	}
	if group.Find(`[data-testid="group-rerun-form"]`).Length() != 0 || group.Find(`[data-testid="group-not-rerunnable"]`).Length() != 1 {
		t.Fatal("a group without files offers a re-run")
	}
	r := env.post(views.FailuresRerunURL(testBase, demoWS, reason, views.TimeRange{}), url.Values{views.ConfirmField: {"1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("forged re-run: %d %s", r.StatusCode, errorText(r))
	}
	if flash := testid(env.get(location(t, r)).doc(t), "flash").Text(); !strings.Contains(flash, "cannot be re-run") {
		t.Errorf("flash after a forged re-run = %q", flash)
	}
}

// A bulk re-run whose process died is shown stopped, with what it had
// done and the run that was in flight as unknown; resuming it starts only
// the runs not yet started.
func TestRerunJobStoppedAndResumed(t *testing.T) {
	var ahead atomic.Int64
	env := newTestEnv(t, envOptions{seed: true, storeClock: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }})
	env.connect(demoKey, demoWS)
	reason, ids := failedSandboxRuns(t, env)
	if len(ids) < 2 {
		t.Fatalf("the most common failure has %d runs, want at least 2", len(ids))
	}
	ctx := context.Background()
	// A job started through the page names the session.
	r := env.post(views.FailuresRerunURL(testBase, demoWS, reason, views.TimeRange{}), url.Values{views.ConfirmField: {"1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed re-run: %d %s", r.StatusCode, errorText(r))
	}
	first := jobIDOf(t, location(t, r))
	if job, ok := env.app.Reruns.Get(first); ok {
		select {
		case <-job.Done():
		case <-time.After(60 * time.Second):
			t.Fatal("bulk re-run did not finish")
		}
	}
	firstJob, err := env.st.GetJob(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	sid := firstJob.SessionID
	conns, err := env.st.ListConnections(ctx, sid)
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections %+v: %v", conns, err)
	}
	// Another process started the job and died with its first run in
	// flight.
	spec, _ := json.Marshal(map[string]any{"conn": conns[0], "reason": reason})
	if err := env.st.CreateJob(ctx, store.Job{ID: "rr_lost", Kind: "rerun", Tenant: demoTenant, Worker: "w_dead", SessionID: sid, Actor: "ada",
		Spec: string(spec), StartedAt: env.st.Now()}, false, ids); err != nil {
		t.Fatal(err)
	}
	if err := env.st.StartJobItem(ctx, "rr_lost", "w_dead", 0); err != nil {
		t.Fatal(err)
	}
	jobURL := views.JobURL(testBase, demoWS, "rr_lost")
	// Job pages lived under /failures/rerun/ before delete jobs shared
	// them: a link shared then still leads to the job.
	legacy := strings.Replace(jobURL, jobURLPrefix, testBase+"failures/rerun/", 1)
	if r := env.get(legacy); r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != jobURL {
		t.Errorf("GET %s: %d to %q, want 301 to %s", legacy, r.StatusCode, r.Header.Get("Location"), jobURL)
	}
	if d := env.get(jobURL).doc(t); testid(d, "rerun-progress").AttrOr("data-finished", "") != "false" || testid(d, "rerun-resume-form").Length() != 0 {
		t.Fatal("a job whose worker beats is shown stopped")
	}
	// A bulk delete's page speaks of a delete, not a re-run.
	deleteSpec, _ := json.Marshal(map[string]any{"conn": conns[0], "delete": true})
	if err := env.st.CreateJob(ctx, store.Job{ID: "dl_busy", Kind: "delete", Tenant: demoTenant, Worker: "w_alive", SessionID: sid, Actor: "ada",
		Spec: string(deleteSpec), StartedAt: env.st.Now()}, false, ids); err != nil {
		t.Fatal(err)
	}
	if r := env.post(views.JobResumeURL(testBase, demoWS, "dl_busy"), url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("resuming a running delete: %d %s", r.StatusCode, errorText(r))
	} else if flash := testid(env.get(location(t, r)).doc(t), "flash").Text(); !strings.Contains(flash, "This delete is still running.") {
		t.Errorf("flash after resuming a running delete = %q", flash)
	}
	ahead.Store(int64(store.JobLostAfter + time.Second))

	d := env.get(jobURL).doc(t)
	if testid(d, "rerun-progress").AttrOr("data-finished", "") != "true" {
		t.Error("a job whose worker died still polls")
	}
	if got := testid(d, "rerun-stopped").Text(); !strings.Contains(got, "stopped before the end") {
		t.Errorf("stopped = %q", got)
	}
	if got := testid(d, "rerun-failed").Text(); !strings.Contains(got, ids[0]) || !strings.Contains(got, "Unknown") || !strings.Contains(got, "credits") {
		t.Errorf("the run in flight is shown as %q", got)
	}
	if got := strings.Join(strings.Fields(testid(d, "rerun-resume").Text()), " "); got != "Resume: start the "+views.RunsCount(len(ids)-1)+" not yet started" {
		t.Errorf("resume button = %q", got)
	}
	action := testid(d, "rerun-resume-form").AttrOr("action", "")
	r = env.post(action, url.Values{})
	if r.StatusCode != http.StatusSeeOther || location(t, r) != jobURL {
		t.Fatalf("resume: %d %s", r.StatusCode, errorText(r))
	}
	job, ok := env.app.Reruns.Get("rr_lost")
	if !ok {
		t.Fatal("resuming did not start a worker")
	}
	select {
	case <-job.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the resumed re-run did not finish")
	}
	d = env.get(jobURL).doc(t)
	if got := testid(d, "rerun-created").Length(); got != len(ids)-1 {
		t.Errorf("%d runs started after resuming, want %d; failures: %s", got, len(ids)-1, testid(d, "rerun-failed").Text())
	}
	if testid(d, "rerun-failed").Length() != 1 || testid(d, "rerun-resume-form").Length() != 0 || testid(d, "rerun-stopped").Length() != 0 {
		t.Errorf("after resuming: failed %q, resume form %d, stopped %q", testid(d, "rerun-failed").Text(),
			testid(d, "rerun-resume-form").Length(), testid(d, "rerun-stopped").Text())
	}
	reruns, _, err := env.st.ListAudit(ctx, store.AuditFilter{Tenant: demoTenant, Action: store.AuditRerun})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range reruns {
		if strings.Contains(e.Detail, "re-run of "+ids[0]+" (bulk rr_lost)") {
			t.Errorf("the unknown run %s was started again: %+v", ids[0], e)
		}
	}
	if r := env.post(action, url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("resuming a finished job: %d %s", r.StatusCode, errorText(r))
	} else if flash := testid(env.get(location(t, r)).doc(t), "flash").Text(); !strings.Contains(flash, "no runs left") {
		t.Errorf("flash after resuming a finished job = %q", flash)
	}
}

// jobURLPrefix is the path that views.JobURL puts before a job's ID.
var jobURLPrefix = strings.TrimSuffix(views.JobURL(testBase, "", "x"), "x")

// jobIDOf is the ID of the job whose page jobURL is.
func jobIDOf(t *testing.T, jobURL string) string {
	t.Helper()
	path := strings.SplitN(jobURL, "?", 2)[0]
	if !strings.HasPrefix(path, jobURLPrefix) {
		t.Fatalf("%q is not a job page (%s…)", jobURL, jobURLPrefix)
	}
	return strings.TrimPrefix(path, jobURLPrefix)
}
