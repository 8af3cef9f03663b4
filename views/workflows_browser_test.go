package views

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/editwatch/editwatch/static"
)

// workflowPages serves the pages of the everyday workflows (history runs
// list with selection, bulk confirmation, a re-run's lineage) with the
// real assets under the strict CSP.
func workflowPages(t *testing.T) http.Handler {
	assets, err := static.New(testBasePath)
	if err != nil {
		t.Fatal(err)
	}
	base := func(nav string) Base {
		b := testBase(nav)
		b.Assets = assets
		b.SandboxBanner = false
		return b
	}
	page := func(w http.ResponseWriter, r *http.Request, c templ.Component) {
		w.Header().Set("Content-Security-Policy", browserCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := Render(r.Context(), w, c); err != nil {
			t.Errorf("render %s: %v", r.URL, err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+assets.Prefix(), assets)
	mux.HandleFunc("GET "+testBasePath+"runs", func(w http.ResponseWriter, r *http.Request) {
		p := fixtureHistoryRunsPage()
		p.Base = base(NavRuns)
		p.Filter = RunsFilter{}
		for i := range p.Rows {
			p.Rows[i].Selectable = true
		}
		p.Pager.NextURL = RunsURL(testBasePath, testWS, RunsFilter{}, "c1")
		page(w, r, RunsView(p))
	})
	mux.HandleFunc("GET "+testBasePath+"bulk-delete", func(w http.ResponseWriter, r *http.Request) {
		page(w, r, BulkConfirmView(BulkConfirmPage{Base: base(NavRuns), Action: BulkDelete, Count: 42,
			ActionURL: RunsBulkURL(testBasePath, testWS, RunsFilter{}), CancelURL: RunsURL(testBasePath, testWS, RunsFilter{}, "")}))
	})
	mux.HandleFunc("GET "+testBasePath+"delete-progress", func(w http.ResponseWriter, r *http.Request) {
		page(w, r, RerunJobView(RerunJobPage{Base: base(NavRuns), ID: "dl_1", Delete: true, Total: 4, Done: 4, Finished: true,
			Deleted: []string{"edr_processed001", "edr_processed002"}, Gone: []string{"edr_failed000003"},
			Failed:    []RerunFailure{{RunID: "edr_processed004", Error: "Extend error (500): Extend answered with a server error; try again later."}},
			Workspace: testWS, BackURL: RunsURL(testBasePath, testWS, RunsFilter{}, "")}))
	})
	mux.HandleFunc("GET "+testBasePath+"bulk", func(w http.ResponseWriter, r *http.Request) {
		page(w, r, BulkConfirmView(BulkConfirmPage{Base: base(NavRuns), Action: BulkRerun, Count: 42, Credits: 96.5, NoUsage: 7,
			FailAgain: 5, FailAgainWhy: "CORRUPT_FILE: 3 · FILE_TYPE_NOT_SUPPORTED: 2",
			ActionURL: RunsBulkURL(testBasePath, testWS, RunsFilter{}), CancelURL: RunsURL(testBasePath, testWS, RunsFilter{}, "")}))
	})
	mux.HandleFunc("GET "+testBasePath+"runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		p := fixtureRunPage()
		p.Base = base(NavRuns)
		p.ID = r.PathValue("id")
		p.Lineage = &RunLineage{RerunOf: "edr_failed000001", RerunAs: []string{"edr_processed010"}}
		page(w, r, RunView(p))
	})
	return mux
}

// TestBrowserWorkflows: on the runs list the first run is within 10 Tab
// presses (from the document's top on a 390 px phone, and from the main
// content on a desktop, which the skip link reaches), a 390 px phone never
// scrolls sideways, "?" shows the shortcuts, and ticking a run shows the
// bulk bar. With EDITWATCH_SCREENSHOTS=dir it also writes the screenshots
// of the runs list with a selection, a bulk confirmation and a lineage.
func TestBrowserWorkflows(t *testing.T) {
	chromium := findChromium(t)
	srv := httptest.NewServer(workflowPages(t))
	defer srv.Close()
	ctx, closeBrowser := testenv.StartBrowser(t, chromium, 1280, 900)
	defer closeBrowser()
	do := func(t *testing.T, name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(stepCtx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	eval := func(t *testing.T, expr string) string {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		v, err := chromedp.Run(stepCtx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	jsReady := chromedp.Poll[chromedp.Void](`!document.querySelector('[data-live-toggle]') || !document.querySelector('[data-live-toggle]').hidden`,
		chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))
	open := func(t *testing.T, path string) {
		t.Helper()
		do(t, "open "+path, chromedp.Navigate(srv.URL+testBasePath+path), jsReady)
	}
	// tabsToFirstRun presses Tab until the first run's link has focus.
	tabsToFirstRun := func(t *testing.T) int {
		t.Helper()
		for n := 1; n <= 40; n++ {
			do(t, "tab", chromedp.KeyEvent(kb.Tab))
			if eval(t, `String(document.activeElement === document.querySelector('a[data-row-link]'))`) == "true" {
				return n
			}
			if os.Getenv("EDITWATCH_TAB_TRACE") != "" {
				t.Logf("tab %d: %s", n, eval(t, `(function(e){return e.tagName+' '+(e.id||'')+' '+(e.getAttribute('data-testid')||'')+' '+(e.textContent||'').trim().slice(0,30)})(document.activeElement)`))
			}
		}
		t.Fatal("Tab never reached the first run")
		return 0
	}
	scrollWidth := func(t *testing.T) int {
		t.Helper()
		w, err := strconv.Atoi(eval(t, `String(document.documentElement.scrollWidth)`))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	shots := os.Getenv("EDITWATCH_SCREENSHOTS")
	shoot := func(t *testing.T, name string) {
		t.Helper()
		if shots == "" {
			return
		}
		for _, theme := range []string{ThemeLight, ThemeDark} {
			do(t, "theme", chromedp.Evaluate[chromedp.Void](`document.documentElement.classList.toggle('dark', `+fmt.Sprint(theme == ThemeDark)+`)`),
				// No colour transition caught halfway in the picture.
				chromedp.Poll[chromedp.Void](`document.getAnimations().every(a => !(a instanceof CSSTransition) || a.playState !== 'running')`,
					chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
			stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			png, err := chromedp.Run(stepCtx, chromedp.FullScreenshot(100))
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(shots, name+"-"+theme+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		do(t, "theme back", chromedp.Evaluate[chromedp.Void](`document.documentElement.classList.remove('dark')`))
	}

	t.Run("phone", func(t *testing.T) {
		do(t, "phone", chromedp.EmulateViewport(390, 844))
		open(t, "runs?ws="+testWS)
		if w := scrollWidth(t); w > 390 {
			t.Errorf("at 390 px the runs list is %d px wide: it scrolls sideways", w)
		}
		if got := eval(t, `String(document.querySelector('[data-testid=runs-filter] details').open)`); got != "false" {
			t.Error("the filters are not behind one button")
		}
		do(t, "top", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`))
		n := tabsToFirstRun(t)
		t.Logf("390 px: the first run is %d Tab presses from the top of the page", n)
		if n > 10 {
			t.Errorf("the first run takes %d Tab presses, want at most 10", n)
		}
		shoot(t, "runs-phone")
		open(t, "runs/edr_processed009?ws="+testWS)
		if w := scrollWidth(t); w > 390 {
			t.Errorf("the run page at 390 px is %d px wide", w)
		}
	})

	t.Run("desktop", func(t *testing.T) {
		do(t, "desktop", chromedp.EmulateViewport(1280, 900))
		open(t, "runs?ws="+testWS)
		// The skip link's target: the top of the page's own content.
		do(t, "skip to content", chromedp.Evaluate[chromedp.Void](`document.getElementById('main').focus()`))
		n := tabsToFirstRun(t)
		t.Logf("1280 px: the first run is %d Tab presses from the main content", n)
		if n > 10 {
			t.Errorf("the first run takes %d Tab presses from the content, want at most 10", n)
		}

		do(t, "?", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); document.body.dispatchEvent(new KeyboardEvent('keydown', {key: '?', bubbles: true, cancelable: true}))`))
		if got := eval(t, `String(!!document.querySelector('dialog[open][data-testid=shortcuts-dialog]'))`); got != "true" {
			t.Fatal("? does not show the shortcuts")
		}
		do(t, "close", chromedp.KeyEvent(kb.Escape))

		if got := eval(t, `String(document.querySelector('[data-bulk-controls]').hidden)`); got != "true" {
			t.Error("the bulk buttons show before anything is selected")
		}
		do(t, "tick two runs", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('[data-testid=run-select]').forEach((b, i) => { if (i === 1 || i === 2) b.click(); })`))
		if got := eval(t, `String(document.querySelector('[data-bulk-controls]').hidden)`); got != "false" {
			t.Error("ticking runs does not show the bulk buttons")
		}
		shoot(t, "runs-selection")
		open(t, "bulk")
		shoot(t, "bulk-confirm")
		open(t, "bulk-delete")
		if got := eval(t, `document.querySelector('[data-testid=bulk-confirm-submit]').textContent`); got != "Delete 42 runs" {
			t.Errorf("the delete confirmation's button says %q", got)
		}
		shoot(t, "bulk-delete-confirm")
		open(t, "delete-progress")
		shoot(t, "bulk-delete-progress")
		open(t, "runs/edr_processed009?ws="+testWS)
		if eval(t, `document.querySelector('[data-testid=lineage-rerun-of]').textContent`) != "edr_failed000001" {
			t.Error("no lineage on the run page")
		}
		shoot(t, "run-lineage")
	})
}
