package handlers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store"
)

// loggedOutConnection stores a connection of the demo workspace for a
// session, then logs that session out (its row and its keys go), as if its
// person had left while the job ran.
func loggedOutConnection(t *testing.T, env *testEnv) (connection, string) {
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
	if err := env.st.DeleteSession(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.st.ConnectionKey(ctx, sess.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key after logout: %v", err)
	}
	return connection{c}, sess.ID
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
	_, ids := failedSandboxRuns(t, env)
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
	_, ids := failedSandboxRuns(t, env)
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
