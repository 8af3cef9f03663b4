package extendapi

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Category is one of Extend's rate-limit buckets (§4.4). Extend counts each
// category separately, per organization.
type Category string

const (
	// CategoryGET covers reads: getting and listing runs, files, templates
	// and webhook endpoints.
	CategoryGET Category = "GET"
	// CategoryWRITE covers mutations that start no processing: deletes,
	// webhook endpoint create/update, and file upload (it stores a file but
	// processes nothing until a run references it).
	CategoryWRITE Category = "WRITE"
	// CategoryRUN covers calls that submit a file for processing:
	// POST /edit_runs, /edit, /detect_form, /form_detection_runs and
	// /edit_schemas/generate.
	CategoryRUN Category = "RUN"
)

// Categories lists the categories in display order.
func Categories() []Category { return []Category{CategoryGET, CategoryWRITE, CategoryRUN} }

// PAYGRate is the Pay-as-you-go limit of every category, in requests per
// second; it is the default.
const PAYGRate = 10

// LimiterConfig sets a Limiter's rates in requests per second. A zero rate
// means PAYGRate; a negative rate means unlimited.
type LimiterConfig struct {
	GET, WRITE, RUN float64
	// Burst is how many requests may go at once after a quiet spell. Zero
	// means a fifth of the rate, rounded up (2 at PAYG): enough for a page's
	// pair of calls, small enough that a burst plus the refill stays close
	// to the per-second quota.
	Burst int
	// Clock defaults to the real clock.
	Clock Clock
}

func (cfg LimiterConfig) rate(cat Category) float64 {
	var r float64
	switch cat {
	case CategoryGET:
		r = cfg.GET
	case CategoryWRITE:
		r = cfg.WRITE
	case CategoryRUN:
		r = cfg.RUN
	}
	if r == 0 {
		return PAYGRate
	}
	return r
}

// Limiter is a client-side token bucket per category. One Limiter is meant
// to be shared by every Client that uses the same API key (see
// LimiterRegistry), so that many dashboard users of one key cannot exceed
// the organization's quota together. A nil *Limiter limits nothing.
type Limiter struct {
	clock   Clock
	buckets map[Category]*rate.Limiter // nil entry: unlimited
	rates   map[Category]float64

	mu   sync.Mutex
	hold map[Category]time.Time // no request before this instant (a server 429 said so)
}

// NewLimiter builds a Limiter from cfg.
func NewLimiter(cfg LimiterConfig) *Limiter {
	l := &Limiter{
		clock:   cfg.Clock,
		buckets: make(map[Category]*rate.Limiter, 3),
		rates:   make(map[Category]float64, 3),
		hold:    make(map[Category]time.Time, 3),
	}
	if l.clock == nil {
		l.clock = realClock{}
	}
	for _, cat := range Categories() {
		r := cfg.rate(cat)
		if r < 0 || math.IsInf(r, 1) || math.IsNaN(r) {
			l.rates[cat] = math.Inf(1)
			l.buckets[cat] = nil
			continue
		}
		burst := cfg.Burst
		if burst <= 0 {
			burst = max(1, int(math.Ceil(r/5)))
		}
		l.rates[cat] = r
		l.buckets[cat] = rate.NewLimiter(rate.Limit(r), burst)
	}
	return l
}

// NewUnlimitedLimiter returns a Limiter that never waits, except when a
// server 429 asked every caller to pause. Meant for tests and the sandbox.
func NewUnlimitedLimiter() *Limiter {
	return NewLimiter(LimiterConfig{GET: -1, WRITE: -1, RUN: -1})
}

// Rate is the category's rate in requests per second (+Inf: unlimited).
func (l *Limiter) Rate(cat Category) float64 {
	if l == nil {
		return math.Inf(1)
	}
	return l.rates[cat]
}

// Wait blocks until a request of the category may go, or ctx is done. It
// fails at once when the wait would outlast ctx's deadline.
func (l *Limiter) Wait(ctx context.Context, cat Category) error {
	if l == nil {
		return ctx.Err()
	}
	bucket, known := l.buckets[cat]
	if !known {
		return fmt.Errorf("extendapi: %w: unknown rate-limit category %q", ErrInvalidArgument, cat)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := l.clock.Now()
		l.mu.Lock()
		until := l.hold[cat]
		l.mu.Unlock()
		if now.Before(until) {
			if err := l.sleep(ctx, until.Sub(now)); err != nil {
				return err
			}
			continue // the hold may have been extended meanwhile
		}
		if bucket == nil {
			return nil
		}
		res := bucket.ReserveN(now, 1)
		wait := res.DelayFrom(now)
		if wait == 0 {
			return nil
		}
		if err := l.sleep(ctx, wait); err != nil {
			res.CancelAt(l.clock.Now())
			return err
		}
		return nil
	}
}

func (l *Limiter) sleep(ctx context.Context, d time.Duration) error {
	// Deadlines are wall-clock instants whatever Clock says, so compare the
	// wait with the real time left.
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return fmt.Errorf("extendapi: rate limiter: a wait of %v would pass the deadline: %w", d, context.DeadlineExceeded)
	}
	return l.clock.Sleep(ctx, d)
}

// pause makes every user of the Limiter hold requests of the category until
// the instant a server 429 named, so that clients sharing a key back off
// together instead of each spending a request to learn the same thing.
func (l *Limiter) pause(cat Category, until time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.hold[cat]) {
		l.hold[cat] = until
	}
}

// LimiterRegistry hands out one shared Limiter per API key. Extend counts
// quotas per organization; the key is the closest thing to an organization
// the client can see, so everything done with one key shares one Limiter.
// Keys are held only as SHA-256 digests. Limiters unused for an hour are
// dropped.
type LimiterRegistry struct {
	cfg LimiterConfig

	mu        sync.Mutex
	limiters  map[[sha256.Size]byte]*registeredLimiter
	lastSweep time.Time
}

type registeredLimiter struct {
	limiter  *Limiter
	lastUsed time.Time
}

const registryIdle = time.Hour

// NewLimiterRegistry returns a registry whose Limiters use cfg.
func NewLimiterRegistry(cfg LimiterConfig) *LimiterRegistry {
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	return &LimiterRegistry{cfg: cfg, limiters: make(map[[sha256.Size]byte]*registeredLimiter)}
}

// For returns the Limiter shared by every user of key.
func (r *LimiterRegistry) For(key APIKey) *Limiter {
	digest := sha256.Sum256([]byte(key))
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.lastSweep) > registryIdle/4 {
		for d, e := range r.limiters {
			if now.Sub(e.lastUsed) > registryIdle {
				delete(r.limiters, d)
			}
		}
		r.lastSweep = now
	}
	e, ok := r.limiters[digest]
	if !ok {
		e = &registeredLimiter{limiter: NewLimiter(r.cfg)}
		r.limiters[digest] = e
	}
	e.lastUsed = now
	return e.limiter
}

// Len is the number of live Limiters.
func (r *LimiterRegistry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.limiters)
}
