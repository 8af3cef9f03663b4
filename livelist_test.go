package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/internal/testenv"
)

// TestRunsListShowsNewRunsInBrowser: a runs list open in Chromium while
// three runs are created in the sandbox (through its API, as another
// integration would) shows all three at its top, each with its final
// status, without a reload; its timer polls stay paused while the stream
// is open. The goal is within 5 s; the test allows far more, since
// the machine is shared, and logs how long it took.
func TestRunsListShowsNewRunsInBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	base, stopServe := startServeArgs(t, "--sandbox", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--log-level", "error")
	defer stopServe()
	owner := newUpstreamDashboard(t, base, base+"_sandbox/faults")
	owner.connect("sk_sandbox_demo", sandboxWorkspace)
	api := owner.sandboxAPI(base+"_sandbox", "sk_sandbox_demo", sandboxWorkspace)
	template, err := api.GetEditRun(context.Background(), owner.firstRunID(sandboxWorkspace))
	if err != nil {
		t.Fatal(err)
	}
	owner.setFaults(`{"processingTime": "1s"}`)

	tab, closeBrowser := testenv.StartBrowser(t, chromium, 1360, 900)
	defer closeBrowser()
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	holds := func(expr string) bool {
		ctx, cancel := context.WithTimeout(tab, 3*time.Second)
		defer cancel()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		return err == nil && ok
	}
	waitFor := func(what, expr string, limit time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for !holds(expr) {
			if time.Since(start) > limit {
				ctx, cancel := context.WithTimeout(tab, 3*time.Second)
				rows, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('[data-testid=run-row]')).slice(0, 5).map(r => r.dataset.runId + ':' + r.dataset.status).join(' ')`))
				cancel()
				t.Fatalf("waiting for %s (%s): top rows %s %v", what, expr, rows, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		return time.Since(start)
	}

	do("open dashboard", chromedp.Navigate(base))
	waitFor("connect page", `!!document.querySelector('[data-testid=connect-submit]')`, 30*time.Second)
	do("connect", chromedp.Click(chromedp.CSS(`[data-testid=connect-submit]`)))
	waitFor("runs page", `!!document.querySelector('[data-testid=runs-live]')`, 30*time.Second)
	do("open the runs list", chromedp.Navigate(base+"runs?ws="+sandboxWorkspace))
	waitFor("the list's stream", `!!document.querySelector('[data-testid=runs-live][data-sse-open]')`, 30*time.Second)
	// A mark that a reload would wipe.
	do("mark the page", chromedp.Evaluate[chromedp.Void](`window.editwatchNoReload = true`))

	var ids []string
	start := time.Now()
	for range 3 {
		run, err := api.CreateEditRun(context.Background(), &extendapi.CreateEditRunRequest{
			File: &extendapi.FileRef{ID: template.File.ID}, Config: template.Config})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	var finished []string
	for _, id := range ids {
		finished = append(finished, fmt.Sprintf(`['PROCESSED', 'FAILED'].includes((document.querySelector('[data-testid=run-row][data-run-id="%s"]') || {dataset: {}}).dataset.status)`, id))
	}
	waitFor("the three new runs, finished", strings.Join(finished, " && "), 30*time.Second)
	took := time.Since(start)
	t.Logf("all three new runs showed finished %s after they were created (goal: 5 s)", took.Round(100*time.Millisecond))

	if !holds(`window.editwatchNoReload === true`) {
		t.Error("the page reloaded")
	}
	top := fmt.Sprintf(`Array.from(document.querySelectorAll('[data-testid=run-row]')).slice(0, 3).map(r => r.dataset.runId).sort().join(',') === %q`,
		strings.Join(sortedCopy(ids), ","))
	if !holds(top) {
		t.Error("the new runs are not the list's top three rows")
	}
	if !holds(`document.querySelector('[data-live-new-bar]').hidden`) {
		t.Error("the new-runs bar shows on a list at its top")
	}
	// Swapped-in rows settle: none keeps the brief highlight (htmx-added).
	waitFor("the new rows to settle", `document.querySelectorAll('tr.htmx-added').length === 0`, 10*time.Second)

	// A run deleted by a teammate leaves the list, without a reload.
	owner.deleteRun(sandboxWorkspace, ids[1])
	waitFor("the deleted run's row to go", fmt.Sprintf(`!document.querySelector('[data-testid=run-row][data-run-id="%s"]')`, ids[1]), 30*time.Second)
	if !holds(`window.editwatchNoReload === true`) {
		t.Error("the page reloaded when a run was deleted")
	}

	// On the list's second page a new run only counts in the bar.
	do("open the second page", chromedp.Click(chromedp.CSS(`[data-testid=pager-next]`)))
	waitFor("the second page's stream", `location.search.includes('cursor=') && !!document.querySelector('[data-testid=runs-live][data-sse-open]')`, 30*time.Second)
	rowsBefore := `document.querySelectorAll('[data-testid=run-row]').length`
	var shown int
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	shown, err = chromedp.Run(ctx, chromedp.Evaluate[int](rowsBefore))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	run, err := api.CreateEditRun(context.Background(), &extendapi.CreateEditRunRequest{
		File: &extendapi.FileRef{ID: template.File.ID}, Config: template.Config})
	if err != nil {
		t.Fatal(err)
	}
	waitFor("the new-runs bar", `!document.querySelector('[data-live-new-bar]').hidden && document.querySelector('[data-live-new-count]').textContent === '1'`, 30*time.Second)
	if !holds(fmt.Sprintf(`%s === %d && !document.querySelector('[data-run-id="%s"]')`, rowsBefore, shown, run.ID)) {
		t.Error("a new run was inserted into the list's second page")
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
