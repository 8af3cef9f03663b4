package sandbox

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateCategory is one of Extend's rate-limit categories (§4.4).
type rateCategory string

const (
	rateGet   rateCategory = "GET"   // reads, listing included
	rateWrite rateCategory = "WRITE" // mutations that start no processing
	rateRun   rateCategory = "RUN"   // endpoints that submit a document
)

// rateLimiter holds one token bucket per workspace and category, refilled at
// the configured rate with a burst of one second's worth.
type rateLimiter struct {
	perSecond float64 // 0: unlimited
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
}

func newRateLimiter(perSecond float64) *rateLimiter {
	return &rateLimiter{perSecond: perSecond, buckets: map[string]*rate.Limiter{}}
}

// allow takes a token at now (the server's clock) or answers 429 with the
// wait until the next one.
func (l *rateLimiter) allow(workspace string, cat rateCategory, now time.Time) error {
	if l.perSecond <= 0 {
		return nil
	}
	key := workspace + "\x00" + string(cat)
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(rate.Limit(l.perSecond), max(1, int(math.Ceil(l.perSecond))))
		l.buckets[key] = b
	}
	l.mu.Unlock()
	res := b.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	if wait == 0 {
		return nil
	}
	res.CancelAt(now)
	return errRateLimited(wait)
}
