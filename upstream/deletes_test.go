package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// A bulk delete whose worker died is shown stopped in a delete's words,
// the run in flight as unknown (Extend may have deleted it); resuming it
// deletes only the runs not yet reached, counts a run Extend answers 404
// for as gone, hands each to OnDeleted and audits each.
func TestBulkDeleteLostWorkerResumes(t *testing.T) {
	env := newTestEnv(t, true)
	ctx := context.Background()
	ids := append(processedSandboxRuns(t, env, 3), "edr_neverInExtend")
	conn, sid := storedConnection(t, env)
	var (
		mu       sync.Mutex
		recorded []string
	)
	jobs, err := NewRerunJobs(RerunOptions{Store: env.st, Keys: env.keys, Logger: env.logger,
		OnDeleted: func(_ context.Context, tenant, runID string) error {
			mu.Lock()
			defer mu.Unlock()
			if tenant == conn.Tenant {
				recorded = append(recorded, runID)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(storedRerunSpec{Conn: conn, Delete: true})
	if err := env.st.CreateJob(ctx, store.Job{ID: "dl_lost", Kind: jobKindDelete, Tenant: conn.Tenant, Worker: "w_dead", SessionID: sid, Actor: "ada",
		Spec: string(spec), StartedAt: env.st.Now()}, false, ids); err != nil {
		t.Fatal(err)
	}
	if err := env.st.StartJobItem(ctx, "dl_lost", "w_dead", 0); err != nil {
		t.Fatal(err)
	}
	env.advance(store.JobLostAfter + time.Second)
	st, err := jobs.Status(ctx, "dl_lost")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Delete || !st.Lost || !errors.Is(st.Stopped, ErrDeleteWorkerLost) || st.Pending != 3 ||
		len(st.Failed) != 1 || !errors.Is(st.Failed[0].Err, ErrDeleteUnknown) {
		t.Fatalf("a delete whose worker died: %+v", st)
	}

	j, err := jobs.Resume(ctx, "dl_lost")
	if err != nil {
		t.Fatal(err)
	}
	p := waitRerun(t, j)
	if p.Stopped != nil || p.Pending != 0 || p.Done != 4 || len(p.Created) != 0 ||
		!cmp.Equal(p.Deleted, ids[1:3]) || !cmp.Equal(p.Gone, []string{"edr_neverInExtend"}) {
		t.Fatalf("after resuming: %+v", p)
	}
	cl := env.extend(t, demoKey, demoWS)
	if _, err := cl.GetEditRun(ctx, ids[0]); err != nil {
		t.Errorf("the run in flight was deleted again on resume: %v", err)
	}
	for _, id := range ids[1:3] {
		if _, err := cl.GetEditRun(ctx, id); !errors.Is(err, extendapi.ErrNotFound) {
			t.Errorf("Extend still has %s: %v", id, err)
		}
	}
	mu.Lock()
	slices.Sort(recorded)
	want := slices.Clone(ids[1:])
	slices.Sort(want)
	if !cmp.Equal(recorded, want) {
		t.Errorf("recorded in history: %v, want %v", recorded, want)
	}
	mu.Unlock()
	entries, _, err := env.st.ListAudit(ctx, store.AuditFilter{Tenant: demoTenant, Action: store.AuditDelete})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d audit entries, want 3: %+v", len(entries), entries)
	}
	for _, e := range entries {
		if e.Actor != "ada" || !strings.Contains(e.Detail, "(bulk dl_lost)") {
			t.Errorf("audit entry %+v", e)
		}
	}
}
