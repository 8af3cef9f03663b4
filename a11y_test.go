package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/editwatch/editwatch/views"
)

// axeScript is axe-core as npm installs it (package.json pins the version).
const axeScript = "node_modules/axe-core/axe.min.js"

// livePausedKey is the localStorage key app.js pauses polling with.
const livePausedKey = "editwatch-live-paused"

// Viewports every page is looked at in: a laptop and a phone.
var (
	wideViewport  = viewport{name: "wide", width: 1360, height: 900}
	phoneViewport = viewport{name: "phone", width: 390, height: 844}
)

type viewport struct {
	name          string
	width, height int64
}

// auditedPage is one page state of the dashboard: open brings the tab to it
// (navigating, or submitting a form for the pages that answer a POST).
// phoneOnly pages exist only at phone width (the header's menu), so axe
// runs on them there.
type auditedPage struct {
	name      string
	open      func(tab *browserTab)
	phoneOnly bool
}

// TestAccessibility opens every page of the dashboard against `editwatch
// --sandbox` in headless Chromium, in the light and the dark theme, runs
// axe-core on it and fails on any serious or critical violation. It also
// saves a full-page screenshot of each page in both themes, wide and at
// phone width, into EDITWATCH_SCREENSHOTS/pages (a temporary folder when
// unset): axe cannot tell a clipped label or an overflowing table, a person
// looking at these can.
func TestAccessibility(t *testing.T) {
	axe := readAxe(t)
	chromium := testenv.Chromium(t)
	shots := screenshotDir(t, "pages")
	tab := startSandboxAndBrowser(t, chromium)

	tab.open("connect page", views.ConnectURL("/", ""), `!!document.querySelector('[data-testid=connect-submit]')`)
	tab.do("connect", chromedp.Click(chromedp.CSS(`[data-testid=connect-submit]`)))
	tab.waitFor("runs table", `document.querySelectorAll('[data-testid=run-row]').length > 0`, 20*time.Second)

	// The seeded PROCESSING runs finish 10 to 60 s after the server
	// started, so that page goes first, while one still runs, with live
	// refresh paused: the page reloads itself when the run finishes, which
	// would pull the page from under axe.
	others := tab.otherNavPages()
	processing := tab.firstRunID(views.StatusProcessing)
	// The run whose file name is longest: its pages show that name and
	// must still fit a phone.
	processed := tab.longestNamedRunID(views.StatusProcessed)
	failed := tab.firstRunID(views.StatusFailed)
	if processed == "" || failed == "" {
		t.Fatalf("the sandbox lists no processed (%q) or no failed (%q) run", processed, failed)
	}
	runPage := func(id string) func(*browserTab) {
		return func(tab *browserTab) {
			tab.open("run "+id, views.RunURL("/", sandboxWorkspace, id), `!!document.querySelector('[data-testid=run-header]')`)
		}
	}
	var pages []auditedPage
	if processing != "" {
		pages = append(pages, auditedPage{name: "run-processing", open: func(tab *browserTab) {
			tab.do("pause live refresh", chromedp.Evaluate[chromedp.Void](`localStorage.setItem('`+livePausedKey+`', '1')`))
			runPage(processing)(tab)
		}})
	} else {
		t.Log("no PROCESSING run left in the sandbox: the processing run page is not checked")
	}
	pages = append(pages, []auditedPage{
		{name: "runs", open: func(tab *browserTab) {
			tab.do("resume live refresh", chromedp.Evaluate[chromedp.Void](`localStorage.removeItem('`+livePausedKey+`')`))
			tab.open("runs", views.RunsURL("/", sandboxWorkspace, views.RunsFilter{}, ""), `document.querySelectorAll('[data-testid=run-row]').length > 0`)
		}},
		{name: "runs-failed", open: func(tab *browserTab) {
			tab.open("failed runs", views.RunsURL("/", sandboxWorkspace, views.RunsFilter{Status: views.StatusFailed}, ""),
				`document.querySelectorAll('[data-testid=run-row]').length > 0`)
		}},
		{name: "runs-empty", open: func(tab *browserTab) {
			tab.open("runs matching nothing", views.RunsURL("/", sandboxWorkspace, views.RunsFilter{FileNameContains: "no-such-file-anywhere"}, ""),
				`!!document.querySelector('[data-testid=runs-empty]')`)
		}},
		{name: "menu", phoneOnly: true, open: func(tab *browserTab) {
			tab.open("runs", views.RunsURL("/", sandboxWorkspace, views.RunsFilter{}, ""), `document.querySelectorAll('[data-testid=run-row]').length > 0`)
			tab.setViewport(phoneViewport)
			tab.do("open the menu", chromedp.Click(chromedp.CSS(`header details > summary`)))
			tab.waitFor("menu open", `document.querySelector('header details').open`, 5*time.Second)
		}},
		{name: "run-processed", open: runPage(processed)},
		{name: "run-failed", open: runPage(failed)},
		{name: "run-delete-dialog", open: func(tab *browserTab) {
			runPage(processed)(tab)
			tab.do("delete", chromedp.Click(chromedp.CSS(`[data-testid=action-delete]`)))
			tab.waitFor("confirmation dialog", `document.getElementById('confirm-dialog').open`, 10*time.Second)
		}},
		{name: "run-delete-confirm-page", open: func(tab *browserTab) {
			// What a browser without JavaScript posts: the delete form
			// without confirmed=1, answered by the confirmation page.
			runPage(processed)(tab)
			tab.do("delete without the dialog",
				chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=delete-form]').removeAttribute('data-confirm')`),
				chromedp.Click(chromedp.CSS(`[data-testid=action-delete]`)))
			tab.waitFor("confirmation page", `!!document.querySelector('[data-testid=confirm-page]')`, 15*time.Second)
		}},
		{name: "new-run", open: func(tab *browserTab) {
			tab.open("new run form", views.NewRunURL("/", sandboxWorkspace), `!!document.querySelector('[data-testid=file-input]')`)
		}},
		{name: "new-run-schema-error", open: func(tab *browserTab) {
			tab.open("new run form", views.NewRunURL("/", sandboxWorkspace), `!!document.querySelector('[data-testid=file-input]')`)
			tab.do("start with a broken schema",
				chromedp.SetValue(chromedp.CSS(`[data-testid=schema-input]`), "{\n  \"type\": \"object\",\n  \"properties\": {\"name\": {\"type\": \"string\"},}\n}"),
				chromedp.Click(chromedp.CSS(`[data-testid=start-run]`)))
			tab.waitFor("schema error", `!!document.querySelector('[data-testid=schema-error]')`, 15*time.Second)
		}},
		{name: "audit", open: func(tab *browserTab) {
			tab.open("audit log", views.AuditURL("/", views.AuditFilter{}, ""), `document.querySelectorAll('[data-testid=audit-row]').length > 0`)
		}},
		{name: "error-run-not-found", open: func(tab *browserTab) {
			tab.open("missing run", views.RunURL("/", sandboxWorkspace, "edr_doesnotexist0000000000"), `!!document.querySelector('[data-testid=error-page]')`)
		}},
		{name: "error-not-connected", open: func(tab *browserTab) {
			tab.open("unconnected workspace", views.RunsURL("/", "ws_elsewhere", views.RunsFilter{}, ""),
				`!!document.querySelector('[data-testid=error-connect-workspace]')`)
		}},
		{name: "connect-workspace", open: func(tab *browserTab) {
			tab.open("connect another workspace", views.ConnectURL("/", "ws_elsewhere"),
				`document.querySelector('[data-testid=connect-workspace]').value === 'ws_elsewhere' && !!document.querySelector('[data-testid=connected-workspace]')`)
		}},
	}...)
	// Whatever else the header links to (history's overview, failures,
	// settings...) is checked too.
	for _, link := range others {
		pages = append(pages, auditedPage{name: "page-" + link.Name, open: func(tab *browserTab) {
			tab.open(link.Name+" page", link.Path, `!!document.querySelector('main h1')`)
		}})
	}
	pages = append(pages, []auditedPage{
		{name: "connect", open: func(tab *browserTab) {
			// The connect page as a first visit sees it: nothing connected
			// (and the flash saying so).
			tab.open("connect page", views.ConnectURL("/", ""), `!!document.querySelector('[data-testid=disconnect-button]')`)
			tab.do("disconnect", chromedp.Click(chromedp.CSS(`[data-testid=disconnect-button]`)))
			tab.waitFor("connect page, nothing connected", `!!document.querySelector('[data-testid=flash]') && !document.querySelector('[data-testid=connected-workspace]')`, 15*time.Second)
		}},
	}...)
	audits := &axeAudit{t: t, tab: tab, source: axe, shots: shots}
	for _, p := range pages {
		p.open(tab)
		audits.check(p)
	}
	if processing != "" {
		// The processing page was only that if the run had not finished.
		t.Logf("run %s was PROCESSING when its page was checked: %v", processing, audits.sawProcessing)
	}
	t.Logf("%d page states checked with axe-core in the light and dark themes, wide and at phone width; screenshots in %s", audits.pages, shots)
}

