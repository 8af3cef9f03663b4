package views

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/editwatch/editwatch/static"
)

// browserCSP is as strict as the dashboard's: scripts only with the nonce or
// from our origin, no inline styles, no eval.
const browserCSP = "default-src 'none'; script-src 'self' 'nonce-" + testNonce + "'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func findChromium(t *testing.T) string {
	t.Helper()
	return testenv.Chromium(t)
}

// browserFixture serves the pages with the real embedded assets under the
// strict CSP and records what the page sends back.
type browserFixture struct {
	rowPolls  atomic.Int64
	mu        sync.Mutex
	deletions []url.Values
}

func (f *browserFixture) handler(t *testing.T) http.Handler {
	assets, err := static.New(testBasePath)
	if err != nil {
		t.Fatal(err)
	}
	base := func(nav string) Base {
		b := testBase(nav)
		b.Assets = assets
		b.PollInterval = time.Second
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
		p := fixtureRunsPage()
		p.Base = base(NavRuns)
		page(w, r, RunsView(p))
	})
	mux.HandleFunc("GET "+testBasePath+"runs/{id}/row", func(w http.ResponseWriter, r *http.Request) {
		f.rowPolls.Add(1)
		row := fixtureRunsPage().Rows[0]
		row.ID = r.PathValue("id")
		page(w, r, RunRow(base(NavRuns), row))
	})
	mux.HandleFunc("GET "+testBasePath+"runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		p := fixtureRunPage()
		p.Base = base(NavRuns)
		p.ID = r.PathValue("id")
		page(w, r, RunView(p))
	})
	mux.HandleFunc("GET "+testBasePath+"confirm", func(w http.ResponseWriter, r *http.Request) {
		// The widest a run's delete confirmation gets: an ID of wide
		// letters and the longest of the sandbox's file names.
		id := "edr_" + strings.Repeat("W", 24)
		page(w, r, ConfirmView(ConfirmPage{Base: base(NavRuns), Heading: "Delete run " + id + "?",
			Message:   "Extend permanently deletes run " + id + " (vendor-onboarding-stark-industries.pdf) and all its data, including the edited PDF. This cannot be undone.",
			ActionURL: testBasePath + "runs/" + id + "/delete", ConfirmLabel: "Delete run", CancelURL: testBasePath + "runs/" + id}))
	})
	mux.HandleFunc("POST "+testBasePath+"runs/{id}/delete", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		f.mu.Lock()
		f.deletions = append(f.deletions, r.PostForm)
		f.mu.Unlock()
		http.Redirect(w, r, testBasePath+"runs?ws="+testWS, http.StatusSeeOther)
	})
	return mux
}

func (f *browserFixture) deleted() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.deletions...)
}

