package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/editwatch/editwatch/alerts"
	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/internal/testenv"
)

// TestAlertOnSandboxFailureSpike runs the dashboard with the embedded
// sandbox and the README's rules file: runs made directly in the sandbox
// (no page open) reach history through its webhooks; a spike of failures
// made with the rateFail fault fires one notification within a few
// evaluation intervals, and more failures while it holds send nothing.
func TestAlertOnSandboxFailureSpike(t *testing.T) {
	hook, received := alertReceiver(t)

	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	rules := `channels:
  - name: ops-hook
    type: webhook
    url: ` + hook.URL + `/hook
rules:
  - name: failure-spike
    workspace: ws_demo
    kind: failure_rate
    above: 0.5
    min_runs: 5
    reasons: [FIELD_DETECTION_ERROR]
    window: 5m
    resolve_after: 5m
    notify: [ops-hook]
`
	if err := os.WriteFile(rulesFile, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := startServeArgs(t, "--sandbox", "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
		"--alert-rules", rulesFile, "--alert-interval", "1s", "--alerts-allow-private-urls")
	sandboxURL := strings.TrimSuffix(base, "/") + "/_sandbox"
	setFaults := func(faults string) {
		resp, err := http.Post(sandboxURL+"/faults", "application/json", strings.NewReader(faults))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("faults %s: %d", faults, resp.StatusCode)
		}
	}
	api, err := extendapi.New(extendapi.APIKey("sk_sandbox_demo"), extendapi.WithBaseURL(sandboxURL),
		extendapi.WithWorkspace("ws_demo"), extendapi.WithLimiter(nil), extendapi.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	files, err := api.ListFiles(ctx, extendapi.ListFilesParams{})
	if err != nil || len(files.Data) == 0 {
		t.Fatalf("sandbox files: %v", err)
	}
	create := func(n int) {
		for range n {
			if _, err := api.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: files.Data[0].ID}}); err != nil {
				t.Fatalf("create run: %v", err)
			}
		}
	}

	setFaults(`{"rateFail": 1, "failReason": "FIELD_DETECTION_ERROR"}`)
	create(6)
	deadline := time.Now().Add(60 * time.Second)
	for len(received()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no notification within 60 s of the failure spike")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p := received()[0]
	if p.Rule != "failure-spike" || p.Kind != alerts.NotifyFiring || p.Deployment != "sandbox" || p.Workspace != "ws_demo" ||
		len(p.ExampleRunIDs) == 0 || !strings.Contains(p.RunsURL, "reason=FIELD_DETECTION_ERROR") {
		t.Fatalf("notification: %+v", p)
	}
	// More failures while it holds: nothing more (a few intervals).
	create(4)
	time.Sleep(4 * time.Second)
	if n := len(received()); n != 1 {
		t.Fatalf("%d notifications while the spike holds, want 1", n)
	}

	// The alerts page, as a person sees it: the rule firing, from file,
	// and the delivery in the log. EDITWATCH_SCREENSHOTS=dir keeps the
	// screenshot (the README's docs/screenshots/alerts.png).
	if testing.Short() {
		return
	}
	alertsPageInBrowser(t, strings.TrimSuffix(base, "/"))
}

func alertsPageInBrowser(t *testing.T, base string) {
	chromium := testenv.Chromium(t)
	ctx, closeBrowser := testenv.StartBrowser(t, chromium, 1360, 900)
	defer closeBrowser()
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(stepCtx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	waitFor := func(what, expr string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			stepCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
			ok, err := chromedp.Run(stepCtx, chromedp.Evaluate[bool](expr))
			cancel()
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s (%s): %v", what, expr, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	do("open dashboard", chromedp.Navigate(base+"/"))
	waitFor("connect page", `!!document.querySelector('[data-testid=connect-submit]')`)
	do("connect", chromedp.Click(chromedp.CSS(`[data-testid=connect-submit]`)))
	waitFor("runs table", `document.querySelectorAll('[data-testid=run-row]').length > 0`)
	do("open alerts", chromedp.Click(chromedp.CSS(`[data-testid=nav-alerts]`)))
	waitFor("the rule firing", `(document.querySelector('[data-testid=alert-rule][data-rule=failure-spike] [data-testid=alert-status]')||{}).textContent?.includes('firing')`)
	waitFor("the delivery", `document.querySelectorAll('[data-testid=alert-delivery]').length === 1 && document.querySelector('[data-testid=alert-delivery]').textContent.includes('sent')`)
	waitFor("from file", `document.querySelector('[data-testid=alert-origin]').textContent.trim() === 'from file'`)
	if shots := os.Getenv("EDITWATCH_SCREENSHOTS"); shots != "" {
		stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		png, err := chromedp.Run(stepCtx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(shots, "alerts.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// alertReceiver is an alert webhook's receiver: its server (closed when t
// ends) and the payloads it got so far.
func alertReceiver(t *testing.T) (*httptest.Server, func() []alerts.Payload) {
	var mu sync.Mutex
	var got []alerts.Payload
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p alerts.Payload
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	return hook, func() []alerts.Payload { mu.Lock(); defer mu.Unlock(); return append([]alerts.Payload(nil), got...) }
}