// axeAudit runs axe-core and takes the screenshots of one page state in
// every theme and viewport.
type axeAudit struct {
	t             *testing.T
	tab           *browserTab
	source        string
	shots         string
	pages         int
	sawProcessing bool
}

// axeRuleResult is what the test keeps of one rule's result: a violation,
// or a check axe could not decide.
type axeRuleResult struct {
	ID     string    `json:"id"`
	Impact string    `json:"impact"`
	Help   string    `json:"help"`
	Nodes  []axeNode `json:"nodes"`
}

type axeNode struct {
	Target  string `json:"target"`
	Summary string `json:"summary"`
}

// axeResults are the rules a page breaks, and those axe could not decide
// (a colour over an overlapping element, an ID that may appear later).
type axeResults struct {
	Violations []axeRuleResult `json:"violations"`
	Incomplete []axeRuleResult `json:"incomplete"`
}

// runAxe evaluates axe.run on the whole document with axe's default rules
// (WCAG 2.x A and AA and best practices), or only the given ones; only
// violations get the details of every node.
const runAxe = `(async (only) => {
	const options = {resultTypes: ['violations']};
	if (only.length) options.runOnly = {type: 'rule', values: only};
	const r = await axe.run(document, options);
	const keep = v => ({
		id: v.id, impact: v.impact || '', help: v.help,
		nodes: v.nodes.map(n => ({
			target: n.target.map(t => Array.isArray(t) ? t.join(' >>> ') : String(t)).join(', '),
			summary: (n.failureSummary || '').replace(/\s+/g, ' ').trim(),
		})),
	});
	return {violations: r.violations.map(keep), incomplete: r.incomplete.map(keep)};
})`

