package alerts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTheREADMEExample(t *testing.T) {
	rules, err := Parse([]byte(issueExample), "us", os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules.Channels) != 2 || len(rules.Rules) != 1 {
		t.Fatalf("%d channels, %d rules", len(rules.Channels), len(rules.Rules))
	}
	r := rules.Rules[0]
	if r.Name != "failure-spike" || r.Tenant() != "us/ws_demo" || r.Kind != KindFailureRate || r.Above != 0.2 || r.MinRuns != 5 ||
		r.Window != 5*time.Minute || r.ResolveAfter != 5*time.Minute || r.Repeat != DefaultRepeat || r.For != 0 ||
		!r.Enabled || r.Line != 11 || strings.Join(r.Notify, ",") != "ops-hook" {
		t.Errorf("rule: %+v", r)
	}
	if c := rules.Channels[1]; c.Type != ChannelEmail || strings.Join(c.To, ",") != "oncall@example.com" {
		t.Errorf("mail channel: %+v", c)
	}
}

func TestParseEveryKind(t *testing.T) {
	src := `channels:
  - {name: s, type: slack, url: "https://hooks.slack.example/x"}
rules:
  - {name: r1, workspace: ws_a, kind: reason, reason: OUT_OF_CREDITS, notify: [s]}
  - {name: r2, workspace: ws_a, kind: stuck, longer_than: 20m, notify: s}
  - {name: r3, workspace: ws_a, kind: slow, above: 90s, window: 1h, notify: [s]}
  - {name: r4, workspace: ws_a, kind: silence, window: 2h, hours: "22-6", notify: [s]}
  - {name: r5, workspace: ws_a, kind: credits, above: 500, window: 24h, for: 10m, repeat: 1h, notify: [s], enabled: false}
`
	rules, err := Parse([]byte(src), "sandbox", nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Rule{}
	for _, r := range rules.Rules {
		byName[r.Name] = r
	}
	if r := byName["r1"]; r.Reason != "OUT_OF_CREDITS" || r.AtLeast != 1 || r.Deployment != "sandbox" {
		t.Errorf("reason: %+v", r)
	}
	if r := byName["r2"]; r.LongerThan != 20*time.Minute {
		t.Errorf("stuck: %+v", r)
	}
	if r := byName["r3"]; r.Above != 90000 {
		t.Errorf("slow: above %v ms", r.Above)
	}
	r4 := byName["r4"]
	if r4.Hours != (HourRange{22, 6}) || !r4.Hours.Contains(time.Date(2026, 1, 1, 23, 0, 0, 0, time.UTC)) ||
		r4.Hours.Contains(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("silence: %+v", r4.Hours)
	}
	if r := byName["r5"]; r.Above != 500 || r.For != 10*time.Minute || r.Repeat != time.Hour || r.Enabled {
		t.Errorf("credits: %+v", r)
	}
}

func TestBadRulesFileNamesTheLine(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("whsec_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, src string
		line      int
		problem   string
	}{
		{"yaml", "rules:\n  - name: [\n", 2, ""},
		{"unknown key", strings.Replace(issueExample, "min_runs: 5", "min_run: 5", 1), 16, `unknown key "min_run"`},
		{"kind", strings.Replace(issueExample, "kind: failure_rate ", "kind: failures ", 1), 11, `kind "failures"`},
		{"threshold", strings.Replace(issueExample, "above: 0.2", "above: lots", 1), 15, `above "lots"`},
		{"share", strings.Replace(issueExample, "above: 0.2", "above: 20", 1), 15, `share of finished runs is below 1`},
		{"duration", strings.Replace(issueExample, "window: 5m", "window: 5 minutes", 1), 17, `want a duration`},
		{"channel", strings.Replace(issueExample, "notify: [ops-hook]", "notify: [ops]", 1), 11, `notifies "ops"`},
		{"workspace", strings.Replace(issueExample, "workspace: ws_demo", "workspace: demo", 1), 11, `workspace "demo"`},
		{"inline secret", strings.Replace(issueExample, "    # secret_file: /run/secrets/ops-hook-secret", "    secret: hunter2", 1), 6, `secret_file`},
		{"url", strings.Replace(issueExample, "url: http://127.0.0.1:9999/hook", "url: ftp://x", 1), 2, `http:// or https://`},
		{"missing secret file", strings.Replace(issueExample, "    # secret_file: /run/secrets/ops-hook-secret", "    secret_file: "+filepath.Join(dir, "nope"), 1), 2, `secret_file`},
		{"email", strings.Replace(issueExample, "to: [oncall@example.com]", "to: [oncall]", 1), 7, `not a plain e-mail address`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".yaml")
			if err := os.WriteFile(path, []byte(tc.src), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadFile(path, "us")
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err %v, want a *FileError", err)
			}
			if fe.Line != tc.line || !strings.Contains(fe.Problem, tc.problem) || fe.Path != path {
				t.Errorf("got %q (line %d), want line %d and %q", err, fe.Line, tc.line, tc.problem)
			}
		})
	}
	// secret_file is read, and never shown.
	src := strings.Replace(issueExample, "    # secret_file: /run/secrets/ops-hook-secret", "    secret_file: "+secret, 1)
	rules, err := Parse([]byte(src), "us", os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if c := rules.Channels[0]; c.Secret != "whsec_x" || strings.Contains(c.String(), "whsec") || strings.Contains(c.String(), "127.0.0.1") {
		t.Errorf("channel: %s", c)
	}
}
