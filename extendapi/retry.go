package extendapi

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds the retries of one call. Zero fields take the value of
// DefaultRetryPolicy; set MaxAttempts to 1 to disable retries.
type RetryPolicy struct {
	// MaxAttempts is the total number of tries, the first included.
	MaxAttempts int
	// MaxElapsed is the time budget from the first try: no retry is started
	// whose wait would end past it (a long Retry-After then returns the 429
	// at once, with APIError.RetryAfter set, instead of blocking the caller).
	MaxElapsed time.Duration
	// BaseDelay is the backoff ceiling before the first retry; it doubles
	// with each retry up to MaxDelay. The actual wait is drawn uniformly
	// from [0, ceiling) ("full jitter"), so clients sharing a key spread out.
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// DefaultRetryPolicy is 4 tries within 30 s, backoff ceilings 0.5 s, 1 s,
// 2 s, … capped at 8 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, MaxElapsed: 30 * time.Second, BaseDelay: 500 * time.Millisecond, MaxDelay: 8 * time.Second}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = d.MaxElapsed
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	return p
}

// delay is the wait before the retry that follows try number `tries`
// (1-based). jitter is uniform in [0, 1). A server-given wait is honoured in
// full, plus a little jitter so that clients told the same instant do not
// all return at that instant.
func (p RetryPolicy) delay(tries int, server time.Duration, jitter float64) time.Duration {
	if server > 0 {
		return server + time.Duration(jitter*float64(p.BaseDelay)/2)
	}
	ceiling := p.MaxDelay
	if shift := tries - 1; shift < 30 && p.BaseDelay<<shift < p.MaxDelay {
		ceiling = p.BaseDelay << shift
	}
	return time.Duration(jitter * float64(ceiling))
}

// retryClass says which failures a call may retry without doing harm.
type retryClass int

const (
	// retryIdempotent: GET, DELETE and updates. Repeating them is harmless,
	// so 408, 429, 5xx (bar 501/505), a body saying retryable, and every
	// network error are retried.
	retryIdempotent retryClass = iota
	// retryCreate: POSTs that start a run or create something. Extend has no
	// idempotency keys, so a retry after the server may have seen the
	// request would create a duplicate: only a 429 (the server refused
	// before doing anything) or a failure to connect at all is retried.
	retryCreate
	// retryNever: the body cannot be replayed (an upload from a plain
	// io.Reader).
	retryNever
)

func (rc retryClass) retriesStatus(status int, serverSaysRetryable bool) bool {
	switch rc {
	case retryIdempotent:
		switch {
		case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
			return true
		case status == http.StatusNotImplemented, status == http.StatusHTTPVersionNotSupported:
			return false
		case status >= 500 && status <= 599:
			return true
		}
		return serverSaysRetryable
	case retryCreate:
		return status == http.StatusTooManyRequests
	}
	return false
}

func (rc retryClass) retriesNetwork(neverLeft bool) bool {
	switch rc {
	case retryIdempotent:
		return true
	case retryCreate:
		return neverLeft
	}
	return false
}

// neverLeft reports whether err proves that no byte of the request reached
// the server: it failed while resolving or dialing (connection refused, DNS
// failure, dial timeout). net/http itself re-sends a POST on a reused
// connection only when nothing was written, so a dial error that ends a
// round trip means no earlier try wrote anything either.
func neverLeft(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// serverDelay is how long the server asked us to wait: Retry-After (delta
// seconds or an HTTP date) first, then X-RateLimit-Reset (Unix seconds, or
// a small delta in seconds as some gateways send). Zero when neither says.
func serverDelay(h http.Header, now time.Time) time.Duration {
	if d, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
		return d
	}
	if d, ok := parseRateLimitReset(h.Get("X-RateLimit-Reset"), now); ok {
		return d
	}
	return 0
}

// maxServerDelay caps what we believe from a header, so a garbage value
// cannot overflow durations; the retry budget rejects long waits anyway.
const maxServerDelay = 24 * time.Hour

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case secs != secs || secs < 0: // NaN or negative: not a wait
			return 0, false
		case secs > maxServerDelay.Seconds():
			return maxServerDelay, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return clampDelay(t.Sub(now)), true
}

func parseRateLimitReset(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	// Anything past 2001-09-09 is an epoch timestamp; smaller values are
	// seconds to wait.
	if n >= 1_000_000_000 {
		return clampDelay(time.Unix(n, 0).Sub(now)), true
	}
	return clampDelay(time.Duration(n) * time.Second), true
}

func clampDelay(d time.Duration) time.Duration {
	return min(max(d, 0), maxServerDelay)
}
