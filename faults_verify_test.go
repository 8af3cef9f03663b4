package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store"
)

// verifyExactlyOnce checks the store after every event has been
// acknowledged: each event stored once, verified and applied, nothing
// pending; each run's snapshot is what its event said; and the rollups
// count each finished run once (a second application of an event, or a
// lost one, shows in the counts and the credits).
func verifyExactlyOnce(t *testing.T, st *store.Store, endpoint string, events []faultEvent) {
	t.Helper()
	ctx := context.Background()
	stored := map[string][]store.WebhookEvent{}
	var before int64
	for {
		page, next, err := st.ListWebhookEvents(ctx, store.WebhookEventFilter{Tenant: faultTenant, EndpointID: endpoint, Before: before, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if !e.Verified {
				t.Errorf("a delivery was refused: %s", e.Error)
				continue
			}
			stored[e.EventID] = append(stored[e.EventID], e)
		}
		if next == 0 {
			break
		}
		before = next
	}
	if len(stored) != len(events) {
		t.Errorf("%d distinct events stored, want %d", len(stored), len(events))
	}
	if pending, err := st.PendingWebhookEvents(ctx, 0, 10); err != nil || len(pending) > 0 {
		t.Errorf("pending events: %d, %v", len(pending), err)
	}

	var want store.Aggregate
	want.Runs, want.Failures = map[string]int64{}, map[string]int64{}
	for _, e := range events {
		rows := stored[e.id]
		if len(rows) != 1 {
			t.Errorf("event %s stored %d times", e.id, len(rows))
			continue
		}
		row := rows[0]
		switch {
		case !row.Applied():
			t.Errorf("event %s never applied", e.id)
		case row.Error != "" || strings.HasPrefix(row.Outcome, "not applied"):
			t.Errorf("event %s applied with an error: %q %q", e.id, row.Outcome, row.Error)
		case e.kind == eventIgnored && !strings.HasPrefix(row.Outcome, "ignored"):
			t.Errorf("event %s: outcome %q, want ignored", e.id, row.Outcome)
		case e.kind != eventIgnored && !strings.HasPrefix(row.Outcome, e.runID+": new, "):
			// The run is new to history, so its only application says so;
			// a second one would have said "no change".
			t.Errorf("event %s: outcome %q, want the run's creation", e.id, row.Outcome)
		}
		if e.kind == eventIgnored {
			continue
		}
		run, err := st.GetRun(ctx, faultTenant, e.runID)
		if errors.Is(err, store.ErrNotFound) {
			t.Errorf("run %s of acknowledged event %s is not in history", e.runID, e.id)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		wantStatus := store.StatusProcessed
		if e.kind == eventFailed {
			wantStatus = store.StatusFailed
			want.Failures[e.reason]++
		}
		want.Runs[wantStatus]++
		want.Credits += e.credits
		gotCredits := 0.0
		if run.Credits != nil {
			gotCredits = *run.Credits
		}
		if run.Status != wantStatus || run.FailureReason != e.reason || gotCredits != e.credits {
			t.Errorf("run %s: %s %q %v credits, want %s %q %v", e.runID, run.Status, run.FailureReason, gotCredits, wantStatus, e.reason, e.credits)
		}
	}

	total, err := st.RunTotal(ctx, faultTenant, time.Now().Add(-48*time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if total.Runs[store.StatusProcessed] != want.Runs[store.StatusProcessed] || total.Runs[store.StatusFailed] != want.Runs[store.StatusFailed] ||
		total.Credits != want.Credits {
		t.Errorf("rollups count %v runs and %v credits, want %v and %v", total.Runs, total.Credits, want.Runs, want.Credits)
	}
	for reason, n := range want.Failures {
		if total.Failures[reason] != n {
			t.Errorf("rollups count %d failures %s, want %d", total.Failures[reason], reason, n)
		}
	}
}
