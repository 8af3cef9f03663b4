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

// upstreamStep is what a test deployment sees: after waiting wait, n
// answers of one kind.
type upstreamStep struct {
	wait time.Duration
	n    int
	o    extendapi.Observation
}

var (
	answerOK       = extendapi.Observation{StatusCode: http.StatusOK}
	answerNotFound = extendapi.Observation{StatusCode: http.StatusNotFound, Err: &extendapi.APIError{StatusCode: 404}}
	answerServer   = extendapi.Observation{StatusCode: http.StatusInternalServerError, Err: &extendapi.APIError{StatusCode: 500}}
	answerTimeout  = extendapi.Observation{Err: &extendapi.NetworkError{Timeout: true, Err: errors.New("deadline")}}
	answerLimited  = extendapi.Observation{StatusCode: http.StatusTooManyRequests, Err: &extendapi.APIError{StatusCode: 429, RetryAfter: time.Second}}
)

// repeatSteps is steps times times over.
func repeatSteps(times int, steps ...upstreamStep) []upstreamStep {
	var out []upstreamStep
	for range times {
		out = append(out, steps...)
	}
	return out
}

// TestUpstreamHealthDegradedRule: the rule stated with degradedMinFailures,
// one case per clause, with a clock moved by hand: failures in a row or in
// a burst count however many calls succeeded around them.
func TestUpstreamHealthDegradedRule(t *testing.T) {
	for _, tt := range []struct {
		name             string
		steps            []upstreamStep
		degraded         bool
		failed, attempts int
	}{
		{"two failures of six, a 404 being an answer",
			append(repeatSteps(2, upstreamStep{n: 1, o: answerOK}, upstreamStep{n: 1, o: answerNotFound}),
				upstreamStep{n: 1, o: answerServer}, upstreamStep{n: 1, o: answerTimeout}),
			false, 2, 6},
		{"three failures in a row",
			append(repeatSteps(2, upstreamStep{n: 1, o: answerOK}, upstreamStep{n: 1, o: answerNotFound}),
				upstreamStep{n: 1, o: answerServer}, upstreamStep{n: 1, o: answerTimeout}, upstreamStep{n: 1, o: answerServer}),
			true, 3, 7},
		{"three timeouts in a row, 15 s apart, after many good answers",
			append([]upstreamStep{{n: 20, o: answerOK}}, repeatSteps(3, upstreamStep{wait: 15 * time.Second, n: 1, o: answerTimeout})...),
			true, 3, 23},
		{"three timeouts within 10 s among hundreds of quick good answers",
			repeatSteps(3, upstreamStep{n: 100, o: answerOK}, upstreamStep{wait: 4 * time.Second, n: 1, o: answerTimeout}),
			true, 3, 303},
		{"good answers before the trouble do not hide it",
			append([]upstreamStep{{n: 60, o: answerOK}}, repeatSteps(10, upstreamStep{n: 1, o: answerServer}, upstreamStep{n: 1, o: answerOK})...),
			true, 10, 80},
		{"three failures 11 s apart among good answers",
			repeatSteps(3, upstreamStep{wait: 11 * time.Second, n: 1, o: answerServer}, upstreamStep{n: 10, o: answerOK}),
			false, 3, 33},
		{"a steady quarter of sparse calls fails",
			repeatSteps(4, upstreamStep{wait: 12 * time.Second, n: 1, o: answerServer}, upstreamStep{n: 3, o: answerOK}),
			true, 4, 16},
		{"four good answers after the failures do not clear it",
			[]upstreamStep{{n: 3, o: answerServer}, {n: recoveredAfter - 1, o: answerOK}},
			true, 3, 3 + recoveredAfter - 1},
		{"five good answers in a row clear it",
			[]upstreamStep{{n: 3, o: answerServer}, {n: recoveredAfter, o: answerOK}},
			false, 3, 3 + recoveredAfter},
		{"a failure after the recovery brings it back",
			[]upstreamStep{{n: 3, o: answerServer}, {n: recoveredAfter, o: answerOK}, {n: 1, o: answerTimeout}},
			true, 4, 4 + recoveredAfter},
		{"failures leave with the window",
			[]upstreamStep{{n: 5, o: answerServer}, {wait: 61 * time.Second, n: 1, o: answerOK}},
			false, 0, 1},
		{"429s are rate limits, not failures",
			[]upstreamStep{{n: 5, o: answerLimited}},
			false, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeNow{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			h := NewHealth(HealthOptions{Window: time.Minute, Now: clock.Now})
			observe := h.Observer("https://api.extend.test", "ws_a")
			for _, s := range tt.steps {
				clock.Add(s.wait)
				for range s.n {
					observe(s.o)
				}
			}
			st := h.State("https://api.extend.test", "")
			if st.Degraded != tt.degraded || st.Failed != tt.failed || st.Attempts != tt.attempts {
				t.Errorf("state %+v, want degraded %v with %d of %d failed", st, tt.degraded, tt.failed, tt.attempts)
			}
		})
	}
}

// TestUpstreamHealthPerDeployment: a deployment's state is shared by its
// workspaces and by its URL with or without the trailing slash, and by no
// other deployment.
func TestUpstreamHealthPerDeployment(t *testing.T) {
	h := NewHealth(HealthOptions{})
	const dep = "https://api.extend.test"
	observe := h.Observer(dep+"/", "ws_a")
	for range degradedMinFailures {
		observe(answerServer)
	}
	if !h.State(dep, "ws_a").Degraded {
		t.Fatal("not degraded after failures in a row")
	}
	if !h.State(dep, "ws_b").Degraded {
		t.Error("another workspace of the deployment is not told")
	}
	if h.State("https://other.extend.test", "ws_a").Degraded {
		t.Error("another deployment is degraded too")
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
