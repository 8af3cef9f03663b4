package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// loggedOutConnection stores a connection of the demo workspace for a
// session, then logs that session out (its row and its keys go), as if its
// person had left while the job ran.
func loggedOutConnection(t *testing.T, env *testEnv) (connection, string) {
	t.Helper()
	conn, sid := storedConnection(t, env)
	if err := env.st.DeleteSession(context.Background(), sid); err != nil {
		t.Fatal(err)
	}
	if _, err := env.st.ConnectionKey(context.Background(), sid, conn.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key after logout: %v", err)
	}
	return conn, sid
}

// storedConnection stores a session with a connection of the demo
// workspace, as connecting does.
func storedConnection(t *testing.T, env *testEnv) (connection, string) {
	t.Helper()
	ctx := context.Background()
	sess, err := env.st.CreateSession(ctx, "", nil, store.SessionLifetime{Idle: time.Hour, Max: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, err := env.st.AddConnection(ctx, store.NewConnection{SessionID: sess.ID, Deployment: "test", BaseURL: env.sbURL,
		WorkspaceID: demoWS, Tenant: demoTenant, Key: demoKey})
	if err != nil {
		t.Fatal(err)
	}
	return connection{c}, sess.ID
}

// processedSandboxRuns returns n runs of the seeded sandbox whose input
// file still exists (a failed run's may not: FILE_NOT_FOUND and the like).
func processedSandboxRuns(t *testing.T, env *testEnv, n int) []string {
	t.Helper()
	cl, err := extendapi.New(demoKey, extendapi.WithBaseURL(env.sbURL), extendapi.WithWorkspace(demoWS))
	if err != nil {
		t.Fatal(err)
	}
	page, err := cl.ListEditRuns(context.Background(), extendapi.ListEditRunsParams{Status: extendapi.StatusProcessed, MaxPageSize: n})
	if err != nil || len(page.Data) != n {
		t.Fatalf("%d processed sandbox runs, want %d: %v", len(page.Data), n, err)
	}
	ids := make([]string, n)
	for i, r := range page.Data {
		ids[i] = r.ID
	}
	return ids
}

func waitRerun(t *testing.T, j *bulkRerun) rerunProgress {
	t.Helper()
	select {
	case <-j.done:
	case <-time.After(60 * time.Second):
		t.Fatal("bulk re-run did not finish")
	}
	return j.snapshot()
}

// A bulk re-run whose person logged out stops before its next run when the
// workspace has no service key: keys live in sessions.
func TestBulkRerunStopsAtLogout(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true})
	ids := processedSandboxRuns(t, env, 3)
	conn, sid := loggedOutConnection(t, env)

	j := env.app.Reruns.start(rerunSpec{tenant: demoTenant, ws: demoWS, sessionID: sid, actor: "ada", reason: "X",
		runIDs: ids, conn: conn, app: env.app, started: time.Now()})
	p := waitRerun(t, j)
	if len(p.created) != 0 || p.done != 0 {
		t.Fatalf("after logout the job still started %d runs (%d done)", len(p.created), p.done)
	}
	if !strings.Contains(p.stopped, "logged out") || !strings.Contains(p.stopped, "service key") {
		t.Errorf("stopped = %q, want it to say the person logged out and there is no service key", p.stopped)
	}
}

// With a service key the job goes on after logout, every use audited and
// every new run attributed to the service key.
func TestBulkRerunContinuesWithServiceKey(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true})
	ids := processedSandboxRuns(t, env, 3)
	ctx := context.Background()
	fp, err := env.st.SetServiceKey(ctx, demoTenant, demoKey, "grace")
	if err != nil {
		t.Fatal(err)
	}
	conn, sid := loggedOutConnection(t, env)

	j := env.app.Reruns.start(rerunSpec{tenant: demoTenant, ws: demoWS, sessionID: sid, actor: "ada", reason: "X",
		runIDs: ids, conn: conn, app: env.app, started: time.Now()})
	p := waitRerun(t, j)
	if len(p.created) != len(ids) || p.stopped != "" {
		t.Fatalf("%d of %d runs started with the service key; stopped %q; failed %+v", len(p.created), len(ids), p.stopped, p.failed)
	}
	if p.serviceKey != fp {
		t.Errorf("progress names service key %q, want %q", p.serviceKey, fp)
	}
	uses, _, err := env.st.ListAudit(ctx, store.AuditFilter{Tenant: demoTenant, Action: auditServiceKeyUse})
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != 1 || !strings.Contains(uses[0].Detail, j.id) || uses[0].Target != fp {
		t.Errorf("service key use audited as %+v, want one entry naming the job", uses)
	}
	reruns, _, err := env.st.ListAudit(ctx, store.AuditFilter{Tenant: demoTenant, Action: store.AuditRerun})
	if err != nil {
		t.Fatal(err)
	}
	if len(reruns) != len(ids) {
		t.Fatalf("%d re-run audit entries, want %d", len(reruns), len(ids))
	}
	for _, e := range reruns {
		if !strings.Contains(e.Actor, "service key "+fp) {
			t.Errorf("re-run %s attributed to %q, want the service key", e.Target, e.Actor)
		}
	}
}

// A failed run whose input never became a file (a file URL Extend could
// not download) cannot be re-run; the progress page says why in the
// user's terms.
func TestBulkRerunExplainsMissingInputFile(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true})
	cl, err := extendapi.New(demoKey, extendapi.WithBaseURL(env.sbURL), extendapi.WithWorkspace(demoWS))
	if err != nil {
		t.Fatal(err)
	}
	page, err := cl.ListEditRuns(context.Background(), extendapi.ListEditRunsParams{Status: extendapi.StatusFailed, MaxPageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, r := range page.Data {
		if r.FailureReason == extendapi.ReasonUnableToDownloadFile {
			id = r.ID
			break
		}
	}
	if id == "" {
		t.Fatal("the seeded sandbox has no UNABLE_TO_DOWNLOAD_FILE run")
	}
	conn, sid := storedConnection(t, env)
	j := env.app.Reruns.start(rerunSpec{tenant: demoTenant, ws: demoWS, sessionID: sid, actor: "ada", reason: "X",
		runIDs: []string{id}, conn: conn, app: env.app, started: time.Now()})
	p := waitRerun(t, j)
	if len(p.failed) != 1 || !strings.Contains(p.failed[0].Error, "no longer has its input file") {
		t.Fatalf("failed = %+v, want the missing input file explained", p.failed)
	}
}

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
