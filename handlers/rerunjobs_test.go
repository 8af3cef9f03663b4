package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// A group of runs Extend never had a file for offers no re-run, and a
// forged POST for it is refused with a reason.
func TestFailuresGroupWithoutFilesOffersNoRerun(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true})
	env.connect(demoKey, demoWS)
	failedSandboxRuns(t, env) // records every failed run in history
	reason := string(extendapi.ReasonUnableToDownloadFile)
	d := env.get("failures?ws=" + demoWS).doc(t)
	group := d.Find(`[data-testid="failure-group"][data-reason="` + reason + `"]`)
	if group.Length() != 1 {
		t.Skip("the seeded sandbox has no " + reason + " run")
	}
	if group.Find(`[data-testid="group-rerun-form"]`).Length() != 0 || group.Find(`[data-testid="group-not-rerunnable"]`).Length() != 1 {
		t.Fatal("a group without files offers a re-run")
	}
	r := env.post(views.FailuresRerunURL(testBase, demoWS, reason, views.TimeRange{}), url.Values{views.ConfirmField: {"1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("forged re-run: %d %s", r.StatusCode, errorText(r))
	}
	if flash := testid(env.get(location(t, r)).doc(t), "flash").Text(); !strings.Contains(flash, "cannot be re-run") {
		t.Errorf("flash after a forged re-run = %q", flash)
	}
}
