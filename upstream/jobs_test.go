package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// An error kept in a job's row reads back as the kind of error the pages
// explain: the logout, a reason in the user's terms, Extend's answer, a
// network failure, a timeout.
func TestJobErrorsRoundTrip(t *testing.T) {
	apiErr := &extendapi.APIError{Method: "POST", Path: "/edit_runs", StatusCode: 402, Code: "USAGE_BLOCKED", Message: "out of credits", RequestID: "req_1"}
	tests := []struct {
		name string
		err  error
		is   error
	}{
		{"none", nil, nil},
		{"logout", ErrStoppedAtLogout, ErrStoppedAtLogout},
		{"said", errNoRerunFile, errNoRerunFile},
		{"extend", apiErr, extendapi.ErrPaymentRequired},
		{"network", &extendapi.NetworkError{Method: "GET", Path: "/edit_runs/edr_1", Timeout: true, Err: errors.New("i/o timeout")}, extendapi.ErrTimeout},
		{"timeout", context.DeadlineExceeded, context.DeadlineExceeded},
		{"other", errors.New("disk full"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeJobError(encodeJobError(tt.err))
			if (got == nil) != (tt.err == nil) {
				t.Fatalf("decoded %v, want %v", got, tt.err)
			}
			if got == nil {
				return
			}
			if got.Error() != tt.err.Error() {
				t.Errorf("text %q, want %q", got.Error(), tt.err.Error())
			}
			if tt.is != nil && !errors.Is(got, tt.is) {
				t.Errorf("%v does not match %v", got, tt.is)
			}
		})
	}
	var back *extendapi.APIError
	if !errors.As(decodeJobError(encodeJobError(apiErr)), &back) || !cmp.Equal(back, apiErr) {
		t.Errorf("Extend's error came back as %+v", back)
	}
}

// A job whose worker stopped beating is shown stopped with what it had
// done, the run in flight as unknown; resuming it starts only the runs
// not yet started, never the unknown one.
func TestBulkRerunLostWorkerResumes(t *testing.T) {
	env := newTestEnv(t, true)
	ctx := context.Background()
	ids := processedSandboxRuns(t, env, 3)
	conn, sid := storedConnection(t, env)
	jobs := newRerunJobs(t, env)
	spec, _ := json.Marshal(storedRerunSpec{Conn: conn, Reason: "X"})
	// A worker of another process did the first run and died with the
	// second in flight.
	if err := env.st.CreateJob(ctx, store.Job{ID: "rr_lost", Kind: jobKindRerun, Tenant: conn.Tenant, Worker: "w_dead", SessionID: sid, Actor: "ada",
		Spec: string(spec), StartedAt: env.st.Now()}, false, ids); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return env.st.StartJobItem(ctx, "rr_lost", "w_dead", 0) },
		func() error { return env.st.FinishJobItem(ctx, "rr_lost", 0, store.ItemCreated, "edr_before", "") },
		func() error { return env.st.StartJobItem(ctx, "rr_lost", "w_dead", 1) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	status := func() RerunStatus {
		t.Helper()
		st, err := jobs.Status(ctx, "rr_lost")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st.Finished || st.Lost || st.Done != 1 || st.Pending != 1 || st.Total != 3 || st.Reason != "X" {
		t.Fatalf("a beating job: %+v", st)
	}
	env.advance(store.JobLostAfter + time.Second)
	st := status()
	if !st.Finished || !st.Lost || !errors.Is(st.Stopped, ErrWorkerLost) || st.Done != 2 || st.Pending != 1 ||
		!cmp.Equal(st.Created, []string{"edr_before"}) || !cmp.Equal(st.Unknown, []string{ids[1]}) {
		t.Fatalf("a job whose worker died: %+v", st)
	}
	if len(st.Failed) != 1 || !errors.Is(st.Failed[0].Err, ErrRerunUnknown) {
		t.Errorf("the run in flight is not explained as unknown: %+v", st.Failed)
	}

	j, err := jobs.Resume(ctx, "rr_lost")
	if err != nil {
		t.Fatal(err)
	}
	p := waitRerun(t, j)
	if p.Lost || p.Stopped != nil || p.Pending != 0 || len(p.Created) != 2 || p.Created[0] != "edr_before" || !cmp.Equal(p.Unknown, []string{ids[1]}) {
		t.Fatalf("after resuming: %+v", p)
	}
	reruns, _, err := env.st.ListAudit(ctx, store.AuditFilter{Tenant: demoTenant, Action: store.AuditRerun})
	if err != nil {
		t.Fatal(err)
	}
	if len(reruns) != 1 || !strings.Contains(reruns[0].Detail, ids[2]) {
		t.Errorf("resuming re-ran %+v, want only %s", reruns, ids[2])
	}
	if _, err := jobs.Status(ctx, "rr_none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("status of no job: %v", err)
	}
}

// A walk whose worker stopped beating is shown stopped with what it had
// done, and no longer keeps another from starting.
func TestBackfillLostWorker(t *testing.T) {
	env := newTestEnv(t, true)
	conn, sid := storedConnection(t, env)
	gate := make(chan struct{})
	b, wg := newBackfills(t, env, 0, gate)
	if !start(t, b, conn, sid) {
		t.Fatal("the first backfill did not start")
	}
	env.advance(store.JobLostAfter + time.Second)
	p, ok := progress(t, b)
	if !ok || p.Running || !p.Failed || p.Outcome != backfillLost {
		t.Errorf("a walk whose worker died: %+v", p)
	}
	if !start(t, b, conn, sid) {
		t.Fatal("a lost walk kept another from starting")
	}
	close(gate)
	wg.Wait()
	if p, _ := progress(t, b); p.Running || p.Failed || p.Seen == 0 {
		t.Errorf("the new walk: %+v", p)
	}
}
