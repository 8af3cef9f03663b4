package middleware

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/editwatch/editwatch/store"
)

// RateLimit is a token bucket: Rate requests a second on average, Burst at
// once.
type RateLimit struct {
	Rate  rate.Limit
	Burst int
}

// RateLimits bounds how fast one identity may send requests to the
// dashboard: the proxy's identity in header mode, otherwise the session
// (or, before there is one, the TCP peer; never X-Forwarded-For, which
// anyone can write). A zero RateLimit takes the default; a negative Rate
// switches that class off.
type RateLimits struct {
	// Pages are GETs and HEADs, htmx polling included.
	Pages RateLimit
	// Actions are the other state-changing requests: new runs, re-runs,
	// deletions, reveals, disconnecting.
	Actions RateLimit
	// Connect is POST /connect, each of which tries an API key against
	// Extend. In single-user mode it is counted per TCP peer, since anyone
	// can start fresh sessions.
	Connect RateLimit
	// MaxIdentities bounds the memory the buckets take.
	MaxIdentities int
}

// DefaultRateLimits are generous for people and tight for key guessing.
// Pages allow a burst of 120 because a runs page of 100 processing rows
// polls 100 times at once every few seconds.
var DefaultRateLimits = RateLimits{
	Pages:         RateLimit{Rate: 20, Burst: 120},
	Actions:       RateLimit{Rate: 2, Burst: 30},
	Connect:       RateLimit{Rate: rate.Every(6 * time.Second), Burst: 10},
	MaxIdentities: 10_000,
}

// requestClass picks the bucket a request takes its token from.
type requestClass int

const (
	classPage requestClass = iota
	classAction
	classConnect
	numClasses
)

// sweepEvery is how often, at most, buckets left full are forgotten.
const sweepEvery = time.Minute

// identityLimiter holds one token bucket per identity and class. Memory
// stays bounded: a bucket that has refilled is no different from a new one
// and is dropped, and past MaxIdentities arbitrary ones go too (they only
// get a full bucket back).
type identityLimiter struct {
	limits [numClasses]RateLimit
	max    int
	now    func() time.Time

	mu        sync.Mutex
	buckets   map[string]*[numClasses]*rate.Limiter
	lastSweep time.Time
}

func newIdentityLimiter(cfg RateLimits, now func() time.Time) *identityLimiter {
	pick := func(l, def RateLimit) RateLimit {
		if l.Rate == 0 {
			return def
		}
		if l.Burst <= 0 {
			l.Burst = max(1, int(math.Ceil(float64(l.Rate))))
		}
		return l
	}
	l := &identityLimiter{
		max:     cfg.MaxIdentities,
		now:     now,
		buckets: map[string]*[numClasses]*rate.Limiter{},
	}
	l.limits[classPage] = pick(cfg.Pages, DefaultRateLimits.Pages)
	l.limits[classAction] = pick(cfg.Actions, DefaultRateLimits.Actions)
	l.limits[classConnect] = pick(cfg.Connect, DefaultRateLimits.Connect)
	if l.max <= 0 {
		l.max = DefaultRateLimits.MaxIdentities
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// allow takes a token of class for key. When none is left it reports how
// long until there is one.
func (l *identityLimiter) allow(key string, class requestClass) (ok bool, wait time.Duration) {
	limit := l.limits[class]
	if limit.Rate < 0 || limit.Rate == rate.Inf {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = new([numClasses]*rate.Limiter)
		l.buckets[key] = b
	}
	lim := b[class]
	if lim == nil {
		lim = rate.NewLimiter(limit.Rate, limit.Burst)
		b[class] = lim
	}
	if lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - lim.TokensAt(now)
	return false, time.Duration(missing / float64(limit.Rate) * float64(time.Second))
}

// sweep forgets refilled buckets now and then, and trims the map when an
// identity more would pass the bound. l.mu is held.
func (l *identityLimiter) sweep(now time.Time) {
	full := len(l.buckets) >= l.max
	if !full && now.Sub(l.lastSweep) < sweepEvery {
		return
	}
	l.lastSweep = now
	for key, b := range l.buckets {
		if l.refilled(b, now) {
			delete(l.buckets, key)
		}
	}
	for key := range l.buckets {
		if len(l.buckets) < l.max*9/10 {
			break
		}
		delete(l.buckets, key) // map order is random enough
	}
}

func (l *identityLimiter) refilled(b *[numClasses]*rate.Limiter, now time.Time) bool {
	for class, lim := range b {
		if lim != nil && lim.TokensAt(now) < float64(l.limits[class].Burst) {
			return false
		}
	}
	return true
}

// size is how many identities hold a bucket.
func (l *identityLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// RateLimitOptions configure LimitRate.
type RateLimitOptions struct {
	// Limits per identity; zero fields take DefaultRateLimits.
	Limits RateLimits
	Now    func() time.Time
	// Exempt names paths that take no token: probes, assets, the embedded
	// sandbox and the webhook receiver (Extend's deliveries, verified by
	// signature).
	Exempt func(path string) bool
	// ConnectRoute is the connect form's route path: its POSTs try an API
	// key against Extend and take from the Connect bucket.
	ConnectRoute string
	// ByProxyIdentity counts per user the SSO proxy asserts (header mode);
	// otherwise per session, or per TCP peer before there is one.
	ByProxyIdentity bool
	// Sessions reads the session ID from the signed cookie.
	Sessions *SessionStore
}

// LimitRate refuses, with 429 and Retry-After, requests of an identity
// that has used up its bucket. It runs after Identity.
func LimitRate(opts RateLimitOptions) echo.MiddlewareFunc {
	l := newIdentityLimiter(opts.Limits, opts.Now)
	return rateLimitWith(l, opts)
}

func rateLimitWith(l *identityLimiter, opts RateLimitOptions) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if opts.Exempt != nil && opts.Exempt(r.URL.Path) {
				return next(c)
			}
			class := opts.requestClass(r.Method, c.Path())
			ok, wait := l.allow(opts.rateKey(c, class), class)
			if ok {
				return next(c)
			}
			return tooManyRequests(class, l.limits[class], wait)
		}
	}
}

