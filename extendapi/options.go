package extendapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Option configures a Client in New. An option given a bad value makes New
// fail with an error saying which option and why.
type Option func(*Client)

// WithBaseURL talks to an explicit base URL (a sandbox, a proxy). It wins
// over WithRegion whatever the order.
func WithBaseURL(u string) Option {
	return func(c *Client) { c.explicitURL = u }
}

// WithRegion selects a deployment by region: us (default), us2, eu1 or eu.
func WithRegion(region string) Option {
	return func(c *Client) {
		u, err := RegionBaseURL(region)
		if err != nil {
			c.optErrs = append(c.optErrs, err)
			return
		}
		c.regionURL = u
	}
}

// WithWorkspace sends x-extend-workspace-id: ws on every request, POSTs
// included (required with an organization key).
func WithWorkspace(ws string) Option {
	return func(c *Client) { c.workspace = ws }
}

// WithHTTPClient replaces the shared default HTTP client. Its Timeout, if
// any, caps every call including the 5-minute synchronous ones; prefer
// WithTimeout and friends, which apply per attempt.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc == nil {
			c.optErrs = append(c.optErrs, fmt.Errorf("extendapi: %w: WithHTTPClient(nil)", ErrInvalidArgument))
			return
		}
		c.hc = hc
	}
}

// WithLimiter makes the client wait on l, which other clients may share
// (see LimiterRegistry). nil disables client-side rate limiting.
func WithLimiter(l *Limiter) Option {
	return func(c *Client) {
		if l == nil {
			l = NewUnlimitedLimiter()
		}
		c.limiter = l
	}
}

// WithUserAgent replaces the default "Editwatch/<version>".
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if err := validHeaderValue("user agent", ua); err != nil || ua == "" {
			c.optErrs = append(c.optErrs, fmt.Errorf("extendapi: %w: WithUserAgent needs a non-empty header-safe value", ErrInvalidArgument))
			return
		}
		c.userAgent = ua
	}
}

// WithLogger logs every attempt at debug level and every retry at info
// level. The key is never logged. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithRetryPolicy replaces DefaultRetryPolicy; zero fields keep defaults.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) { c.retry = p }
}

// WithClock replaces the real clock (for tests: backoff and Retry-After
// waits go through Clock.Sleep). The default Limiter uses it too.
func WithClock(clk Clock) Option {
	return func(c *Client) {
		if clk != nil {
			c.clock = clk
		}
	}
}

// WithTimeout bounds each attempt of an ordinary call (default 30 s).
func WithTimeout(d time.Duration) Option {
	return durationOption("WithTimeout", d, func(c *Client) { c.timeout = d })
}

// WithSyncTimeout bounds each attempt of a synchronous processing call:
// Edit, DetectForm, GenerateEditSchema (default 5 min 30 s).
func WithSyncTimeout(d time.Duration) Option {
	return durationOption("WithSyncTimeout", d, func(c *Client) { c.syncTimeout = d })
}

// WithUploadTimeout bounds each attempt of UploadFile (default 10 min).
func WithUploadTimeout(d time.Duration) Option {
	return durationOption("WithUploadTimeout", d, func(c *Client) { c.uploadTimeout = d })
}

func durationOption(name string, d time.Duration, set func(*Client)) Option {
	return func(c *Client) {
		if d <= 0 {
			c.optErrs = append(c.optErrs, fmt.Errorf("extendapi: %w: %s(%v) must be positive", ErrInvalidArgument, name, d))
			return
		}
		set(c)
	}
}

// WithObserver calls fn after every HTTP attempt (for metrics, health
// tracking). Observers given in several options are all called, in order.
// fn must be fast and must not block.
func WithObserver(fn func(Observation)) Option {
	return func(c *Client) {
		if fn == nil {
			return
		}
		prev := c.observer
		if prev == nil {
			c.observer = fn
			return
		}
		c.observer = func(o Observation) {
			prev(o)
			fn(o)
		}
	}
}

// withJitter pins the backoff jitter, for tests.
func withJitter(fn func() float64) Option {
	return func(c *Client) { c.jitter = fn }
}
