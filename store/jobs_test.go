package store

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A job's items go pending -> started -> created or failed; a worker that
// dies leaves its job running with an old heartbeat (Lost), and resuming
// it marks what was in flight unknown and leaves the rest pending.
func TestJobLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		var clock atomic.Int64
		clock.Store(testStart.UnixMilli())
		now := func() time.Time { return time.UnixMilli(clock.Load()).UTC() }
		s := openMigrated(t, dsn, WithClock(now))
		ctx := context.Background()
		job := Job{ID: "rr_1", Kind: "rerun", Tenant: "t/ws", Worker: "w1", SessionID: "sess", Actor: "ada", Spec: `{"reason":"X"}`, StartedAt: now()}
		if err := s.CreateJob(ctx, job, false, []string{"edr_a", "edr_b", "edr_c"}); err != nil {
			t.Fatal(err)
		}
		if err := s.StartJobItem(ctx, "rr_1", "w1", 0); err != nil {
			t.Fatal(err)
		}
		if err := s.StartJobItem(ctx, "rr_1", "w1", 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("starting a started item: %v, want ErrNotFound", err)
		}
		if err := s.FinishJobItem(ctx, "rr_1", 0, ItemCreated, "edr_new", ""); err != nil {
			t.Fatal(err)
		}
		if err := s.StartJobItem(ctx, "rr_1", "w1", 1); err != nil {
			t.Fatal(err)
		}
		// The worker dies with item 1 in flight.
		clock.Add((JobLostAfter + time.Second).Milliseconds())
		got, err := s.GetJob(ctx, "rr_1")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != JobRunning || !got.Lost(now()) || got.Spec != job.Spec || !got.StartedAt.Equal(job.StartedAt) {
			t.Fatalf("job after its worker died: %+v", got)
		}
		if err := s.ResumeJob(ctx, "rr_1", "w2"); err != nil {
			t.Fatal(err)
		}
		if err := s.ResumeJob(ctx, "rr_1", "w3"); !errors.Is(err, ErrJobRunning) {
			t.Errorf("resuming a beating job: %v, want ErrJobRunning", err)
		}
		// The old worker was only slow: its writes no longer count.
		for name, write := range map[string]func() error{
			"beat":  func() error { return s.BeatJob(ctx, "rr_1", "w1", "") },
			"start": func() error { return s.StartJobItem(ctx, "rr_1", "w1", 2) },
			"end":   func() error { return s.EndJob(ctx, "rr_1", "w1", "", "") },
		} {
			if err := write(); !errors.Is(err, ErrNotFound) {
				t.Errorf("old worker's %s: %v, want ErrNotFound", name, err)
			}
		}
		if err := s.ResumeJob(ctx, "rr_nope", "w2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("resuming no job: %v, want ErrNotFound", err)
		}
		items, err := s.JobItems(ctx, "rr_1")
		if err != nil {
			t.Fatal(err)
		}
		want := []JobItem{
			{Seq: 0, RunID: "edr_a", State: ItemCreated, NewRunID: "edr_new"},
			{Seq: 1, RunID: "edr_b", State: ItemUnknown},
			{Seq: 2, RunID: "edr_c", State: ItemPending},
		}
		if diff := cmp.Diff(want, items); diff != "" {
			t.Errorf("items after resuming (-want +got):\n%s", diff)
		}
		if err := s.StartJobItem(ctx, "rr_1", "w2", 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("an unknown item started again: %v", err)
		}
		if err := s.StartJobItem(ctx, "rr_1", "w2", 2); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishJobItem(ctx, "rr_1", 2, ItemFailed, "", "gone"); err != nil {
			t.Fatal(err)
		}
		if err := s.EndJob(ctx, "rr_1", "w2", `{"n":1}`, ""); err != nil {
			t.Fatal(err)
		}
		got, err = s.GetJob(ctx, "rr_1")
		if err != nil || got.State != JobEnded || got.Lost(now().Add(time.Hour)) || got.FinishedAt.IsZero() || got.Progress != `{"n":1}` {
			t.Errorf("ended job: %+v %v", got, err)
		}
		if _, err := s.GetJob(ctx, "rr_nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("no job: %v", err)
		}

		// Retention: a job that ended before the cutoff goes with its
		// items; a later one stays.
		clock.Add(time.Hour.Milliseconds())
		if err := s.CreateJob(ctx, Job{ID: "rr_2", Kind: "rerun", Tenant: "t/ws", Worker: "w", StartedAt: now()}, false, []string{"edr_d"}); err != nil {
			t.Fatal(err)
		}
		n, err := s.PurgeJobsBefore(ctx, now().Add(-time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("purged %d jobs (%v), want 1", n, err)
		}
		if _, err := s.GetJob(ctx, "rr_1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("purged job still there: %v", err)
		}
		if items, err := s.JobItems(ctx, "rr_1"); err != nil || len(items) != 0 {
			t.Errorf("purged job's items: %+v %v", items, err)
		}
		if _, err := s.GetJob(ctx, "rr_2"); err != nil {
			t.Errorf("a later job went: %v", err)
		}
	})
}

// One exclusive job of a kind runs per tenant, until it ends or its
// worker stops beating; LatestJob finds the newest.
func TestExclusiveJobs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		var clock atomic.Int64
		clock.Store(testStart.UnixMilli())
		now := func() time.Time { return time.UnixMilli(clock.Load()).UTC() }
		s := openMigrated(t, dsn, WithClock(now))
		ctx := context.Background()
		start := func(id, tenant string) error {
			return s.CreateJob(ctx, Job{ID: id, Kind: "backfill", Tenant: tenant, Worker: id, StartedAt: now()}, true, nil)
		}
		tests := []struct {
			name, id, tenant string
			advance          time.Duration
			end              string
			wantErr          error
			wantLatest       string
		}{
			{name: "first", id: "bf_1", tenant: "t/a", wantLatest: "bf_1"},
			{name: "twin refused", id: "bf_2", tenant: "t/a", advance: time.Second, wantErr: ErrJobRunning, wantLatest: "bf_1"},
			{name: "other tenant", id: "bf_3", tenant: "t/b", wantLatest: "bf_3"},
			{name: "after the first ended", id: "bf_4", tenant: "t/a", advance: time.Second, end: "bf_1", wantLatest: "bf_4"},
			{name: "after a lost worker", id: "bf_5", tenant: "t/a", advance: JobLostAfter + time.Second, wantLatest: "bf_5"},
		}
		for _, tt := range tests {
			clock.Add(tt.advance.Milliseconds())
			if tt.end != "" {
				if err := s.EndJob(ctx, tt.end, tt.end, "", ""); err != nil {
					t.Fatal(err)
				}
			}
			if err := start(tt.id, tt.tenant); !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: start = %v, want %v", tt.name, err, tt.wantErr)
			}
			latest, err := s.LatestJob(ctx, "backfill", tt.tenant)
			if err != nil || latest.ID != tt.wantLatest {
				t.Errorf("%s: latest = %q %v, want %q", tt.name, latest.ID, err, tt.wantLatest)
			}
		}
		if _, err := s.LatestJob(ctx, "backfill", "t/none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("latest of a tenant without jobs: %v", err)
		}
	})
}
