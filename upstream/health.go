package upstream

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// DefaultHealthWindow is how far back Health counts Extend's
// failures.
const DefaultHealthWindow = time.Minute

// When Extend counts as degraded, counting a deployment's calls of the
// window (5xx, timeouts and network errors fail; 429s are rate limits,
// not failures): its latest degradedMinFailures calls all failed; or
// degradedMinFailures failures came within degradedBurstSpan of one
// another, however many calls succeeded around them; or at least
// degradedMinFailures failed, making up degradedMinShare of the window's
// calls. A run of recoveredAfter good answers clears the state before the
// failures leave the window, so the banner goes as soon as Extend is back.
// Neither a burst nor a run of failures depends on how many calls fitted
// in the window (a fast machine makes many quick good calls while one
// timeout runs out), so a few timeouts show whatever the machine's speed;
// the share catches steady failures among sparse calls.
const (
	degradedMinFailures = 3
	degradedBurstSpan   = 10 * time.Second
	degradedMinShare    = 0.25
	recoveredAfter      = 5
	// attemptsKept bounds the memory of a deployment's busiest minute.
	attemptsKept = 1000
)

// defaultUpstreamRetry is when to try again after a failure that came
// without Retry-After: about one poll of a processing row.
const defaultUpstreamRetry = 5 * time.Second

// DefaultRetryAfter is when pages tell people to try again after a
// failure of Extend that came without Retry-After.
const DefaultRetryAfter = defaultUpstreamRetry

// Health remembers how Extend answered lately, so pages can say so
// instead of failing: per deployment, which attempts failed (5xx,
// timeouts, network errors) within a sliding window; per workspace, the last
// 429 and the wait it asked for. Every Extend client feeds it through an
// observer (see Connector). It is safe for concurrent use.
type Health struct {
	window time.Duration
	now    func() time.Time

	mu          sync.Mutex
	deployments map[string]*deploymentHealth
	limits      map[string]*rateLimitState
	lastSweep   time.Time
}

// HealthOptions configure NewHealth; zero fields take
// defaults.
type HealthOptions struct {
	// Window is how far back failures count (DefaultHealthWindow).
	Window time.Duration
	Now    func() time.Time
}