// TestBrowserBehaviour drives app.js and htmx in headless Chromium under the
// strict CSP: theme choice, "/" search, j/k/Enter, the delete confirmation,
// pausing of polling, local relative times, and no CSP violation.
func TestBrowserBehaviour(t *testing.T) {
	chromium := findChromium(t)
	fixture := &browserFixture{}
	srv := httptest.NewServer(fixture.handler(t))
	defer srv.Close()

	ctx, closeBrowser := testenv.StartBrowser(t, chromium, 1280, 900)
	defer closeBrowser()
	messages := chromedp.Console(ctx)

	runsURL := srv.URL + testBasePath + "runs?ws=" + testWS
	jsReady := `!document.querySelector('[data-live-toggle]').hidden`
	step := func(t *testing.T, name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
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
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))
	}
	// jsClick clicks through the DOM: a coordinate click can land on the
	// modal's backdrop while the dialog is still being laid out.
	jsClick := func(sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`document.querySelector('` + sel + `').click()`)
	}
	// waitFor survives navigations, which end a chromedp.Poll.
	waitFor := func(t *testing.T, expr string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			stepCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ok, err := chromedp.Run(stepCtx, chromedp.Evaluate[bool](expr))
			cancel()
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %v", expr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	step(t, "open runs", chromedp.Navigate(runsURL), poll(jsReady))

	t.Run("theme", func(t *testing.T) {
		step(t, "choose dark",
			chromedp.Evaluate[chromedp.Void](`(function(){var s=document.querySelector('#theme-select-desktop');s.value='dark';s.dispatchEvent(new Event('change',{bubbles:true}));})()`),
		)
		if got := eval(t, `document.documentElement.className + '|' + localStorage.getItem('`+ThemeStorageKey+`')`); got != "dark|dark" {
			t.Errorf("after choosing dark: class|stored = %q", got)
		}
		step(t, "reload", chromedp.Reload(), poll(jsReady))
		if got := eval(t, `document.documentElement.className`); got != "dark" {
			t.Errorf("dark not kept across reload: %q", got)
		}
		step(t, "choose light",
			chromedp.Evaluate[chromedp.Void](`(function(){var s=document.querySelector('#theme-select-desktop');s.value='light';s.dispatchEvent(new Event('change',{bubbles:true}));})()`),
		)
		if got := eval(t, `document.documentElement.className`); got != "" {
			t.Errorf("light still dark: %q", got)
		}
	})

	t.Run("keyboard", func(t *testing.T) {
		// A real keydown whose default is prevented types nothing; chromedp's
		// KeyEvent would type the "/" anyway, so dispatch the event itself.
		prevented := eval(t, `(function(){document.activeElement && document.activeElement.blur();return String(!document.body.dispatchEvent(new KeyboardEvent('keydown',{key:'/',bubbles:true,cancelable:true})));})()`)
		if got := eval(t, `document.activeElement.id`); got != "filter-q" || prevented != "true" {
			t.Fatalf("after /, focus is on %q (default prevented: %s)", got, prevented)
		}
		// The page handles keys and swaps polled rows in its own time:
		// wait for the selection rather than read it at once.
		selected := func(id string) string {
			return `(function(){var r=document.querySelector('tr.is-selected');return !!r && r.dataset.runId === '` + id + `';})()`
		}
		step(t, "escape, j, j", chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent("j"), chromedp.KeyEvent("j"))
		waitFor(t, selected("edr_processed001"))
		step(t, "k", chromedp.KeyEvent("k"))
		waitFor(t, selected("edr_processing01"))
		step(t, "arrow down, enter", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
		waitFor(t, `location.pathname.endsWith('/runs/edr_processed001')`)
		if got := eval(t, `location.search`); got != "?ws="+testWS {
			t.Errorf("opened run without its workspace: %q", got)
		}
	})

	t.Run("delete confirmation", func(t *testing.T) {
		// The run opened by Enter above may still be loading; a Poll
		// started in it would lose its context, waitFor does not.
		waitFor(t, `document.readyState === 'complete'`)
		step(t, "open run", chromedp.Navigate(srv.URL+RunURL(testBasePath, testWS, "edr_confirm")))
		waitFor(t, `document.readyState === 'complete' && location.pathname.endsWith('/runs/edr_confirm')`)
		step(t, "cancel", jsClick(`[data-testid="action-delete"]`), poll(`document.getElementById('confirm-dialog').open`))
		if msg := eval(t, `document.querySelector('[data-confirm-message]').textContent`); !strings.Contains(msg, "edr_confirm") {
			t.Errorf("dialog does not name the run: %q", msg)
		}
		step(t, "cancel click", jsClick(`[data-confirm-cancel]`), poll(`!document.getElementById('confirm-dialog').open`))
		if n := len(fixture.deleted()); n != 0 {
			t.Fatalf("cancel still deleted (%d posts)", n)
		}
		step(t, "confirm", jsClick(`[data-testid="action-delete"]`), poll(`document.getElementById('confirm-dialog').open`),
			jsClick(`[data-confirm-accept]`))
		waitFor(t, `location.pathname.endsWith('/runs')`)
		got := fixture.deleted()
		if len(got) != 1 || got[0].Get(ConfirmField) != "1" || got[0].Get(CSRFField) != testCSRF {
			t.Errorf("delete posts = %v, want one with confirmed=1 and the CSRF token", got)
		}
	})

	t.Run("polling pauses", func(t *testing.T) {
		// The delete above ends in a redirect that may still be loading; a
		// Poll started in that page would lose its context, waitFor does not.
		waitFor(t, `document.readyState === 'complete'`)
		step(t, "open runs", chromedp.Navigate(runsURL))
		waitFor(t, jsReady)
		waitPolls := func(min int64) {
			deadline := time.Now().Add(10 * time.Second)
			for fixture.rowPolls.Load() < min {
				if time.Now().After(deadline) {
					t.Fatalf("row polls = %d, want ≥ %d", fixture.rowPolls.Load(), min)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		start := fixture.rowPolls.Load()
		waitPolls(start + 2) // both PROCESSING rows poll
		step(t, "pause", chromedp.Click(chromedp.CSS(`[data-live-toggle]`)))
		if got := eval(t, `document.querySelector('[data-live-toggle]').getAttribute('aria-pressed') + '|' + localStorage.getItem('editwatch-live-paused')`); got != "true|1" {
			t.Errorf("pause state = %q", got)
		}
		// A request already in flight may land: htmx marks its element
		// htmx-request until the answer came, so the server counted it.
		waitFor(t, `document.querySelectorAll('.htmx-request').length === 0`)
		paused := fixture.rowPolls.Load()
		// Nothing may happen for two and a half poll intervals: a slow
		// machine polls less, never more, so this cannot fail for speed.
		time.Sleep(2500 * time.Millisecond)
		if after := fixture.rowPolls.Load(); after != paused {
			t.Errorf("polling went on while paused: %d -> %d", paused, after)
		}
		step(t, "resume", chromedp.Click(chromedp.CSS(`[data-live-toggle]`)))
		waitPolls(paused + 1)
	})

	t.Run("relative times", func(t *testing.T) {
		// Every time, also in rows htmx swapped in, gets its hover text in
		// the browser's time zone instead of the server's UTC format.
		waitFor(t, `Array.from(document.querySelectorAll('time[data-relative]')).every(function(e){return e.title !== '' && !/^\d{4}-\d\d-\d\d .* UTC$/.test(e.title)})`)
	})

	t.Run("confirmation page on a phone", func(t *testing.T) {
		// The page a browser without JavaScript gets: long words wrap
		// instead of widening the page.
		step(t, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(srv.URL+testBasePath+"confirm"),
			chromedp.WaitVisible(`[data-testid=confirm-page]`))
		defer step(t, "desktop", chromedp.EmulateViewport(1280, 900))
		if got := eval(t, `document.documentElement.scrollWidth + ' px on a ' + document.documentElement.clientWidth + ' px screen'`); got != "390 px on a 390 px screen" {
			t.Errorf("the confirmation page is %s", got)
		}
	})

	// Collect what the console said; any CSP violation or exception fails.
	cancelStep, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	go func() { <-cancelStep.Done(); closeBrowser() }()
	for m, err := range messages {
		if err != nil {
			break
		}
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
			t.Errorf("console: %s", m.Text)
		}
	}
}
