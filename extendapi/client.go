package extendapi

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Timeouts per attempt. Extend's synchronous endpoints (/edit,
// /detect_form, /edit_schemas/generate) give up after 5 minutes; the client
// waits a little longer so that it reads Extend's own timeout error instead
// of cutting the connection first.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultSyncTimeout   = 5*time.Minute + 30*time.Second
	DefaultUploadTimeout = 10 * time.Minute
)

// Client talks to one Extend deployment with one API key, optionally for
// one workspace. It is safe for concurrent use. Build it with New; derive a
// client for another workspace with WithWorkspace, which is cheap.
type Client struct {
	// key is behind a pointer so that printing a Client (or a struct
	// holding one) by reflection shows an address, never the key.
	key           *APIKey
	base          string // scheme://host[/prefix], no trailing slash
	workspace     string
	hc            *http.Client
	limiter       *Limiter
	userAgent     string
	logger        *slog.Logger
	retry         RetryPolicy
	clock         Clock
	jitter        func() float64
	timeout       time.Duration
	syncTimeout   time.Duration
	uploadTimeout time.Duration
	observer      func(Observation)

	// Set by options, resolved by New.
	regionURL   string
	explicitURL string
	optErrs     []error
}

// Observation describes one HTTP attempt, for metrics (see WithObserver).
type Observation struct {
	Operation  string // the Client method, e.g. "GetEditRun": a low-cardinality label
	Method     string
	Path       string
	Category   Category
	Attempt    int
	StatusCode int // 0 when no answer was read
	Duration   time.Duration
	RequestID  string
	Err        error // nil for a 2xx answer
}

// New returns a client for key. Without options it talks to the US
// deployment, limits itself to the PAYG rates, and retries as
// DefaultRetryPolicy says. An unknown region, a malformed base URL or
// workspace, or an unusable key make New fail; the error never contains the
// key.
func New(key APIKey, opts ...Option) (*Client, error) {
	if err := key.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		key:           &key,
		userAgent:     DefaultUserAgent(),
		logger:        slog.New(slog.DiscardHandler),
		retry:         DefaultRetryPolicy(),
		clock:         realClock{},
		jitter:        rand.Float64,
		timeout:       DefaultTimeout,
		syncTimeout:   DefaultSyncTimeout,
		uploadTimeout: DefaultUploadTimeout,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	if len(c.optErrs) > 0 {
		return nil, errors.Join(c.optErrs...)
	}
	raw := c.explicitURL
	if raw == "" {
		raw = c.regionURL
	}
	if raw == "" {
		raw = regionURLs["us"]
	}
	base, err := normalizeBaseURL(raw)
	if err != nil {
		return nil, err
	}
	c.base = base
	if err := validHeaderValue("workspace", c.workspace); err != nil {
		return nil, fmt.Errorf("extendapi: %w", err)
	}
	if c.hc == nil {
		c.hc = sharedHTTPClient()
	}
	if c.limiter == nil {
		c.limiter = NewLimiter(LimiterConfig{Clock: c.clock})
	}
	c.retry = c.retry.withDefaults()
	c.regionURL, c.explicitURL, c.optErrs = "", "", nil
	return c, nil
}

// WithWorkspace returns a copy of c that sends x-extend-workspace-id: ws on
// every request (ws "" sends none). The copy shares c's transport, limiter
// and settings, so it costs one small allocation. A ws that cannot travel in
// a header makes every call of the copy fail with ErrInvalidArgument.
func (c *Client) WithWorkspace(ws string) *Client {
	cp := *c
	cp.workspace = ws
	return &cp
}

// String describes the client without its key.
func (c *Client) String() string {
	s := "extendapi.Client(" + c.base
	if c.workspace != "" {
		s += ", workspace " + c.workspace
	}
	return s + ")"
}

// BaseURL is the deployment's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Workspace is the workspace sent with every request ("" when none).
func (c *Client) Workspace() string { return c.workspace }

// Deployment names the deployment for display and for tenant keys: the
// region ("us", "us2", "eu1") when the base URL is a known region's,
// otherwise the base URL itself.
func (c *Client) Deployment() string {
	for _, r := range Regions() {
		if regionURLs[r] == c.base {
			return r
		}
	}
	return c.base
}

// Limiter is the limiter the client waits on.
func (c *Client) Limiter() *Limiter { return c.limiter }

var regionURLs = map[string]string{
	"us":  "https://api.extend.ai",
	"us2": "https://api.us2.extend.app", // really .app, per Extend's docs
	"eu1": "https://api.eu1.extend.ai",
}

// Regions lists the region names RegionBaseURL accepts ("eu" is also
// accepted, as Extend's CLI spells EU1).
func Regions() []string { return []string{"us", "us2", "eu1"} }

// RegionBaseURL maps a region name (case-insensitive; "eu" means "eu1") to
// its deployment's base URL. Other names give an error wrapping
// ErrUnknownRegion that lists the accepted ones.
func RegionBaseURL(region string) (string, error) {
	r := strings.ToLower(strings.TrimSpace(region))
	if r == "eu" {
		r = "eu1"
	}
	if u, ok := regionURLs[r]; ok {
		return u, nil
	}
	return "", fmt.Errorf("%w %q: use one of us, us2, eu1 (or eu)", ErrUnknownRegion, region)
}

// normalizeBaseURL accepts http(s)://host[:port][/prefix] and drops a
// trailing slash. A path prefix is kept, so a sandbox mounted under
// /_sandbox works. Credentials, queries and fragments are refused (they
// would end up in logs and errors).
func normalizeBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidBaseURL, errors.Unwrap(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%w: scheme must be http or https, got %q", ErrInvalidBaseURL, u.Scheme)
	case u.Host == "":
		return "", fmt.Errorf("%w: no host", ErrInvalidBaseURL)
	case u.User != nil:
		return "", fmt.Errorf("%w: credentials in the URL are not allowed (the API key is sent as a header)", ErrInvalidBaseURL)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%w: %s has a query or fragment", ErrInvalidBaseURL, u.Redacted())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func validHeaderValue(what, v string) error {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b == 0x7f {
			return fmt.Errorf("%w: %s contains control characters", ErrInvalidArgument, what)
		}
	}
	return nil
}

// DefaultUserAgent is "Editwatch/<version>", the version coming from the
// build information ("dev" for an unversioned build).
func DefaultUserAgent() string { return "Editwatch/" + buildVersion() }

var buildVersion = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
})

// sharedHTTPClient is used by every Client built without WithHTTPClient, so
// that a client made per request (one per session key) still reuses pooled
// connections. It follows no redirects: an API never redirects, and a
// redirect to an SSO login page must surface as an error, not as a decoded
// HTML page.
var sharedHTTPClient = sync.OnceValue(func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 100
	tr.MaxIdleConnsPerHost = 32
	tr.IdleConnTimeout = 90 * time.Second
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
})