// Which axe rules run where. The themes differ only in a class on <html>,
// and the layouts only in CSS, so the DOM is the same in all four: every
// rule runs once, in the first layout's light theme; the dark theme gets
// the rules whose outcome depends on colours, the phone layout those that
// depend on the layout (a table that scrolls sideways there must be
// reachable by keyboard). The header's menu, the one thing only a phone
// shows, is a page of its own. That keeps the test's time down.
var (
	colourRules = []string{"color-contrast", "link-in-text-block"}
	layoutRules = []string{"scrollable-region-focusable"}
)

// axeRulesFor is which rules run in the i-th layout of a page in a theme
// (nil for all), and whether axe runs there at all.
func axeRulesFor(layout int, theme string) ([]string, bool) {
	switch {
	case layout == 0 && theme == views.ThemeLight:
		return nil, true
	case layout == 0:
		return colourRules, true
	case theme == views.ThemeLight:
		return layoutRules, true
	}
	return nil, false
}

func (a *axeAudit) check(p auditedPage) {
	t := a.t
	t.Helper()
	a.pages++
	if a.tab.evalBool(`document.querySelector('[data-testid=run-status-panel]')?.dataset.status === 'PROCESSING'`) {
		a.sawProcessing = true
	}
	viewports := []viewport{wideViewport, phoneViewport}
	if p.phoneOnly {
		viewports = []viewport{phoneViewport}
	}
	themes := []string{views.ThemeLight, views.ThemeDark}
	for i, vp := range viewports {
		a.tab.setViewport(vp)
		if i > 0 {
			// light, dark, dark, light: each switch waits for the colour
			// transitions, and the next page starts in light.
			themes = []string{views.ThemeDark, views.ThemeLight}
		}
		for _, theme := range themes {
			a.tab.setTheme(theme)
			where := fmt.Sprintf("%s (%s, %s theme)", p.name, vp.name, theme)
			if only, ok := axeRulesFor(i, theme); ok {
				results := a.run(only)
				for _, v := range results.Violations {
					if v.Impact == "serious" || v.Impact == "critical" {
						t.Error(v.describe(where))
					} else {
						t.Log(v.describe(where))
					}
				}
				for _, v := range results.Incomplete {
					t.Log("for a person to review: " + v.describe(where))
				}
			}
			for _, problem := range a.tab.layoutProblems(vp == wideViewport) {
				t.Errorf("%s: %s", where, problem)
			}
			a.tab.screenshot(filepath.Join(a.shots, p.name+"-"+theme+"-"+vp.name+".png"))
		}
	}
	a.tab.setViewport(wideViewport)
}

