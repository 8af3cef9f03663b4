package handlers

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// TestBulkRerunShowsNewRunStatus: the progress page of a bulk re-run
// shows each new run's status as history records it, "not in history
// yet" before it arrives, and goes on polling after the job while a new
// run is still processing.
func TestBulkRerunShowsNewRunStatus(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true})
	env.connect(demoKey, demoWS)
	_, ids := failedSandboxRuns(t, env)
	if len(ids) < 2 {
		t.Fatalf("%d failed sandbox runs, want 2", len(ids))
	}
	r := env.post(strings.TrimPrefix(views.RunsBulkURL(testBase, demoWS, views.RunsFilter{}), testBase),
		url.Values{views.FieldBulkAction: {views.BulkRerun}, views.FieldBulkRun: ids[:2], views.ConfirmField: {"1"}})
	bulkJobID(t, env, r)
	page := location(t, r)

	statuses := func() (map[string]string, bool) {
		d := env.get(page).doc(t)
		got := map[string]string{}
		testid(d, "rerun-created").Each(func(_ int, s *goquery.Selection) {
			got[s.Text()] = strings.TrimSpace(s.Parent().Find(`[data-testid="rerun-created-status"]`).Text())
		})
		_, polling := testid(d, "rerun-progress").Attr("hx-get")
		return got, polling
	}
	before, polling := statuses()
	if len(before) != 2 {
		t.Fatalf("%d new runs listed, want 2", len(before))
	}
	var created []string
	for id, st := range before {
		created = append(created, id)
		if st != "not in history yet" {
			t.Errorf("run %s before history has it: %q", id, st)
		}
	}
	if polling {
		t.Error("a finished job whose runs history has not seen polls on")
	}

	ctx := context.Background()
	observe := func(id, status string) {
		t.Helper()
		if _, err := env.st.UpsertRuns(ctx, demoTenant, []store.RunObservation{{RunID: id, Via: store.ViaRefresh,
			RunFacts: store.RunFacts{Status: status, CreatedAt: time.Now()}}}); err != nil {
			t.Fatal(err)
		}
	}
	observe(created[0], store.StatusProcessing)
	observe(created[1], store.StatusProcessed)
	got, polling := statuses()
	if !strings.Contains(got[created[0]], "Processing") || !strings.Contains(got[created[1]], "Processed") {
		t.Errorf("statuses from history: %v", got)
	}
	if !polling {
		t.Error("the page stops polling while a new run is still processing")
	}
	observe(created[0], store.StatusFailed)
	if got, polling = statuses(); !strings.Contains(got[created[0]], "Failed") || polling {
		t.Errorf("after the last run finished: %v, polling %v", got, polling)
	}
}
