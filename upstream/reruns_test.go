package upstream

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// loggedOutConnection stores a connection of the demo workspace for a
// session, then logs that session out (its row and its keys go), as if its
// person had left while the job ran.
func loggedOutConnection(t *testing.T, env *testEnv) (store.Connection, string) {
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
func storedConnection(t *testing.T, env *testEnv) (store.Connection, string) {
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
	return c, sess.ID
}

// processedSandboxRuns returns n runs of the seeded sandbox whose input
// file still exists (a failed run's may not: FILE_NOT_FOUND and the like).
func processedSandboxRuns(t *testing.T, env *testEnv, n int) []string {
	t.Helper()
	cl := env.extend(t, demoKey, demoWS)
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

// newRerunJobs is the registry of env's jobs.
func newRerunJobs(t *testing.T, env *testEnv) *RerunJobs {
	t.Helper()
	jobs, err := NewRerunJobs(RerunOptions{Store: env.st, Keys: env.keys, Logger: env.logger})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// startRerun stores a job of jobs and starts it.
func startRerun(t *testing.T, jobs *RerunJobs, spec RerunSpec) *RerunJob {
	t.Helper()
	j, err := jobs.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// waitRerun waits for j's worker to end and returns the job as its row
// says.
func waitRerun(t *testing.T, j *RerunJob) RerunProgress {
	t.Helper()
	select {
	case <-j.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("bulk re-run did not finish")
	}
	st, err := j.jobs.Status(context.Background(), j.ID())
	if err != nil {
		t.Fatal(err)
	}
	return st.RerunProgress
}

// A bulk re-run whose person logged out stops before its next run when the
// workspace has no service key: keys live in sessions.
func TestBulkRerunStopsAtLogout(t *testing.T) {
	env := newTestEnv(t, true)
	ids := processedSandboxRuns(t, env, 3)
	conn, sid := loggedOutConnection(t, env)

	j := startRerun(t, newRerunJobs(t, env), RerunSpec{Conn: conn, SessionID: sid, Actor: "ada", Reason: "X",
		RunIDs: ids, Started: time.Now()})
	p := waitRerun(t, j)
	if len(p.Created) != 0 || p.Done != 0 {
		t.Fatalf("after logout the job still started %d runs (%d done)", len(p.Created), p.Done)
	}
	if p.Stopped == nil || !strings.Contains(p.Stopped.Error(), "logged out") || !strings.Contains(p.Stopped.Error(), "service key") {
		t.Errorf("stopped = %v, want it to say the person logged out and there is no service key", p.Stopped)
	}
}

// With a service key the job goes on after logout, every use audited and
// every new run attributed to the service key.
func TestBulkRerunContinuesWithServiceKey(t *testing.T) {
	env := newTestEnv(t, true)
	ids := processedSandboxRuns(t, env, 3)
	ctx := context.Background()
	fp, err := env.st.SetServiceKey(ctx, demoTenant, demoKey, "grace")
	if err != nil {
		t.Fatal(err)
	}
	conn, sid := loggedOutConnection(t, env)

	j := startRerun(t, newRerunJobs(t, env), RerunSpec{Conn: conn, SessionID: sid, Actor: "ada", Reason: "X",
		RunIDs: ids, Started: time.Now()})
	p := waitRerun(t, j)
	if len(p.Created) != len(ids) || p.Stopped != nil {
		t.Fatalf("%d of %d runs started with the service key; stopped %v; failed %+v", len(p.Created), len(ids), p.Stopped, p.Failed)
	}
	if p.ServiceKey != fp {
		t.Errorf("progress names service key %q, want %q", p.ServiceKey, fp)
	}
	uses, _, err := env.st.ListAudit(ctx, store.AuditFilter{Tenant: demoTenant, Action: AuditServiceKeyUse})
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != 1 || !strings.Contains(uses[0].Detail, j.ID()) || uses[0].Target != fp {
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
	// Each new run records which run it re-ran.
	for i, created := range p.Created {
		l, err := env.st.RunLineage(ctx, demoTenant, created)
		if err != nil || l.RerunOf != ids[i] {
			t.Errorf("run %s: lineage %+v (%v), want a re-run of %s", created, l, err, ids[i])
		}
	}
}

// A failed run whose input never became a file (a file URL Extend could
// not download) cannot be re-run; the progress page says why in the
// user's terms.
func TestBulkRerunExplainsMissingInputFile(t *testing.T) {
	env := newTestEnv(t, true)
	cl := env.extend(t, demoKey, demoWS)
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
	j := startRerun(t, newRerunJobs(t, env), RerunSpec{Conn: conn, SessionID: sid, Actor: "ada", Reason: "X",
		RunIDs: []string{id}, Started: time.Now()})
	p := waitRerun(t, j)
	if len(p.Failed) != 1 || !strings.Contains(p.Failed[0].Err.Error(), "no longer has its input file") {
		t.Fatalf("failed = %+v, want the missing input file explained", p.Failed)
	}
}
