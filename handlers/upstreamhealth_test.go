package handlers

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/sandbox"
)

// TestUpstreamFailuresShowInPages drives the handlers against a sandbox
// failing on purpose: the runs list falls back to history with the
// banner, the run page names what history recorded, a rate limit says when
// data refreshes, and nothing answers 500.
func TestUpstreamFailuresShowInPages(t *testing.T) {
	env := newTestEnv(t, envOptions{noRetry: true, upstreamWindow: 30 * time.Second})
	env.connect(demoKey, demoWS)
	seedHistory(t, env, false)
	if r := env.get("runs?ws=" + demoWS); r.StatusCode != http.StatusOK {
		t.Fatalf("runs before faults: %d %s", r.StatusCode, errorText(r))
	}

	env.sb.SetFaults(sandbox.Faults{Rate5xx: 1})
	var last response
	for i := range 3 { // upstream counts Extend degraded after 3 failures
		last = env.get("runs?ws=" + demoWS)
		if last.StatusCode != http.StatusOK {
			t.Fatalf("runs list with Extend failing (call %d): %d %s", i+1, last.StatusCode, errorText(last))
		}
	}
	d := last.doc(t)
	if note := testid(d, "runs-note").Text(); !strings.Contains(note, "newest runs Editwatch has stored") {
		t.Errorf("fallback note = %q", note)
	}
	if n := testid(d, "run-row").Length(); n != 10 {
		t.Errorf("fallback lists %d runs, want the 10 of history", n)
	}
	banner := strings.Join(strings.Fields(testid(d, "upstream-degraded").Text()), " ")
	if !regexp.MustCompile(`^Extend degraded: 3 of the last \d+ calls failed in the last 30 s\.`).MatchString(banner) ||
		!strings.Contains(banner, "next refresh in ~5 s") {
		t.Errorf("degraded banner = %q", banner)
	}

	r := env.get("runs/edr_Pa?ws=" + demoWS)
	if r.StatusCode != http.StatusBadGateway || r.Header.Get("Retry-After") != "5" {
		t.Fatalf("run page with Extend failing: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	d = r.doc(t)
	if got := testid(d, "error-recorded").Text(); !strings.Contains(got, "PROCESSED") || !strings.Contains(got, "w9-a.pdf") {
		t.Errorf("recorded facts = %q", got)
	}
	if testid(d, "retry-after").Length() != 1 || testid(d, "upstream-degraded").Length() != 1 {
		t.Errorf("error page lacks retry information or banner: %s", errorText(r))
	}

	env.sb.SetFaults(sandbox.Faults{Rate429: 1})
	d = env.get("runs?ws=" + demoWS).doc(t)
	if got := strings.Join(strings.Fields(testid(d, "upstream-rate-limited").Text()), " "); !strings.Contains(got, "data refreshes in ~1 s") {
		t.Errorf("rate-limit banner = %q", got)
	}
	if note := testid(d, "runs-note").Text(); !strings.Contains(note, "rate limiting") {
		t.Errorf("fallback note under 429 = %q", note)
	}

	env.sb.SetFaults(sandbox.Faults{})
	for range 5 { // upstream counts Extend back after 5 good answers
		env.get("runs?ws=" + demoWS)
	}
	d = env.get("runs?ws=" + demoWS).doc(t)
	if testid(d, "upstream-degraded").Length()+testid(d, "upstream-rate-limited").Length() != 0 {
		t.Error("banner still shown after Extend recovered")
	}
	if strings.Contains(testid(d, "runs-note").Text(), "newest runs Editwatch has stored") {
		t.Error("still the fallback after Extend recovered")
	}
}
