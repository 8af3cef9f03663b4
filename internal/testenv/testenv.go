// Package testenv finds what tests need from the machine they run on: the
// real-world PDF forms, a Chromium binary, oauth2-proxy and the PDF readers of other
// projects. Where one is missing a test skips with a message saying how to
// provide it, except under CI=true, where a missing prerequisite fails the
// test so that nothing is skipped silently.
package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/editwatch/editwatch/internal/pdfreadback"
)

// InCI reports whether the tests run under CI (CI=true), where every
// prerequisite must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// unavailable skips the test, or fails it under CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true but "+format, args...)
	}
	t.Skipf(format, args...)
}

// FixturesDir is the folder of real-world forms: EDITWATCH_FIXTURES, else
// ../shared/fixtures/forms beside the module root. It may not exist.
func FixturesDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("EDITWATCH_FIXTURES"); dir != "" {
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "fixtures", "forms")
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Fixture returns the path of a real-world form, read in place (never copied
// into the project), or skips the test when the folder is absent.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	dir := FixturesDir(t)
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); dir == "" || err != nil {
		unavailable(t, "real-world form %s is not available in %q; set EDITWATCH_FIXTURES to the forms folder (../shared/fixtures/forms)", name, dir)
	}
	return path
}

// Chromium returns the browser to drive (EDITWATCH_CHROMIUM, else chromium
// on the PATH), or skips the test; browser tests also skip under -short.
func Chromium(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if p := os.Getenv("EDITWATCH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(t, "no Chromium found: apt-get install chromium, or set EDITWATCH_CHROMIUM")
	return ""
}

// StartBrowser starts the Chromium that Chromium found, headless with a
// fresh profile and a window of width×height, and returns its first tab
// (more tabs: chromedp.NewContext(tab)). The browser is started on a
// context without a deadline, so that tests bound each step instead.
// closeBrowser ends it; so does the end of the test. Tests close it
// before stopping a server it still streams from, so that the server does
// not wait for those streams.
func StartBrowser(t testing.TB, chromium string, width, height int) (tab context.Context, closeBrowser func()) {
	t.Helper()
	// chromedp's defaults already hold the flags this project starts
	// Chromium with (headless, no first run, no background networking, no
	// sync, a temporary profile); these add what a container needs.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true), chromedp.WindowSize(width, height))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	closeBrowser = func() { cancelTab(); cancelAlloc() }
	t.Cleanup(closeBrowser)
	if err := chromedp.Do(tab); err != nil {
		closeBrowser()
		t.Fatalf("start chromium: %v", err)
	}
	return tab, closeBrowser
}

// PDFReaders makes sure the outside PDF readers (qpdf, pdftotext) that
// check the sandbox's output are installed, or skips the test.
func PDFReaders(t testing.TB) {
	t.Helper()
	if missing := pdfreadback.Missing(); len(missing) > 0 {
		unavailable(t, "PDF readers not installed: %s; apt-get install qpdf poppler-utils", strings.Join(missing, ", "))
	}
}

// OAuth2Proxy returns the oauth2-proxy binary of the SSO end-to-end test:
// EDITWATCH_OAUTH2_PROXY, else .tools/oauth2-proxy at the module root
// (where .ci/run installs it), else oauth2-proxy on the PATH; or skips.
func OAuth2Proxy(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("EDITWATCH_OAUTH2_PROXY"); p != "" {
		return p
	}
	if root := moduleRoot(); root != "" {
		if p := filepath.Join(root, ".tools", "oauth2-proxy"); isExecutable(p) {
			return p
		}
	}
	if p, err := exec.LookPath("oauth2-proxy"); err == nil {
		return p
	}
	unavailable(t, "oauth2-proxy not found: GOBIN=$PWD/.tools go install github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6 (as .ci/run does), or set EDITWATCH_OAUTH2_PROXY")
	return ""
}

// moduleRoot is the nearest folder above the working directory that holds
// go.mod, or "".
func moduleRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && info.Mode()&0o111 != 0
}
