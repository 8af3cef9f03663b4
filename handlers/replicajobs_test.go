package handlers

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
	"github.com/editwatch/editwatch/views"
)

// Two Editwatch processes on one PostgreSQL database behind a load
// balancer: a bulk re-run started through one is followed to its end
// through the other, which never ran it; so is the history sync that
// connecting started.
func TestJobsSeenFromAnotherReplica(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	sb, err := sandbox.New(sandbox.Options{APIKeys: map[string]string{demoKey: demoWS}, Seed: true, SeedWorkspace: demoWS, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	sbSrv := httptest.NewServer(sb)
	t.Cleanup(sbSrv.Close)
	sealKey, sessKey := make([]byte, store.SealerKeySize), make([]byte, 32)
	_, _ = rand.Read(sealKey)
	_, _ = rand.Read(sessKey)

	starter := newReplica(t, dsn, sealKey, sessKey, sbSrv.URL)
	viewer := newReplica(t, dsn, sealKey, sessKey, sbSrv.URL)
	viewer.client = starter.client // one browser: cookies go to either replica
	starter.connect(demoKey, demoWS)

	// The sync connecting started on the starter, read on the viewer.
	deadline := time.Now().Add(60 * time.Second)
	for {
		p := testid(viewer.get("settings?ws="+demoWS).doc(t), "sync-progress")
		if p.AttrOr("data-running", "") == "false" {
			if !strings.Contains(p.Text(), "completed") {
				t.Fatalf("sync progress on the other replica: %q", p.Text())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other replica never saw the sync end: %q", p.Text())
		}
		time.Sleep(20 * time.Millisecond)
	}

	reason, ids := failedSandboxRuns(t, starter)
	r := starter.post(views.FailuresRerunURL(testBase, demoWS, reason, views.TimeRange{}), url.Values{views.ConfirmField: {"1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed re-run: %d %s", r.StatusCode, errorText(r))
	}
	jobURL := location(t, r)
	jobID := jobIDOf(t, jobURL)
	if _, ok := viewer.app.Reruns.Get(jobID); ok {
		t.Fatal("the viewer runs the job itself")
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		r := viewer.get(jobURL)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("progress on the other replica: %d %s", r.StatusCode, errorText(r))
		}
		d := r.doc(t)
		if testid(d, "rerun-progress").AttrOr("data-finished", "") == "true" {
			if got := testid(d, "rerun-created").Length(); got != len(ids) {
				t.Errorf("%d runs started, want %d; failures: %s", got, len(ids), testid(d, "rerun-failed").Text())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other replica never saw the re-run finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