// layoutProblems finds what axe does not: a page wider than the screen
// (the innermost elements that stick out are named), and, on a wide
// screen, a table that has to be scrolled sideways.
const layoutProblems = `((wide) => {
	const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
		(el.getAttribute('data-testid') ? '[data-testid=' + el.getAttribute('data-testid') + ']' : '') +
		(typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).slice(0, 3).join('.') : '');
	const problems = [];
	const width = document.documentElement.clientWidth;
	if (document.documentElement.scrollWidth > width) {
		const scrolls = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
			if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
		const out = Array.from(document.body.querySelectorAll('*')).filter(el => {
			const r = el.getBoundingClientRect();
			return r.right > width + 0.5 && !scrolls(el);
		});
		const innermost = out.filter(el => !out.some(o => o !== el && el.contains(o)))
			.sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right);
		// Text that runs out of its box (a long word) leaves every box in
		// place: name the boxes whose own content is wider than they are.
		const spilling = innermost.length > 0 ? [] : Array.from(document.body.querySelectorAll('*')).filter(el =>
			el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible' && !scrolls(el) &&
			el.getBoundingClientRect().left + el.scrollWidth > width + 0.5);
		problems.push('the page is ' + document.documentElement.scrollWidth + ' px wide on a ' + width + ' px screen: ' +
			innermost.slice(0, 5).map(el => name(el) + ' ends at ' + Math.round(el.getBoundingClientRect().right) + ' px')
				.concat(spilling.filter(el => !spilling.some(o => o !== el && el.contains(o))).slice(0, 5)
					.map(el => name(el) + "'s content (" + JSON.stringify(el.textContent.trim().slice(0, 60)) + ') needs ' + el.scrollWidth + ' px of ' + el.clientWidth))
				.join('; '));
	}
	if (wide) {
		for (const table of document.querySelectorAll('table')) {
			const box = table.parentElement;
			if (table.offsetParent !== null && box.scrollWidth > box.clientWidth + 1) {
				problems.push(name(table) + ' needs ' + box.scrollWidth + ' px and has ' + box.clientWidth + ' px: its last columns are scrolled out of view');
			}
		}
	}
	return problems;
})`

func (b *browserTab) layoutProblems(wide bool) []string {
	b.t.Helper()
	return evalIn[[]string](b, layoutProblems+"("+fmt.Sprint(wide)+")")
}

// describe is the rule, its impact and help, and every element it found.
func (v axeRuleResult) describe(where string) string {
	line := fmt.Sprintf("%s: %s [%s] %s", where, v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		line += "\n\t" + n.Target + ": " + n.Summary
	}
	return line
}

func (a *axeAudit) run(only []string) axeResults {
	a.t.Helper()
	if !a.tab.evalBool(`typeof window.axe === 'object'`) {
		// DevTools' Runtime.evaluate is not subject to the page's CSP.
		a.tab.do("inject axe-core", chromedp.Evaluate[chromedp.Void](a.source))
	}
	ctx, cancel := context.WithTimeout(a.tab.ctx, 30*time.Second)
	defer cancel()
	results, err := chromedp.Run(ctx, chromedp.Evaluate[axeResults](runAxe+"("+jsStrings(only)+")", chromedp.EvalAwaitPromise))
	if err != nil {
		a.t.Fatalf("axe.run: %v", err)
	}
	return results
}

