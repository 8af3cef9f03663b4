package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/internal/testenv"
)

// buildEditwatch compiles the editwatch command for the harness to run.
func buildEditwatch(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("CI=true but no go tool on the PATH to build editwatch with")
		}
		t.Skip("no go tool on the PATH to build editwatch with")
	}
	exe := filepath.Join(t.TempDir(), "editwatch")
	cmd := exec.Command(goTool, "build", "-o", exe, "github.com/editwatch/editwatch")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// TestShortLoad runs the whole harness briefly with tiny numbers: it seeds,
// starts the dashboard, connects, loads every page kind and the event
// streams, and must come back with sane figures and no error at all.
func TestShortLoad(t *testing.T) {
	exe := buildEditwatch(t)
	out := filepath.Join(t.TempDir(), "result.json")
	opts := Options{Executable: exe, Progress: testWriter{t}, Bench: config.Bench{
		Duration: 3 * time.Second, Rate: 10, Users: 2, Streams: 2, NewRuns: 1, Runs: 500, Days: 3, Out: out,
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	var printed bytes.Buffer
	rep.Print(&printed)
	t.Log(printed.String())

	if n := rep.Errors(); n != 0 {
		t.Errorf("%d errors during the load", n)
	}
	// Requests are due at fixed times: 3 s at 10/s is 30, 6 of each kind.
	for _, kind := range []string{kindStatic, kindHealthz, kindRuns, kindRun, kindOverview} {
		p, ok := rep.Page(kind)
		if !ok {
			t.Fatalf("no figures for %s", kind)
		}
		if p.Requests != 6 || p.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors; want 6 and 0", p.Name, p.Requests, p.Errors)
		}
		if !(p.P50Ms > 0 && p.P50Ms <= p.P95Ms && p.P95Ms <= p.P99Ms && p.P99Ms <= p.MaxMs) {
			t.Errorf("%s: percentiles out of order: %+v", p.Name, p)
		}
		if p.P50Ratio <= 0 || math.IsInf(p.P50Ratio, 0) || math.IsNaN(p.P50Ratio) {
			t.Errorf("%s: ratio to the baseline %v", p.Name, p.P50Ratio)
		}
	}
	if base, _ := rep.Page(kindStatic); base.P50Ratio != 1 {
		t.Errorf("the baseline's own ratio is %v", base.P50Ratio)
	}
	if s, _ := rep.Page(kindStream); s.Requests != 2 || s.Errors != 0 || s.P50Ms <= 0 {
		t.Errorf("event streams: %+v", s)
	}
	if l := rep.Live; l.RunsCreated == 0 || l.RunsDelivered != l.RunsCreated || l.Changes < 2*l.RunsCreated {
		t.Errorf("live: %+v; want every created run to reach both streams", l)
	}
	// A run page fetches its run from Extend; the other pages read history.
	if u := rep.Upstream; u.PageViews != 18 || u.ByOperation["GetEditRun"] < 6 || u.PerPageView <= 0 {
		t.Errorf("upstream: %+v", u)
	}
	if runtime.GOOS == "linux" {
		if m := rep.Memory; !m.Available || m.RSSEndKiB < 1024 || m.PeakKiB < m.RSSEndKiB || m.RSSBeforeKiB < 1024 ||
			m.AnonEndKiB <= 0 || m.FileEndKiB <= 0 || m.AnonEndKiB+m.FileEndKiB > m.RSSEndKiB {
			t.Errorf("memory: %+v", m)
		}
	}
	if rep.ServerLog.Errors != 0 || rep.ServerExit != "" {
		t.Errorf("server: %+v, exit %q", rep.ServerLog, rep.ServerExit)
	}
	for _, want := range []string{"static asset (baseline)", "p50 ÷ static p50", "per page view", "VmHWM"} {
		if !strings.Contains(printed.String(), want) {
			t.Errorf("the printed report lacks %q", want)
		}
	}

	if err := rep.WriteJSON(out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Pages) != len(rep.Pages) || back.Settings.SeededRuns != 500 {
		t.Errorf("JSON result: %v, %+v", err, back.Settings)
	}
}

func TestMissingExecutable(t *testing.T) {
	_, err := Run(context.Background(), Options{Executable: filepath.Join(t.TempDir(), "nothing"), Bench: config.Bench{
		Duration: time.Second, Rate: 1, Users: 1, Runs: 1, Days: 1,
	}})
	if err == nil || !strings.Contains(err.Error(), "nothing") {
		t.Fatalf("err = %v, want one naming the missing executable", err)
	}
}

func TestParseUpstreamSample(t *testing.T) {
	for line, want := range map[string]int{
		`editwatch_extend_requests_total{operation="GetEditRun",status="200"} 12`:        12,
		`editwatch_extend_requests_total{status="429",operation="ListEditRuns"} 3e+00`:   3,
		`editwatch_extend_requests_total{operation="GetEditRun",status="200"} 7 1700000`: 7,
	} {
		if _, n, ok := parseUpstreamSample(line); !ok || n != want {
			t.Errorf("%s: %d, %v; want %d", line, n, ok, want)
		}
	}
	for _, line := range []string{"# HELP editwatch_extend_requests_total x", `editwatch_http_requests_total{route="/"} 1`,
		`editwatch_extend_requests_total{status="200"} 1`, `editwatch_extend_requests_total{operation="x"} `} {
		if _, _, ok := parseUpstreamSample(line); ok {
			t.Errorf("%s: parsed", line)
		}
	}
	if d := upstreamDelta(map[string]int{"A": 2, "B": 1}, map[string]int{"A": 5, "B": 1, "C": 1}); len(d) != 2 || d["A"] != 3 || d["C"] != 1 {
		t.Errorf("delta %v", d)
	}
}

func TestParseProcStatus(t *testing.T) {
	status := []byte("Name:\teditwatch\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nRssAnon:\t   30000 kB\nRssFile:\t   10960 kB\n")
	if rss, hwm := parseProcStatus(status, "VmRSS:"), parseProcStatus(status, "VmHWM:"); rss != 40960 || hwm != 51200 {
		t.Errorf("rss %d, hwm %d", rss, hwm)
	}
	if anon, file := parseProcStatus(status, "RssAnon:"), parseProcStatus(status, "RssFile:"); anon != 30000 || file != 10960 {
		t.Errorf("anon %d, file %d", anon, file)
	}
}

// testWriter sends the harness's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
