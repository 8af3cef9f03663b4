package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/alerts"
	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/handlers"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// TestAlertOnStuckRunWithNobodyWatching: a run created directly in the
// sandbox that never finishes (rateStuck) sends no webhook, and no page
// is open; the stuck rule still fires, because its workspace's shared
// poll keeps running on the workspace's service key.
func TestAlertOnStuckRunWithNobodyWatching(t *testing.T) {
	hook, received := alertReceiver(t)

	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	rules := `channels:
  - name: ops-hook
    type: webhook
    url: ` + hook.URL + `/hook
rules:
  - name: stuck-runs
    workspace: ws_demo
    kind: stuck
    longer_than: 2s
    window: 1h
    notify: [ops-hook]
`
	if err := os.WriteFile(rulesFile, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := startServeArgs(t, "--sandbox", "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
		"--alert-rules", rulesFile, "--alert-interval", "1s", "--alerts-allow-private-urls")

	// A person stores the workspace's service key once, then closes the
	// page: nothing watches the workspace from here on.
	c := faultConnectDemo(t, base)
	_, page := faultGet(t, c, strings.TrimSuffix(base, "/")+views.SettingsURL("/", "ws_demo"))
	d, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	keyForm := d.Find(`form[data-testid="service-key-form"]`)
	action, ok := keyForm.Attr("action")
	if !ok {
		t.Fatalf("settings page without the service-key form:\n%s", page)
	}
	form := url.Values{}
	keyForm.Find("input").Each(func(_ int, s *goquery.Selection) {
		if name, ok := s.Attr("name"); ok {
			form.Set(name, s.AttrOr("value", ""))
		}
	})
	form.Set(views.FieldServiceKey, "sk_sandbox_demo")
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	actionURL, err := target.Parse(action)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.PostForm(actionURL.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("store the service key: %d", resp.StatusCode)
	}

	sandboxURL := strings.TrimSuffix(base, "/") + "/_sandbox"
	resp, err = http.Post(sandboxURL+"/faults", "application/json", strings.NewReader(`{"rateStuck": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
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
	run, err := api.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: files.Data[0].ID}})
	if err != nil {
		t.Fatalf("create run: %v", err)
	}

	deadline := time.Now().Add(90 * time.Second)
	for len(received()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no notification within 90 s of a run stuck with nobody watching")
		}
		time.Sleep(100 * time.Millisecond)
	}
	p := received()[0]
	if p.Rule != "stuck-runs" || p.Kind != alerts.NotifyFiring || p.Workspace != "ws_demo" || len(p.ExampleRunIDs) == 0 {
		t.Fatalf("notification: %+v", p)
	}
	// The seeded demo history has stuck runs of its own, so the firing
	// alone does not prove the poll: the new run, which sends no webhook
	// and was never shown on a page, must reach history as PROCESSING.
	st, err := store.Open(ctx, filepath.Join(dir, "data", "editwatch.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tenant := store.TenantFor(handlers.SandboxDeployment, "ws_demo", "")
	for {
		snap, err := st.GetRun(ctx, tenant, run.ID)
		if err == nil && snap.Status == store.StatusProcessing {
			break
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stuck run %s never reached history with nobody watching (last: %v)", run.ID, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
