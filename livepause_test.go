package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/editwatch/editwatch/views"
)

// TestLiveUpdatesPausedInTheOldestTab opens the runs page in one tab more
// than --streams-per-session allows, in one browser (one session): the
// oldest tab is told its stream is paused, says so, and stops
// reconnecting, so the newer tab keeps its stream instead of the two
// evicting each other in a loop.
func TestLiveUpdatesPausedInTheOldestTab(t *testing.T) {
	chromium := testenv.Chromium(t)
	base, stopServe := startServeArgs(t, "--sandbox", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--streams-per-session", "1")
	defer stopServe()
	base = strings.TrimSuffix(base, "/")

	first, closeBrowser := testenv.StartBrowser(t, chromium, 1360, 900)
	defer closeBrowser()
	do := func(tab context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	holds := func(tab context.Context, expr string) bool {
		ctx, cancel := context.WithTimeout(tab, 3*time.Second)
		defer cancel()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		return err == nil && ok
	}
	waitFor := func(tab context.Context, what, expr string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !holds(tab, expr) {
			if time.Now().After(deadline) {
				ctx, cancel := context.WithTimeout(tab, 3*time.Second)
				page, perr := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " hidden=" + document.hidden + " live=" + !!document.querySelector('[data-testid=runs-live]') + " notice=" + !document.querySelector('[data-live-paused-notice]').hidden`))
				cancel()
				t.Fatalf("waiting for %s (%s): %s %v", what, expr, page, perr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	const (
		streamOpen   = `!!document.querySelector('[data-testid=runs-live][data-sse-open]')`
		noticeShown  = `!document.querySelector('[data-live-paused-notice]').hidden`
		noticeHidden = `document.querySelector('[data-live-paused-notice]').hidden`
	)

	do(first, "open dashboard", chromedp.Navigate(base+"/"))
	waitFor(first, "connect page", `!!document.querySelector('[data-testid=connect-submit]')`)
	do(first, "connect", chromedp.Click(chromedp.CSS(`[data-testid=connect-submit]`)))
	waitFor(first, "runs page", `!!document.querySelector('[data-testid=runs-live]')`)
	do(first, "open the runs page", chromedp.Navigate(base+"/runs?ws="+sandboxWorkspace))
	waitFor(first, "first tab's stream", streamOpen)
	if !holds(first, noticeHidden) {
		t.Fatal("the paused notice shows in a tab whose stream is open")
	}

	// The newer tab: a stream of the same session, read from Go so that
	// what it hears can be checked (Chromium throttles a tab in the
	// background).
	cookies, err := chromedp.Call(first, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	streamCtx, closeStream := context.WithCancel(context.Background())
	defer closeStream()
	req, _ := http.NewRequestWithContext(streamCtx, http.MethodGet, base+"/"+views.RouteEvents+"?ws="+sandboxWorkspace, nil)
	req.Header.Set("Accept", "text/event-stream")
	for _, c := range cookies.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the newer tab's stream: %d", resp.StatusCode)
	}
	events := make(chan string, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- name
			}
		}
	}()

	waitFor(first, "the paused notice in the older tab", noticeShown)
	if holds(first, streamOpen) {
		t.Error("the older tab still counts its stream as open after it was paused")
	}
	// The older tab does not reconnect: over several of its retry delays
	// (3 s), the newer stream stays open and never hears "paused".
	quiet := time.After(8 * time.Second)
	for {
		select {
		case name, open := <-events:
			if !open {
				t.Fatal("the newer stream ended: the paused tab reconnected and took it back")
			}
			if name == "paused" {
				t.Fatal("the newer stream was paused: the older tab reconnected")
			}
		case <-quiet:
			if holds(first, streamOpen) {
				t.Error("the paused tab opened a stream again")
			}
			return
		}
	}
}
