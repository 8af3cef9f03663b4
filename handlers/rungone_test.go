package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// TestRunExtendNoLongerHas: a run in history that Extend answers 404 for
// opens a page with what history recorded and why the live data is
// missing, and marking it gone is audited.
func TestRunExtendNoLongerHas(t *testing.T) {
	env := newLiveEnv(t, envOptions{seed: true})
	env.connect(demoKey, demoWS)
	seedHistory(t, env, true)
	if r := env.get("runs?ws=" + demoWS); r.StatusCode != http.StatusOK { // grants the tenant
		t.Fatalf("runs: %d", r.StatusCode)
	}

	r := env.get("runs/edr_Pa?ws=" + demoWS)
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("run Extend does not have: %d %s", r.StatusCode, errorText(r))
	}
	d := r.doc(t)
	if got := testid(d, "error-recorded").Text(); !strings.Contains(got, "PROCESSED") || !strings.Contains(got, "w9-a.pdf") {
		t.Errorf("recorded facts = %q", got)
	}
	if got := testid(d, "error-explanation").Text(); !strings.Contains(got, "deleted") || !strings.Contains(got, "older than Extend keeps runs") {
		t.Errorf("explanation = %q", got)
	}
	form := testid(d, "mark-gone").Closest("form")
	if form.Length() != 1 {
		t.Fatal("no mark-gone form")
	}
	action := form.AttrOr("action", "")
	if r := env.post(action, url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark gone: %d %s", r.StatusCode, errorText(r))
	}
	snap, err := env.st.GetRun(context.Background(), demoTenant, "edr_Pa")
	if err != nil || !snap.Deleted() {
		t.Fatalf("history after mark gone: deleted=%v, %v", snap.Deleted(), err)
	}
	entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditMarkGone, Target: "edr_Pa"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("mark-gone audit: %v %v", entries, err)
	}

	again := env.get("runs/edr_Pa?ws=" + demoWS).doc(t)
	if testid(again, "mark-gone").Length() != 0 || !strings.Contains(testid(again, "error-explanation").Text(), "already marks it gone") {
		t.Errorf("a run already gone is offered again: %q", testid(again, "error-explanation").Text())
	}

	// A run Extend still has cannot be marked gone.
	list, err := env.extend(demoKey, demoWS).ListEditRuns(context.Background(), extendapi.ListEditRunsParams{MaxPageSize: 1})
	if err != nil || len(list.Data) == 0 {
		t.Fatalf("list runs: %v", err)
	}
	if r := env.post(strings.TrimPrefix(views.RunGoneURL(testBase, demoWS, list.Data[0].ID), testBase), url.Values{}); r.StatusCode != http.StatusConflict {
		t.Errorf("mark gone of a live run: %d", r.StatusCode)
	}
}

// TestMalformedRunIDKeepsTheHeader: a malformed run ID is a 404 in the
// connected layout (workspace switcher), not the logged-out one.
func TestMalformedRunIDKeepsTheHeader(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	r := env.get("runs/not%20a%20run!?ws=" + demoWS)
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", r.StatusCode)
	}
	d := r.doc(t)
	if testid(d, "workspace-switcher").Length() == 0 || testid(d, "disconnect-form").Length() == 0 {
		t.Errorf("the 404 of a malformed ID lacks the connected header: %s", errorText(r))
	}
}

// TestDismissStuckRun: the stuck-runs list offers to dismiss a run; once
// dismissed (audited) it is off the list and its count.
func TestDismissStuckRun(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	seedHistory(t, env, true)
	d := env.get("runs?ws=" + demoWS + "&stuck=1").doc(t)
	row := d.Find(`[data-testid="run-row"][data-run-id="edr_Stuck"]`)
	form := row.Find(`[data-testid="dismiss-form"]`)
	if form.Length() != 1 || testid(d, "stuck-count").Length() != 1 {
		t.Fatalf("the stuck list offers no dismissal: %s", testid(d, "runs-table").Text())
	}
	if r := env.post(form.AttrOr("action", ""), url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("dismiss: %d %s", r.StatusCode, errorText(r))
	}
	after := env.get("runs?ws=" + demoWS + "&stuck=1").doc(t)
	if after.Find(`[data-run-id="edr_Stuck"]`).Length() != 0 || testid(after, "stuck-alert").Length() != 0 {
		t.Error("the dismissed run is still listed as stuck")
	}
	entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditDismiss, Target: "edr_Stuck"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("dismiss audit: %v %v", entries, err)
	}
	// A finished run cannot be dismissed.
	if r := env.post(strings.TrimPrefix(views.RunDismissURL(testBase, demoWS, "edr_Pa"), testBase), url.Values{}); r.StatusCode != http.StatusConflict {
		t.Errorf("dismiss a processed run: %d", r.StatusCode)
	}
}
