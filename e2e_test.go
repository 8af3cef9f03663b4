package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/editwatch/editwatch/internal/pdfreadback"
	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/editwatch/editwatch/views"
)

// TestEndToEndInBrowser is what a new user does, in headless Chromium against
// `editwatch --sandbox`: connect with the prefilled demo key, filter the list
// to failures, open a failed run and read its explanation, start a run from
// a real-world form with a value for a field, wait for it, download the PDF
// and check the value is on its (flattened) page, then delete the run. It saves
// screenshots of the runs page and a run page in light and dark themes
// (into EDITWATCH_SCREENSHOTS when set, which is how docs/screenshots is
// made) and fails on any CSP violation or script error.
func TestEndToEndInBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	testenv.PDFReaders(t)
	form := testenv.Fixture(t, "sample_form.pdf")
	shots := os.Getenv("EDITWATCH_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	base, stopServe := startServeArgs(t, "--sandbox", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0")
	defer stopServe()
	base = strings.TrimSuffix(base, "/")

	ctx, closeBrowser := testenv.StartBrowser(t, chromium, 1360, 900)
	defer closeBrowser()
	messages := chromedp.Console(ctx)
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}

	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(stepCtx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		s, err := chromedp.Run(stepCtx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	eval := func(expr string) string {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		s, err := chromedp.Run(stepCtx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return s
	}
	// waitFor survives page loads, which end a chromedp.Poll.
	waitFor := func(what, expr string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			stepCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
			ok, err := chromedp.Run(stepCtx, chromedp.Evaluate[bool](expr))
			cancel()
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				pageCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
				page, _ := chromedp.Run(pageCtx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 1500)`))
				cancel()
				t.Fatalf("waiting for %s (%s): %v\npage: %s", what, expr, err, page)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	screenshot := func(name string) {
		t.Helper()
		for _, theme := range []string{"light", "dark"} {
			do("theme "+theme, chromedp.Evaluate[chromedp.Void](`localStorage.setItem('`+views.ThemeStorageKey+`', '`+theme+`')`), chromedp.Reload())
			waitFor("page after reload", `document.readyState === 'complete'`, 15*time.Second)
			stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			png, err := chromedp.Run(stepCtx, chromedp.FullScreenshot(100))
			cancel()
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(shots, name+"-"+theme+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		do("back to system theme", chromedp.Evaluate[chromedp.Void](`localStorage.removeItem('`+views.ThemeStorageKey+`')`))
	}

	// Connect with the demo key the connect page offers in sandbox mode.
	do("open dashboard", chromedp.Navigate(base+"/"))
	waitFor("connect page", `!!document.querySelector('[data-testid=connect-submit]')`, 15*time.Second)
	do("connect", chromedp.Click(chromedp.CSS(`[data-testid=connect-submit]`)))
	waitFor("runs table", `document.querySelectorAll('[data-testid=run-row]').length > 0`, 20*time.Second)
	screenshot("runs")

	// Filter the list to failures: every row shown is a failed run. The
	// status filter sits behind the "Filters" disclosure.
	do("filter failed",
		chromedp.Click(chromedp.CSS(`[data-testid=more-filters-toggle]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=filter-status]`), "FAILED"),
		chromedp.Click(chromedp.CSS(`[data-testid=filter-apply]`)))
	waitFor("failed filter in the URL", `location.search.includes('status=FAILED') && document.querySelectorAll('[data-testid=run-row]').length > 0`, 20*time.Second)
	if got := eval(`Array.from(document.querySelectorAll('[data-testid=run-row] [data-testid=status-badge]')).map(b => b.textContent.trim()).filter(s => s !== 'Failed').join(',')`); got != "" {
		t.Fatalf("failed filter shows other statuses: %q", got)
	}

	// Open a failed run and read what it means.
	do("open failed run", chromedp.Click(chromedp.CSS(`[data-testid=run-row] [data-testid=run-link]`)))
	waitFor("failure panel", `!!document.querySelector('[data-testid=failure-meaning]')`, 20*time.Second)
	reason := text(`[data-testid=failure-code]`)
	meaning, _ := views.FailureExplanation(reason)
	if got := text(`[data-testid=failure-meaning]`); reason == "" || got != meaning {
		t.Fatalf("failed run %s explains %q, want %q", reason, got, meaning)
	}
	screenshot("run-failed")

	// Start a run from a real-world form with a value for one field.
	do("new run page", chromedp.Navigate(base+"/runs/new?ws=ws_demo"))
	waitFor("new run form", `!!document.querySelector('[data-testid=file-input]')`, 15*time.Second)
	const value = "Ada Editwatch"
	do("fill the new run form",
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=file-input]`), []string{form}),
		chromedp.SetValue(chromedp.CSS(`[data-testid=instructions-input]`), "Name_First: "+value),
		chromedp.Click(chromedp.CSS(`[data-testid=start-run]`)))
	waitFor("the new run's page", `!!document.querySelector('[data-testid=run-header]')`, 30*time.Second)
	waitFor("the run to finish", `Array.from(document.querySelectorAll('[data-testid=status-badge]')).some(b => b.textContent.trim() === 'Processed')`, 60*time.Second)
	runURL := eval(`location.href`)
	screenshot("run")

	// Download the edited PDF and read the field back.
	do("reload the run", chromedp.Navigate(runURL))
	waitFor("download action", `!!document.querySelector('[data-testid=action-download]')`, 15*time.Second)
	do("download", chromedp.Click(chromedp.CSS(`[data-testid=action-download]`)))
	// flattenPdf is on by default, as in Extend: the value is part of the
	// page and no field is left, as qpdf and pdftotext read it.
	pdf := waitForDownload(t, downloads, 30*time.Second)
	downloaded := filepath.Join(t.TempDir(), "edited.pdf")
	if err := os.WriteFile(downloaded, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	flat, err := pdfreadback.ReadForm(context.Background(), downloaded)
	if err != nil {
		t.Fatalf("qpdf reads the downloaded PDF: %v", err)
	}
	if flat.HasAcroForm || flat.Widgets != 0 {
		t.Fatalf("downloaded PDF: AcroForm %v, %d widgets; want it flattened", flat.HasAcroForm, flat.Widgets)
	}
	if pageText, err := pdfreadback.Text(context.Background(), downloaded); err != nil || !strings.Contains(pageText, value) {
		t.Fatalf("downloaded PDF: pdftotext (err %v) does not find %q on the page:\n%s", err, value, pageText)
	}

	// Delete the run through the confirmation dialog.
	do("delete", chromedp.Click(chromedp.CSS(`[data-testid=action-delete]`)))
	waitFor("confirmation dialog", `document.getElementById('confirm-dialog').open`, 10*time.Second)
	do("confirm", chromedp.Evaluate[chromedp.Void](`document.querySelector('#confirm-dialog [data-confirm-accept]').click()`))
	waitFor("back on the runs list with a flash", `location.pathname.endsWith('/runs') && !!document.querySelector('[data-testid=flash]')`, 20*time.Second)
	do("open the deleted run", chromedp.Navigate(runURL))
	waitFor("not-found page", `!!document.querySelector('[data-testid=error-page]')`, 15*time.Second)

	// Extend failing: every answer a 5xx. The run page cannot be fetched
	// and says so with retry information; the runs list, read from
	// history, carries the degraded banner.
	faults := func(method, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+"/_sandbox/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("sandbox faults: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("sandbox faults %s: %d", body, resp.StatusCode)
		}
	}
	do("runs list", chromedp.Navigate(base+"/runs?ws=ws_demo"))
	waitFor("runs table", `document.querySelectorAll('[data-testid=run-row] [data-testid=run-link]').length > 0`, 20*time.Second)
	someRun := eval(`document.querySelector('[data-testid=run-row] [data-testid=run-link]').href`)
	faults("POST", `{"rate5xx":1}`)
	// Extend counts as degraded once a quarter of its latest calls failed:
	// the calls made before the faults (polls, the new run) take a few
	// failing page loads to outweigh.
	for attempt := 1; ; attempt++ {
		do("open a run while Extend fails", chromedp.Navigate(someRun))
		waitFor("error page with retry information", `!!document.querySelector('[data-testid=error-page]') && document.body.innerText.includes('Try again in')`, 60*time.Second)
		if eval(`String(!!document.querySelector('[data-testid=upstream-degraded]'))`) == "true" {
			break
		}
		if attempt == 5 {
			t.Fatal("no degraded banner after 5 run pages failed")
		}
	}
	do("runs list while Extend fails", chromedp.Navigate(base+"/runs?ws=ws_demo"))
	waitFor("degraded banner over the list", `!!document.querySelector('[data-testid=upstream-degraded]') && document.querySelectorAll('[data-testid=run-row]').length > 0`, 20*time.Second)
	screenshot("runs-degraded")
	faults("DELETE", "")

	// No CSP violation or script error anywhere along the way. Cancelling
	// the browser's context after a moment ends the stream of messages.
	collected, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	go func() { <-collected.Done(); closeBrowser() }()
	for m, err := range messages {
		if err != nil {
			break
		}
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
			t.Errorf("browser console: %s", m.Text)
		}
	}
	t.Logf("screenshots in %s", shots)
}

// waitForDownload returns the first complete PDF that appears in dir.
func waitForDownload(t *testing.T, dir string, limit time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".crdownload") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err == nil && bytes.HasPrefix(b, []byte("%PDF")) && bytes.Contains(b[max(0, len(b)-1024):], []byte("%%EOF")) {
				return b
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no PDF downloaded into %s within %s", dir, limit)
	return nil
}
