package upstream

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
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
	h := NewHealth(HealthOptions{Window: 10 * time.Second, Now: clock.Now})
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
	h := NewHealth(HealthOptions{Window: time.Minute, Now: clock.Now})
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
