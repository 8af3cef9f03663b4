package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/editwatch/editwatch/views"
)

// TestOverviewAndFailuresInBrowser opens the overview and the failures
// page of `editwatch --sandbox` at a desk's width and a phone's, light and
// dark, fails on any script error or CSP refusal, checks that the cards
// link to their lists and the charts name their bucket and zone, and saves
// full-page screenshots (into EDITWATCH_SCREENSHOTS when set: that is how
// docs/screenshots/overview-* and failures-* are made).
func TestOverviewAndFailuresInBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	shots := screenshotDir(t, "")
	tab := startSandboxAndBrowser(t, chromium)
	tab.open("connect page", views.ConnectURL("/", ""), `!!document.querySelector('[data-testid=connect-submit]')`)
	tab.do("connect", chromedp.Click(chromedp.CSS(`[data-testid=connect-submit]`)))
	tab.waitFor("runs table", `document.querySelectorAll('[data-testid=run-row]').length > 0`, 20*time.Second)

	overview := views.OverviewURL("/", sandboxWorkspace, views.TimeRange{Preset: views.RangeWeek})
	failures := views.FailuresURL("/", sandboxWorkspace, views.TimeRange{Preset: views.RangeWeek})
	// The overview appears once the sandbox's history is synced.
	deadline := time.Now().Add(60 * time.Second)
	for {
		tab.open("overview", overview, `!!document.querySelector('[data-testid=figures], [data-testid=runs-table], [data-testid=runs-empty]')`)
		if tab.evalBool(`!!document.querySelector('[data-testid=figures]')`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the overview did not appear within a minute")
		}
		time.Sleep(time.Second)
	}
	if !tab.evalBool(`[...document.querySelectorAll('[data-testid^=figure-] a[data-testid=figure-value]')].length >= 5`) {
		t.Error("summary cards do not link to their lists")
	}
	if note := tab.evalString(`document.querySelector('[data-testid=chart-note]')?.textContent ?? ''`); note == "" {
		t.Error("the runs chart says nothing of its bucket and zone")
	}
	if !tab.evalBool(`document.querySelector('[data-testid=range-7d]').getAttribute('aria-current') === 'page'`) {
		t.Error("the chosen range is not marked current")
	}

	for _, vp := range []viewport{{name: "1440", width: 1440, height: 900}, {name: "390", width: 390, height: 844}} {
		tab.setViewport(vp)
		for _, page := range []struct{ name, path, ready string }{
			{"overview", overview, `!!document.querySelector('[data-testid=figures]')`},
			{"failures", failures, `!!document.querySelector('[data-testid=failure-group], [data-testid=failures-empty]')`},
		} {
			for _, theme := range []string{views.ThemeLight, views.ThemeDark} {
				tab.open(page.name, page.path, page.ready)
				tab.setTheme(theme)
				tab.screenshot(filepath.Join(shots, page.name+"-"+vp.name+"-"+theme+".png"))
			}
		}
	}
	tab.setTheme(views.ThemeSystem)
}
