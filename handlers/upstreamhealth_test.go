package handlers

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/sandbox"
)

// fakeNow is a clock tests move by hand.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeNow) Add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func TestUpstreamHealthDegradesAndRecovers(t *testing.T) {
	clock := &fakeNow{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	h := NewUpstreamHealth(UpstreamHealthOptions{Window: 10 * time.Second, Now: clock.Now})
	const dep = "https://api.extend.test"
	observe := h.Observer(dep+"/", "ws_a")
	ok := extendapi.Observation{StatusCode: http.StatusOK}
	notFound := extendapi.Observation{StatusCode: http.StatusNotFound, Err: &extendapi.APIError{StatusCode: 404}}
	server := extendapi.Observation{StatusCode: http.StatusInternalServerError, Err: &extendapi.APIError{StatusCode: 500}}
	timeout := extendapi.Observation{Err: &extendapi.NetworkError{Timeout: true, Err: errors.New("deadline")}}

	for range 2 {
		observe(ok)
		observe(notFound) // an answer, not a failure
	}
	observe(server)
	observe(timeout)
	if st := h.State(dep, "ws_a"); st.Degraded || st.Failed != 2 || st.Attempts != 6 {
		t.Fatalf("two failures of six: %+v, want counted but not degraded", st)
	}
	observe(server)
	st := h.State(dep, "ws_a")
	if !st.Degraded || st.Failed != 3 || st.Attempts != 7 {
		t.Fatalf("three failures of seven: %+v, want degraded", st)
	}
	// The deployment is shared: another workspace on it sees the same.
	if !h.State(dep, "ws_b").Degraded {
		t.Error("another workspace of the deployment is not told")
	}
	if h.State("https://other.extend.test", "ws_a").Degraded {
		t.Error("another deployment is degraded too")
	}
	// A run of good answers clears it before the window ends.
	for range recoveredAfter - 1 {
		observe(ok)
	}
	if !h.State(dep, "").Degraded {
		t.Error("recovered before enough good answers")
	}
	observe(ok)
	if st := h.State(dep, ""); st.Degraded {
		t.Errorf("still degraded after %d good answers: %+v", recoveredAfter, st)
	}
	// Only the latest attempts count: good answers from before the trouble
	// do not hide it.
	for range 3 * attemptsKept {
		observe(ok)
	}
	for range attemptsKept / 2 {
		observe(server)
		observe(ok)
	}
	if st := h.State(dep, ""); !st.Degraded || st.Failed != attemptsKept/2 || st.Attempts != attemptsKept {
		t.Errorf("half of the latest attempts failed: %+v", st)
	}
	for range recoveredAfter {
		observe(ok)
	}
	// Failures leave with the window.
	for range 3 {
		observe(server)
	}
	if !h.State(dep, "").Degraded {
		t.Fatal("not degraded again")
	}
	clock.Add(11 * time.Second)
	if st := h.State(dep, ""); st.Degraded || st.Attempts != 0 {
		t.Errorf("after the window: %+v", st)
	}
}

func TestUpstreamHealthRateLimits(t *testing.T) {
	clock := &fakeNow{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	h := NewUpstreamHealth(UpstreamHealthOptions{Window: time.Minute, Now: clock.Now})
	const dep = "https://api.extend.test"
	limited := extendapi.Observation{StatusCode: http.StatusTooManyRequests,
		Err: &extendapi.APIError{StatusCode: 429, RetryAfter: 7 * time.Second}}
	h.Observer(dep, "ws_a")(limited)

	st := h.State(dep, "ws_a")
	if !st.RateLimited || st.RetryIn != 7*time.Second || st.Degraded || st.Attempts != 0 {
		t.Fatalf("after a 429: %+v, want rate limited for 7 s, not degraded", st)
	}
	if h.State(dep, "ws_b").RateLimited || h.State(dep, "").RateLimited {
		t.Error("the rate limit of ws_a shows for another workspace")
	}
	clock.Add(5 * time.Second)
	if st := h.State(dep, "ws_a"); st.RetryIn != 2*time.Second {
		t.Errorf("5 s later: retry in %v, want 2 s", st.RetryIn)
	}
	clock.Add(5 * time.Second)
	if st := h.State(dep, "ws_a"); !st.RateLimited || st.RetryIn != 0 {
		t.Errorf("after the wait but before any answer: %+v", st)
	}
	h.Observer(dep, "ws_a")(extendapi.Observation{StatusCode: http.StatusOK})
	if st := h.State(dep, "ws_a"); st.RateLimited {
		t.Errorf("still rate limited after an answer: %+v", st)
	}
}

// TestUpstreamFailuresShowInPages drives the handlers against a sandbox
// failing on purpose: the runs list falls back to history with the
// banner, the run page names what history recorded, a rate limit says when
// data refreshes, and nothing answers 500.
func TestUpstreamFailuresShowInPages(t *testing.T) {
	env := newTestEnv(t, envOptions{noRetry: true})
	env.app.Upstream = NewUpstreamHealth(UpstreamHealthOptions{Window: 30 * time.Second})
	env.connect(demoKey, demoWS)
	seedHistory(t, env, false)
	if r := env.get("runs?ws=" + demoWS); r.StatusCode != http.StatusOK {
		t.Fatalf("runs before faults: %d %s", r.StatusCode, errorText(r))
	}

	env.sb.SetFaults(sandbox.Faults{Rate5xx: 1})
	var last response
	for i := range degradedMinFailures {
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
	for range recoveredAfter {
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