// TestKeyboardOnly goes from the runs list to a run and back with the keys
// alone: "/" to the search box, j and k through the rows, Enter into a run,
// Tab to the skip link and on to the "Runs" breadcrumb, Enter back to the
// list, then Tab through the header to the search box. Every element that
// takes the focus on the way must show it. (Alt+Left is not tried: it is a
// shortcut of the browser's window, which headless Chromium does not have.)
func TestKeyboardOnly(t *testing.T) {
	chromium := testenv.Chromium(t)
	tab := startSandboxAndBrowser(t, chromium)
	shots := screenshotDir(t, "keyboard")
	tab.open("connect page", views.ConnectURL("/", ""), `!!document.querySelector('[data-testid=connect-submit]')`)
	tab.do("connect", chromedp.Click(chromedp.CSS(`[data-testid=connect-submit]`)))
	tab.waitFor("runs table", `document.querySelectorAll('[data-testid=run-row]').length > 1`, 20*time.Second)

	for _, theme := range []string{views.ThemeLight, views.ThemeDark} {
		// Processed runs: a PROCESSING row is replaced when it refreshes,
		// and the focus with it.
		tab.open("processed runs", views.RunsURL("/", sandboxWorkspace, views.RunsFilter{Status: views.StatusProcessed}, ""),
			`document.querySelectorAll('[data-testid=run-row]').length > 1`)
		tab.setTheme(theme)

		tab.press("/")
		tab.expectFocus(`#filter-q`, "the search box after /")
		if v := tab.evalString(`document.activeElement.value`); v != "" {
			t.Fatalf("%s: / focused the search box and typed %q into it", theme, v)
		}
		tab.press(kb.Escape)
		tab.waitFor("search box left", `document.activeElement === document.body`, 5*time.Second)

		tab.press("j", "j", "k")
		first := tab.evalString(`document.querySelectorAll('[data-testid=run-row]')[0].dataset.runId`)
		tab.expectFocus(`tr[data-run-id="`+first+`"]`, "the first row after j j k")
		tab.screenshot(filepath.Join(shots, "row-selected-"+theme+".png"))
		tab.press(kb.Enter)
		tab.waitFor("the run's page", `document.querySelector('[data-testid=run-id]')?.textContent.trim() === '`+first+`'`, 20*time.Second)

		// Tab lands on the skip link first; through it past the header to
		// the breadcrumb.
		tab.press(kb.Tab)
		tab.expectFocus(`a[href="#main"]`, "the skip link, first Tab stop")
		tab.screenshot(filepath.Join(shots, "skip-link-"+theme+".png"))
		tab.press(kb.Enter)
		tab.waitFor("main focused", `document.activeElement === document.getElementById('main')`, 5*time.Second)
		tab.press(kb.Tab)
		tab.expectFocus(`nav[aria-label=Breadcrumb] a`, "the Runs breadcrumb, first Tab stop in the content")
		tab.screenshot(filepath.Join(shots, "breadcrumb-"+theme+".png"))
		tab.press(kb.Enter)
		tab.waitFor("back on the runs list", `location.pathname.endsWith('/runs') && document.querySelectorAll('[data-testid=run-row]').length > 1`, 20*time.Second)

		// Every Tab stop of the header shows its focus.
		for i, done := 0, false; !done; i++ {
			if i == 30 {
				t.Fatalf("%s: 30 Tab stops and the filter's search box never took the focus", theme)
			}
			tab.press(kb.Tab)
			done = tab.evalBool(`document.activeElement?.id === 'filter-q'`)
			tab.expectFocus(`*`, fmt.Sprintf("Tab stop %d of the runs page", i+1))
		}
	}
}