// NewHealth returns an empty tracker: nothing is degraded until
// Extend fails.
func NewHealth(opts HealthOptions) *Health {
	if opts.Window <= 0 {
		opts.Window = DefaultHealthWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Health{window: opts.Window, now: opts.Now,
		deployments: map[string]*deploymentHealth{}, limits: map[string]*rateLimitState{}}
}

type attemptOutcome struct {
	at     time.Time
	failed bool
}

type deploymentHealth struct {
	attempts []attemptOutcome // oldest first
	streak   int              // good answers since the last failure
}

// prune forgets the attempts that left the window.
func (d *deploymentHealth) prune(since time.Time) {
	i := 0
	for i < len(d.attempts) && d.attempts[i].at.Before(since) {
		i++
	}
	if i > 0 {
		d.attempts = append(d.attempts[:0], d.attempts[i:]...)
	}
}

// judge counts the failed attempts of the window and applies the rule
// stated with degradedMinFailures.
func (d *deploymentHealth) judge() (failed int, degraded bool) {
	var failures []time.Time
	for _, a := range d.attempts {
		if a.failed {
			failures = append(failures, a.at)
		}
	}
	failed = len(failures)
	if d.streak >= recoveredAfter || failed < degradedMinFailures {
		return failed, false
	}
	inARow := 0
	for i := len(d.attempts) - 1; i >= 0 && d.attempts[i].failed; i-- {
		inARow++
	}
	if inARow >= degradedMinFailures {
		return failed, true
	}
	for i := degradedMinFailures - 1; i < len(failures); i++ {
		if failures[i].Sub(failures[i-degradedMinFailures+1]) <= degradedBurstSpan {
			return failed, true
		}
	}
	return failed, float64(failed) >= degradedMinShare*float64(len(d.attempts))
}

type rateLimitState struct {
	limitedAt  time.Time
	until      time.Time // Extend asked for no request before then
	answeredAt time.Time // the last answer that was not a 429
}

// State is what the tracker knows about one workspace's Extend.
type State struct {
	// Failed of the Attempts on the deployment within Window (the
	// latest attemptsKept) failed; Degraded says whether that is
	// degradation by the rule stated with degradedMinFailures.
	Degraded         bool
	Failed, Attempts int
	Window           time.Duration
	// RateLimited: the workspace's latest answer was a 429; Extend takes
	// requests again in RetryIn.
	RateLimited bool
	RetryIn     time.Duration
}

// upstreamScope names a workspace on a deployment, for rate limits.
func upstreamScope(deployment, ref string) string { return deployment + "\x00" + ref }

// deploymentName is a base URL as the tracker keys it.
func deploymentName(baseURL string) string { return strings.TrimRight(baseURL, "/") }

// Observer returns the extendapi observer of a client acting in the
// workspace named ref on deployment.
func (h *Health) Observer(deployment, ref string) func(extendapi.Observation) {
	deployment = deploymentName(deployment)
	scope := upstreamScope(deployment, ref)
	return func(o extendapi.Observation) { h.observe(deployment, scope, o) }
}

func (h *Health) observe(deployment, scope string, o extendapi.Observation) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweepLocked(now)
	if o.StatusCode == http.StatusTooManyRequests {
		wait := defaultUpstreamRetry
		var apiErr *extendapi.APIError
		if errors.As(o.Err, &apiErr) && apiErr.RetryAfter > 0 {
			wait = apiErr.RetryAfter
		}
		rl := h.limits[scope]
		if rl == nil {
			rl = &rateLimitState{}
			h.limits[scope] = rl
		}
		rl.limitedAt = now
		if until := now.Add(wait); until.After(rl.until) {
			rl.until = until
		}
		return
	}
	if rl := h.limits[scope]; rl != nil && o.StatusCode != 0 {
		rl.answeredAt = now
	}
	failed := o.StatusCode >= 500 || (o.StatusCode == 0 && o.Err != nil)
	d := h.deployments[deployment]
	if d == nil {
		d = &deploymentHealth{}
		h.deployments[deployment] = d
	}
	d.prune(now.Add(-h.window))
	if len(d.attempts) >= attemptsKept {
		d.attempts = append(d.attempts[:0], d.attempts[1:]...)
	}
	d.attempts = append(d.attempts, attemptOutcome{at: now, failed: failed})
	if failed {
		d.streak = 0
	} else {
		d.streak++
	}
}

// sweepLocked drops what no longer says anything, now and then, so a
// long-running process keeps one entry per live deployment and workspace.
func (h *Health) sweepLocked(now time.Time) {
	if now.Sub(h.lastSweep) < h.window {
		return
	}
	h.lastSweep = now
	since := now.Add(-h.window)
	for name, d := range h.deployments {
		if d.prune(since); len(d.attempts) == 0 {
			delete(h.deployments, name)
		}
	}
	for scope, rl := range h.limits {
		if rl.limitedAt.Before(since) && rl.until.Before(now) {
			delete(h.limits, scope)
		}
	}
}

// State is what is known now about the workspace ref on deployment; ref
// "" leaves rate limits out.
func (h *Health) State(deployment, ref string) State {
	deployment = deploymentName(deployment)
	now := h.now()
	st := State{Window: h.window}
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := h.deployments[deployment]; d != nil {
		d.prune(now.Add(-h.window))
		st.Attempts = len(d.attempts)
		st.Failed, st.Degraded = d.judge()
	}
	if ref == "" {
		return st
	}
	if rl := h.limits[upstreamScope(deployment, ref)]; rl != nil &&
		now.Sub(rl.limitedAt) < h.window && !rl.answeredAt.After(rl.limitedAt) {
		st.RateLimited = true
		st.RetryIn = max(rl.until.Sub(now), 0)
	}
	return st
}
