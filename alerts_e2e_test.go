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

	"github.com/editwatch/editwatch/alerts"
	"github.com/editwatch/editwatch/extendapi"
)

// TestAlertOnSandboxFailureSpike runs the dashboard with the embedded
// sandbox and the README's rules file: runs made directly in the sandbox
// (no page open) reach history through its webhooks; a spike of failures
// made with the rateFail fault fires one notification within a few
// evaluation intervals, and more failures while it holds send nothing.
func TestAlertOnSandboxFailureSpike(t *testing.T) {
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
	defer hook.Close()
	received := func() []alerts.Payload { mu.Lock(); defer mu.Unlock(); return append([]alerts.Payload(nil), got...) }

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
}