func (opts RateLimitOptions) requestClass(method, route string) requestClass {
	switch {
	case method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions:
		return classPage
	case opts.ConnectRoute != "" && route == opts.ConnectRoute:
		return classConnect
	}
	return classAction
}

// rateKey names whose bucket a request takes from. The session is read
// from its signed cookie alone, without the database, so a flood costs an
// HMAC, not a query.
func (opts RateLimitOptions) rateKey(c echo.Context, class requestClass) string {
	r := c.Request()
	if opts.ByProxyIdentity {
		return "user:" + IdentityOf(c).User
	}
	if class != classConnect && opts.Sessions != nil {
		if id := opts.Sessions.CookieSessionID(r); id != "" {
			return "session:" + store.SessionFingerprint(id)
		}
	}
	return "peer:" + peerKey(r.RemoteAddr)
}

// peerKey is the TCP peer's address; an IPv6 peer counts as its /64, which
// one client typically holds whole.
func peerKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// CookieSessionID is the session ID the request's cookie carries, when a
// current session key signed it; "" otherwise. It reads no database.
func (s *SessionStore) CookieSessionID(r *http.Request) string {
	ck, err := r.Cookie(s.cookieName)
	if err != nil || ck.Value == "" {
		return ""
	}
	var raw []byte
	if securecookie.DecodeMulti(s.cookieName, ck.Value, &raw, s.codecs...) != nil {
		return ""
	}
	return string(raw)
}

// tooManyRequests is the 429 page: what was limited, at what rate, and
// when to try again (also in Retry-After).
func tooManyRequests(class requestClass, limit RateLimit, wait time.Duration) *Refusal {
	wait = max(time.Second, time.Duration(math.Ceil(wait.Seconds()))*time.Second)
	pe := &Refusal{Status: http.StatusTooManyRequests, Heading: "Too many requests", Category: "rate limited", RetryAfter: wait}
	switch class {
	case classConnect:
		pe.Heading = "Too many connection attempts"
		pe.Explanation = fmt.Sprintf("Editwatch accepts %s from one person, to slow down anyone guessing API keys. This attempt was not sent to Extend.", formatRate(limit.Rate))
	case classAction:
		pe.Explanation = fmt.Sprintf("You sent changes faster than Editwatch accepts (%s on average). This one was not carried out; nothing else was affected.", formatRate(limit.Rate))
	default:
		pe.Explanation = fmt.Sprintf("Your browser asked for pages faster than Editwatch serves one person (%s on average); many open tabs refreshing at once can do that. Nothing was lost.", formatRate(limit.Rate))
	}
	return pe
}

// formatRate says a rate in words: "20 a second", "10 a minute".
func formatRate(r rate.Limit) string {
	perSecond := float64(r)
	switch {
	case perSecond >= 1:
		return fmt.Sprintf("%g a second", math.Round(perSecond*10)/10)
	case perSecond*60 >= 1:
		return fmt.Sprintf("%g a minute", math.Round(perSecond*600)/10)
	}
	return fmt.Sprintf("%g an hour", math.Round(perSecond*36000)/10)
}
