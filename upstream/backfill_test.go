package upstream

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
)

// newBackfills runs env's backfills on goroutines the test waits for,
// each once gate is closed.
func newBackfills(t *testing.T, env *testEnv, depth int, gate <-chan struct{}) (*Backfills, *sync.WaitGroup) {
	t.Helper()
	mon := monitor.New(env.st, nil, monitor.Options{Logger: env.logger})
	var wg sync.WaitGroup
	b, err := NewBackfills(BackfillOptions{Store: env.st, Keys: env.keys, Ingest: mon.IngestBackfill, Depth: depth, Logger: env.logger,
		Go: func(fn func(ctx context.Context)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				fn(context.Background())
			}()
		}})
	if err != nil {
		t.Fatal(err)
	}
	return b, &wg
}

// A backfill walks Extend's list into history with the session's key,
// marks the tenant synced, and refuses a second walk while one runs; the
// next walk stops at the runs history already has.
func TestBackfillWalksIntoHistory(t *testing.T) {
	env := newTestEnv(t, true)
	ctx := context.Background()
	conn, sid := storedConnection(t, env)
	gate := make(chan struct{})
	b, wg := newBackfills(t, env, 0, gate)
	if _, ok := progress(t, b); ok {
		t.Fatal("progress before any backfill")
	}
	if !start(t, b, conn, sid) {
		t.Fatal("the first backfill did not start")
	}
	if p, _ := progress(t, b); !p.Running || start(t, b, conn, sid) {
		t.Errorf("a second backfill started while the first runs (%+v)", p)
	}
	close(gate)
	wg.Wait()
	p, ok := progress(t, b)
	if !ok || p.Running || p.Failed || !strings.Contains(p.Outcome, "oldest run") {
		t.Fatalf("after the walk: %+v", p)
	}
	var all []extendapi.EditRun
	for token := ""; ; {
		page, err := env.extend(t, demoKey, demoWS).ListEditRuns(ctx, extendapi.ListEditRunsParams{MaxPageSize: 100, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Data...)
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if p.Seen != len(all) || p.New != len(all) || p.Pages < 2 {
		t.Errorf("saw %d runs in %d pages, %d new; the sandbox has %d", p.Seen, p.Pages, p.New, len(all))
	}
	for _, r := range all {
		if _, err := env.st.GetRun(ctx, demoTenant, r.ID); err != nil {
			t.Errorf("run %s not in history: %v", r.ID, err)
		}
	}
	if tn, err := env.st.GetTenant(ctx, demoTenant); err != nil || tn.SyncedAt.IsZero() {
		t.Fatalf("tenant not marked synced: %+v %v", tn, err)
	}

	if !start(t, b, conn, sid) {
		t.Fatal("a later backfill did not start")
	}
	wg.Wait()
	if p, _ := progress(t, b); p.Failed || p.New != 0 || !strings.Contains(p.Outcome, "already had") {
		t.Errorf("a later walk over known runs: %+v", p)
	}
}

// A backfill whose person logged out stops, without a service key, and
// says why.
func TestBackfillStopsAtLogout(t *testing.T) {
	env := newTestEnv(t, true)
	conn, sid := loggedOutConnection(t, env)
	open := make(chan struct{})
	close(open)
	b, wg := newBackfills(t, env, 0, open)
	start(t, b, conn, sid)
	wg.Wait()
	p, _ := progress(t, b)
	if !p.Failed || p.Seen != 0 || p.Outcome != ErrStoppedAtLogout.Error() {
		t.Errorf("after logout: %+v", p)
	}
	if tn, err := env.st.GetTenant(context.Background(), demoTenant); err == nil && !tn.SyncedAt.IsZero() {
		t.Error("a stopped walk marked the tenant synced")
	}
}

// A first walk ends at the configured depth, after the page that
// reached it.
func TestBackfillStopsAtDepth(t *testing.T) {
	env := newTestEnv(t, true)
	conn, sid := storedConnection(t, env)
	open := make(chan struct{})
	close(open)
	b, wg := newBackfills(t, env, 150, open)
	start(t, b, conn, sid)
	wg.Wait()
	p, _ := progress(t, b)
	if p.Failed || p.Pages != 2 || p.Seen != 2*backfillPageSize || !strings.Contains(p.Outcome, "configured depth of 150 runs") {
		t.Errorf("walk to depth 150: %+v", p)
	}
}

// progress is the demo tenant's latest backfill.
func progress(t *testing.T, b *Backfills) (BackfillProgress, bool) {
	t.Helper()
	p, ok, err := b.Progress(context.Background(), demoTenant)
	if err != nil {
		t.Fatal(err)
	}
	return p, ok
}

// start starts a backfill and reports whether it did.
func start(t *testing.T, b *Backfills, conn store.Connection, sid string) bool {
	t.Helper()
	ok, err := b.Start(context.Background(), conn, sid)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
