package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/alerts"
	"github.com/editwatch/editwatch/config"
)

const wiringRules = `channels:
  - name: ops-hook
    type: webhook
    url: http://127.0.0.1:9999/hook
rules:
  - name: failure-spike
    workspace: ws_demo
    kind: failure_rate
    above: 0.2
    notify: [ops-hook]
`

// A bad rules file stops the start with exit code 2, naming the line.
func TestBadAlertRulesFileExits2(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(wiringRules, "above: 0.2", "abov: 0.2", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--sandbox", "--data-dir", dir, "--listen", "127.0.0.1:0", "--alert-rules", path},
		func(string) string { return "" }, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), path+":9: unknown key \"abov\"") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// On SIGHUP a good file replaces the rules and a bad one keeps them.
func TestReloadAlertRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(wiringRules), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Serve{Sandbox: true, Alerts: config.Alerts{RulesFile: path}}
	first, err := alerts.LoadFile(path, alertDeployment(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if first.Rules[0].Deployment != "sandbox" {
		t.Errorf("default deployment under --sandbox: %q", first.Rules[0].Deployment)
	}
	engine := alerts.NewEngine(alerts.Options{}, first)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	if err := os.WriteFile(path, []byte(strings.Replace(wiringRules, "kind: failure_rate", "kind: nope", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	reloadAlertRules(engine, cfg, logger)
	if r := engine.Rules(); len(r.Rules) != 1 || r.Rules[0].Kind != alerts.KindFailureRate {
		t.Fatalf("a bad file changed the rules: %+v", r.Rules)
	}
	if !strings.Contains(logs.String(), "not reloaded") || !strings.Contains(logs.String(), `kind \"nope\"`) {
		t.Errorf("log: %s", logs.String())
	}
	if err := os.WriteFile(path, []byte(strings.Replace(wiringRules, "above: 0.2", "above: 0.5", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	reloadAlertRules(engine, cfg, logger)
	if r := engine.Rules(); r.Rules[0].Above != 0.5 {
		t.Fatalf("a good file was not loaded: %+v", r.Rules)
	}
}
