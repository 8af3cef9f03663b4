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

func TestDownloadRedirectsToAFreshPDF(t *testing.T) {
	for _, mode := range []struct {
		name    string
		sandbox bool
	}{{"external deployment", false}, {"embedded sandbox", true}} {
		t.Run(mode.name, func(t *testing.T) {
			env := seededEnv(t, envOptions{sandboxMode: mode.sandbox})
			run := findRun(t, env, extendapi.StatusProcessed)
			r := env.get("runs/" + run.ID + "/download?ws=" + demoWS)
			if r.StatusCode != http.StatusFound {
				t.Fatalf("download: %d %s", r.StatusCode, errorText(r))
			}
			loc := location(t, r)
			if mode.sandbox && !strings.HasPrefix(loc, testBase+"_sandbox/blobs/") {
				t.Errorf("sandbox download goes to %q, want a path on the dashboard", loc)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Error("the redirect may be cached")
			}
			pdf := env.get(loc)
			if pdf.StatusCode != http.StatusOK || !strings.HasPrefix(pdf.body, "%PDF-") {
				t.Fatalf("presigned URL answered %d %q", pdf.StatusCode, pdf.body[:min(len(pdf.body), 40)])
			}
			entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditDownload, Target: run.ID})
			if err != nil || len(entries) != 1 {
				t.Fatalf("download audit: %v %v", entries, err)
			}
			// A failed run has nothing to download.
			failed := findRun(t, env, extendapi.StatusFailed)
			if r := env.get("runs/" + failed.ID + "/download?ws=" + demoWS); r.StatusCode != http.StatusConflict {
				t.Errorf("download of a failed run: %d", r.StatusCode)
			}
		})
	}
}

func TestRerunStartsANewRunWithTheSameInput(t *testing.T) {
	env := seededEnv(t, envOptions{})
	run := findRun(t, env, extendapi.StatusProcessed)
	r := env.post("runs/"+run.ID+"/rerun?ws="+demoWS, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("rerun: %d %s", r.StatusCode, errorText(r))
	}
	loc, _ := url.Parse(location(t, r))
	newID := strings.TrimPrefix(loc.Path, testBase+"runs/")
	if newID == run.ID || !strings.HasPrefix(newID, "edr_") || loc.Query().Get("ws") != demoWS {
		t.Fatalf("rerun redirects to %s", loc)
	}
	created, err := env.extend(demoKey, demoWS).GetEditRun(context.Background(), newID)
	if err != nil {
		t.Fatal(err)
	}
	if created.File.ID != run.File.ID || created.Config.Instructions != run.Config.Instructions {
		t.Errorf("re-run used file %s (want %s) or other instructions", created.File.ID, run.File.ID)
	}
	entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditRerun, Target: newID})
	if err != nil || len(entries) != 1 || !strings.Contains(entries[0].Detail, run.ID) {
		t.Fatalf("rerun audit: %+v %v", entries, err)
	}
	if flash := testid(env.get(loc.String()).doc(t), "flash").Text(); !strings.Contains(flash, "re-run of "+run.ID) {
		t.Errorf("flash %q", flash)
	}
}

func TestDeleteAsksThenDeletes(t *testing.T) {
	env := seededEnv(t, envOptions{})
	run := findRun(t, env, extendapi.StatusFailed)
	path := "runs/" + run.ID + "/delete?ws=" + demoWS

	// Without confirmation: a page naming the run, and nothing deleted.
	ask := env.post(path, nil)
	if ask.StatusCode != http.StatusOK {
		t.Fatalf("unconfirmed delete: %d %s", ask.StatusCode, errorText(ask))
	}
	d := ask.doc(t)
	if text := testid(d, "confirm-page").Text(); !strings.Contains(text, run.ID) {
		t.Errorf("confirmation does not name the run: %q", text)
	}
	if action := d.Find(`[data-testid="confirm-page"] form`).AttrOr("action", ""); action != testBase+path {
		t.Errorf("confirmation posts to %q", action)
	}
	if _, err := env.extend(demoKey, demoWS).GetEditRun(context.Background(), run.ID); err != nil {
		t.Fatalf("the run is gone before confirmation: %v", err)
	}

	done := env.post(path, url.Values{views.ConfirmField: {"1"}})
	if done.StatusCode != http.StatusSeeOther || location(t, done) != testBase+"runs?ws="+demoWS {
		t.Fatalf("confirmed delete: %d to %s", done.StatusCode, done.Header.Get("Location"))
	}
	if _, err := env.extend(demoKey, demoWS).GetEditRun(context.Background(), run.ID); err == nil {
		t.Error("the run still exists")
	}
	entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditDelete, Target: run.ID})
	if err != nil || len(entries) != 1 || entries[0].Tenant != "test/"+demoWS {
		t.Fatalf("delete audit: %+v %v", entries, err)
	}
	if flash := testid(env.get(location(t, done)).doc(t), "flash").Text(); !strings.Contains(flash, run.ID+" is deleted") {
		t.Errorf("flash %q", flash)
	}
	// Its page now explains.
	gone := env.get("runs/" + run.ID + "?ws=" + demoWS)
	if gone.StatusCode != http.StatusNotFound || !strings.Contains(errorText(gone), "deleted") {
		t.Errorf("deleted run page: %d %s", gone.StatusCode, errorText(gone))
	}
	// The audit page lists it.
	audit := env.get("audit?action=delete").doc(t)
	if n := testid(audit, "audit-row").Length(); n != 1 {
		t.Errorf("%d delete rows on the audit page", n)
	}
}
