package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
)

// TestRerunLineage: a re-run made through Editwatch links back to its
// run, and the run links to it; a run without re-runs says why others
// may exist.
func TestRerunLineage(t *testing.T) {
	env := newLiveEnv(t, envOptions{seed: true})
	env.connect(demoKey, demoWS)
	env.get("runs?ws=" + demoWS) // grants the tenant
	list, err := env.extend(demoKey, demoWS).ListEditRuns(context.Background(),
		extendapi.ListEditRunsParams{Status: extendapi.StatusProcessed, MaxPageSize: 1})
	if err != nil || len(list.Data) != 1 {
		t.Fatalf("list runs: %v", err)
	}
	orig := list.Data[0].ID
	before := env.get("runs/" + orig + "?ws=" + demoWS).doc(t)
	if !strings.Contains(testid(before, "lineage-none").Text(), "Extend keeps no link") {
		t.Errorf("a run without re-runs says %q", testid(before, "run-lineage").Text())
	}
	r := env.post("runs/"+orig+"/rerun?ws="+demoWS, url.Values{})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("re-run: %d %s", r.StatusCode, errorText(r))
	}
	newRun := env.get(location(t, r)).doc(t)
	if got := testid(newRun, "lineage-rerun-of").Text(); got != orig {
		t.Errorf("the re-run links back to %q, want %s", got, orig)
	}
	created := strings.TrimSpace(testid(newRun, "run-id").Text())
	after := env.get("runs/" + orig + "?ws=" + demoWS).doc(t)
	if got := testid(after, "lineage-rerun-as").Text(); got != created {
		t.Errorf("the run links to re-run %q, want %s", got, created)
	}
}