// startSandboxAndBrowser starts `editwatch --sandbox` and a browser tab on
// it. When the test ends the browser closes first, then the server, which
// must exit cleanly: stopping the server under open event streams is not
// what these tests are about.
func startSandboxAndBrowser(t *testing.T, chromium string) *browserTab {
	t.Helper()
	base, stopServe := startServeArgs(t, "--sandbox", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0")
	t.Cleanup(func() {
		if code := stopServe(); code != 0 {
			t.Errorf("editwatch exited %d", code)
		}
	})
	return newBrowserTab(t, chromium, strings.TrimSuffix(base, "/")) // its cleanup runs before the one above
}

// browserTab is one headless Chromium tab against a running Editwatch.
type browserTab struct {
	t      *testing.T
	ctx    context.Context
	origin string // "http://127.0.0.1:port", no trailing slash

	mu       sync.Mutex
	location string   // the page being looked at, for consoleErrors
	console  []string // script errors and CSP refusals seen so far
}

// newBrowserTab starts Chromium; it closes when the test ends.
func newBrowserTab(t *testing.T, chromium, origin string) *browserTab {
	t.Helper()
	ctx, _ := testenv.StartBrowser(t, chromium, int(wideViewport.width), int(wideViewport.height))
	b := &browserTab{t: t, ctx: ctx, origin: origin}
	messages := chromedp.Console(ctx)
	go func() { // ends when the browser closes
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
				b.mu.Lock()
				b.console = append(b.console, b.location+": "+m.Text)
				b.mu.Unlock()
			}
		}
	}()
	// Checked before the browser closes (cleanups run last first).
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range b.console {
			t.Errorf("browser console: %s", m)
		}
	})
	return b
}

func (b *browserTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func evalIn[T any](b *browserTab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browserTab) evalString(expr string) string { b.t.Helper(); return evalIn[string](b, expr) }
func (b *browserTab) evalBool(expr string) bool     { b.t.Helper(); return evalIn[bool](b, expr) }

// waitFor polls expr until it is true; unlike chromedp.Poll it survives
// page loads.
func (b *browserTab) waitFor(what, expr string, limit time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 1500)`))
			cancel()
			b.t.Fatalf("waiting for %s (%s): %v\npage: %s", what, expr, err, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// open navigates to path (on the server's origin) and waits for ready.
func (b *browserTab) open(what, path, ready string) {
	b.t.Helper()
	b.mu.Lock()
	b.location = path
	b.mu.Unlock()
	b.do("open "+what, chromedp.Navigate(b.origin+path))
	b.waitFor(what, `document.readyState === 'complete' && (`+ready+`)`, 20*time.Second)
}

// navLink is a page the header links to.
type navLink struct {
	Name string `json:"name"` // its text, lower case, spaces as dashes
	Path string `json:"path"` // path and query on the server
}

// otherNavPages are the header's links other than the pages the test opens
// by name (runs, new run, audit, connect).
func (b *browserTab) otherNavPages() []navLink {
	b.t.Helper()
	return evalIn[[]navLink](b, `Array.from(document.querySelectorAll('nav[aria-label=Main] a'))
		.map(a => ({name: a.textContent.trim().toLowerCase().replace(/\s+/g, '-'), url: new URL(a.href)}))
		.filter(l => !['/runs', '/runs/new', '/audit', '/connect'].includes(l.url.pathname))
		.map(l => ({name: l.name, path: l.url.pathname + l.url.search}))`)
}

// firstRunID is the ID of the newest run with status, or "".
func (b *browserTab) firstRunID(status string) string {
	b.t.Helper()
	b.openRuns(status)
	return b.evalString(`document.querySelector('[data-testid=run-row]')?.dataset.runId ?? ''`)
}

// openRuns opens the first page of the runs with status.
func (b *browserTab) openRuns(status string) {
	b.t.Helper()
	b.open(status+" runs", views.RunsURL("/", sandboxWorkspace, views.RunsFilter{Status: status}, ""),
		`!!document.querySelector('[data-testid=run-row], [data-testid=runs-empty]')`)
}

// longestNamedRunID is, of the first page of runs with status, the one
// with the longest file name.
func (b *browserTab) longestNamedRunID(status string) string {
	b.t.Helper()
	b.openRuns(status)
	return b.evalString(`Array.from(document.querySelectorAll('[data-testid=run-row]'))
		.map(r => ({id: r.dataset.runId, name: r.querySelector('td[title]')?.title ?? ''}))
		.reduce((a, b) => b.name.length > a.name.length ? b : a, {id: '', name: ''}).id`)
}

// setTheme picks the theme the way a person does, in the header's theme
// select, and waits until no colour transition is left running (axe would
// otherwise measure contrast halfway between the themes).
func (b *browserTab) setTheme(theme string) {
	b.t.Helper()
	b.do("theme "+theme, chromedp.Evaluate[chromedp.Void](`(() => {
		const select = document.querySelector('select[data-theme-select]');
		select.value = '`+theme+`';
		select.dispatchEvent(new Event('change', {bubbles: true}));
	})()`))
	b.waitFor("theme "+theme+" applied", `document.documentElement.classList.contains('dark') === `+fmt.Sprint(theme == views.ThemeDark)+
		` && document.getAnimations().every(a => !(a instanceof CSSTransition) || a.playState !== 'running')`, 5*time.Second)
}

func (b *browserTab) setViewport(vp viewport) {
	b.t.Helper()
	b.do("viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height))
}

// screenshot saves a full-page PNG.
func (b *browserTab) screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", path, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// press types each key as a keyboard does: a keydown that carries the
// key's text, then a keyup. (chromedp.KeyEvent sends the text in a separate
// char event, which a page's preventDefault on keydown cannot stop, so "/"
// would land in the search box it focuses.)
func (b *browserTab) press(keys ...string) {
	b.t.Helper()
	for _, key := range keys {
		for _, r := range key {
			events := kb.Encode(r)
			var text string
			for _, e := range events {
				if e.Type == kb.KeyChar {
					text = e.Text
				}
			}
			for _, e := range events {
				if e.Type == kb.KeyChar {
					continue
				}
				if e.Type == kb.KeyDown {
					e.Text, e.UnmodifiedText = text, text
				}
				ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
				_, err := chromedp.Call(ctx, input.DispatchKeyEvent, *e)
				cancel()
				if err != nil {
					b.t.Fatalf("press %q: %v", key, err)
				}
			}
		}
	}
}

// focusProblem is empty when the focused element matches the selector, is
// on screen and shows a focus indicator (an outline, or a box-shadow ring
// as Tailwind's ring utilities draw it); otherwise it says what is wrong.
const focusProblem = `((selector) => {
	const el = document.activeElement;
	if (!el || el === document.body) return 'nothing has the focus';
	const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
		(el.getAttribute('data-testid') ? '[data-testid=' + el.getAttribute('data-testid') + ']' : '') +
		' "' + (el.textContent || el.value || '').trim().slice(0, 40) + '"';
	if (!el.matches(selector)) return 'the focus is on ' + name + ', not on ' + selector;
	const box = el.getBoundingClientRect();
	if (box.width < 4 || box.height < 4) return name + ' has the focus but is ' + box.width + '×' + box.height + ' px';
	if (box.bottom < 0 || box.top > innerHeight || box.right < 0 || box.left > innerWidth) return name + ' has the focus but is off screen';
	if (!el.matches(':focus-visible')) return name + ' has the focus but not :focus-visible';
	const s = getComputedStyle(el);
	const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && !/rgba\(.*, 0\)$|transparent/.test(s.outlineColor);
	// A ring is a box-shadow with a spread of 2 px or more (a button's
	// drop shadow does not count).
	const ring = Array.from(s.boxShadow.matchAll(/(-?[\d.]+)px (-?[\d.]+)px (-?[\d.]+)px (-?[\d.]+)px/g)).some(m => parseFloat(m[4]) >= 2);
	if (!outline && !ring) return name + ' shows no focus: outline ' + s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor + ', box-shadow ' + s.boxShadow;
	return '';
})`

// expectFocus fails unless the focus is visibly on an element matching
// selector.
func (b *browserTab) expectFocus(selector, what string) {
	b.t.Helper()
	if problem := b.evalString(focusProblem + "(" + jsString(selector) + ")"); problem != "" {
		b.t.Fatalf("%s: %s", what, problem)
	}
}

// jsStrings is ss as a JavaScript array of strings.
func jsStrings(ss []string) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = jsString(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

// readAxe returns axe-core's source, or skips (fails under CI) when npm
// has not installed it.
func readAxe(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(axeScript)
	if err != nil {
		msg := fmt.Sprintf("axe-core not installed (%v): run npm ci", err)
		if testenv.InCI() {
			t.Fatal("CI=true but " + msg)
		}
		t.Skip(msg)
	}
	return string(b)
}

// screenshotDir is EDITWATCH_SCREENSHOTS/sub (created), or a temporary
// folder when the variable is unset.
func screenshotDir(t *testing.T, sub string) string {
	t.Helper()
	root := os.Getenv("EDITWATCH_SCREENSHOTS")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
