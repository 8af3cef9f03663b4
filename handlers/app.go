package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/static"
	"github.com/editwatch/editwatch/store"
)

// DefaultMaxUpload is the largest PDF the new-run page accepts: the
// sandbox's limit, and a sane one for Extend, whose own is not documented.
const DefaultMaxUpload = 50 * 1000 * 1000

// SandboxDeployment names the embedded sandbox's deployment in tenants and
// in the header, whatever port it happens to listen on.
const SandboxDeployment = "sandbox"

// ExtendConfig says which Extend deployment connections talk to.
type ExtendConfig struct {
	// Region is the default of the connect page's deployment select.
	Region string
	// URL, when set (--extend-url, or the embedded sandbox), fixes the
	// deployment: the connect page shows it instead of the select.
	URL string
	// Deployment names URL's deployment in tenants; defaults to what the
	// client derives from URL.
	Deployment string
	// Timeout bounds each ordinary call (--upstream-timeout).
	Timeout time.Duration
}

// SandboxInfo describes the embedded sandbox in --sandbox mode.
type SandboxInfo struct {
	// Key and Workspace pre-fill the connect page: the demo key is public.
	Key       string
	Workspace string
	// InternalURL is where the dashboard itself calls the sandbox (the
	// loopback address of the shared listener, base path included).
	InternalURL string
	// Handler is the sandbox itself, mounted under <base>_sandbox/.
	Handler http.Handler
}

// App holds everything the handlers need. Build it with NewApp.
type App struct {
	Store    *store.Store
	Sessions *middleware.SessionStore
	Assets   *static.Assets
	Logger   *slog.Logger
	Identity middleware.IdentityConfig
	// BasePath is "/" or "/sub/" (config normalizes it).
	BasePath string
	// Sandbox is nil unless --sandbox.
	Sandbox *SandboxInfo
	Extend  ExtendConfig
	// HTTPClient is shared by every Extend client (one connection pool).
	HTTPClient *http.Client
	// Limiters hands out one rate limiter per API key, so every session of
	// one organization key shares the organization's budget.
	Limiters *extendapi.LimiterRegistry
	// TenantKey keys the hash that names a tenant connected without a
	// workspace ID (see LoadTenantKey).
	TenantKey []byte
	// FrameAncestors is the CSP frame-ancestors value.
	FrameAncestors string
	// SingleUserWarning: no proxy in front and a non-loopback listener.
	SingleUserWarning bool
	MaxUpload         int64
	PollInterval      time.Duration
	UserAgent         string
	// ClientOptions are added to every Extend client (an observer for
	// metrics, a retry policy in tests).
	ClientOptions []extendapi.Option
	Now           func() time.Time
	Health        *Health
	// RateLimits per identity; zero fields take middleware.DefaultRateLimits.
	RateLimits middleware.RateLimits
	// Live is history and live updates (webhooks, event streams,
	// refresher, backfill); nil leaves all of it unwired.
	Live *Live
	// Metrics, when set (--metrics-listen), counts requests and upstream
	// calls; see middleware.NewMetrics.
	Metrics *middleware.Metrics
	// Reruns tracks the bulk re-runs of failure groups.
	Reruns *RerunJobs
	// csrf checks and hands out the forms' tokens; NewApp builds it.
	csrf *middleware.CSRF
	// Upstream tracks Extend's recent failures and rate limits, which pages
	// show as a banner; NewApp makes one with DefaultUpstreamWindow.
	Upstream *UpstreamHealth
}

// NewApp checks app and fills in defaults.
func NewApp(app App) (*App, error) {
	var errs []error
	if app.Store == nil {
		errs = append(errs, errors.New("no store"))
	}
	if app.Sessions == nil {
		errs = append(errs, errors.New("no session store"))
	}
	if app.Assets == nil {
		errs = append(errs, errors.New("no assets"))
	}
	if len(app.TenantKey) < 16 {
		errs = append(errs, errors.New("tenant key missing or shorter than 16 bytes"))
	}
	if !strings.HasPrefix(app.BasePath, "/") || !strings.HasSuffix(app.BasePath, "/") {
		errs = append(errs, fmt.Errorf("base path %q must start and end with a slash", app.BasePath))
	}
	if app.Extend.URL == "" {
		if _, err := extendapi.RegionBaseURL(orDefault(app.Extend.Region, "us")); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("handlers: %w", err)
	}
	if app.Logger == nil {
		app.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if app.Extend.Region == "" {
		app.Extend.Region = "us"
	}
	if app.Extend.Timeout <= 0 {
		app.Extend.Timeout = extendapi.DefaultTimeout
	}
	if app.HTTPClient == nil {
		app.HTTPClient = &http.Client{}
	}
	if app.Limiters == nil {
		app.Limiters = extendapi.NewLimiterRegistry(extendapi.LimiterConfig{})
	}
	if app.FrameAncestors == "" {
		app.FrameAncestors = "'none'"
	}
	if app.MaxUpload <= 0 {
		app.MaxUpload = DefaultMaxUpload
	}
	if app.UserAgent == "" {
		app.UserAgent = extendapi.DefaultUserAgent()
	}
	if app.Now == nil {
		app.Now = time.Now
	}
	if app.Reruns == nil {
		app.Reruns = NewRerunJobs()
	}
	if app.Upstream == nil {
		app.Upstream = NewUpstreamHealth(UpstreamHealthOptions{Now: app.Now})
	}
	app.csrf = middleware.NewCSRF(middleware.CSRFOptions{BasePath: app.BasePath, IsHTTPS: app.Identity.IsHTTPS,
		Skip: func(c echo.Context) bool { return app.isOpenPath(c.Request().URL.Path) || uploadRoute(c) }})
	if app.Health == nil {
		app.Health = &Health{Started: app.Now(), Now: app.Now}
	}
	return &app, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// path prefixes p (relative, no leading slash) with the base path.
func (a *App) path(p string) string { return a.BasePath + strings.TrimPrefix(p, "/") }

// deploymentChoice is where a connection goes: its base URL and the name
// tenants use for it.
type deploymentChoice struct {
	BaseURL    string
	Deployment string
}

// fixedDeployment reports the deployment every connection uses when it is
// not the person's choice (sandbox or --extend-url).
func (a *App) fixedDeployment() (deploymentChoice, bool) {
	if a.Extend.URL == "" {
		return deploymentChoice{}, false
	}
	name := a.Extend.Deployment
	if name == "" {
		name = strings.TrimRight(a.Extend.URL, "/")
	}
	return deploymentChoice{BaseURL: strings.TrimRight(a.Extend.URL, "/"), Deployment: name}, true
}

// chooseDeployment resolves the connect form's deployment value.
func (a *App) chooseDeployment(value string) (deploymentChoice, error) {
	if d, ok := a.fixedDeployment(); ok {
		return d, nil
	}
	region := strings.ToLower(strings.TrimSpace(orDefault(value, a.Extend.Region)))
	if region == "eu" {
		region = "eu1"
	}
	base, err := extendapi.RegionBaseURL(region)
	if err != nil {
		return deploymentChoice{}, err
	}
	return deploymentChoice{BaseURL: base, Deployment: region}, nil
}

// newClient builds an Extend client for key on baseURL, acting in
// workspace ws (none when ""). Clients share the HTTP connection pool and
// the key's limiter, and report every attempt to the upstream health
// tracker; building one is cheap.
func (a *App) newClient(key extendapi.APIKey, baseURL, ws string, extra ...extendapi.Option) (*extendapi.Client, error) {
	return a.buildClient(key, baseURL, ws, nil, extra)
}

// pageRetryPolicy bounds the retries of calls a page waits on: a person
// looking at a spinner is better served by the error page, with when to
// try again, after 4 s than after the default 30 s (in a storm of 429s
// the tries also queue behind the workspace's shared pauses). Background
// work keeps the default.
var pageRetryPolicy = extendapi.RetryPolicy{MaxAttempts: 4, MaxElapsed: 4 * time.Second,
	BaseDelay: 500 * time.Millisecond, MaxDelay: 4 * time.Second}

// buildClient is newClient with options that App.ClientOptions may still
// override (defaults) and options that override them (extra).
func (a *App) buildClient(key extendapi.APIKey, baseURL, ws string, defaults, extra []extendapi.Option) (*extendapi.Client, error) {
	ref := ws
	if ref == "" {
		ref = a.keyRef(string(key))
	}
	opts := []extendapi.Option{
		extendapi.WithBaseURL(baseURL),
		extendapi.WithWorkspace(ws),
		extendapi.WithHTTPClient(a.HTTPClient),
		extendapi.WithLimiter(a.Limiters.For(key)),
		extendapi.WithTimeout(a.Extend.Timeout),
		extendapi.WithUserAgent(a.UserAgent),
		extendapi.WithLogger(a.Logger),
	}
	if a.Upstream != nil {
		opts = append(opts, extendapi.WithObserver(a.Upstream.Observer(baseURL, ref)))
	}
	opts = append(opts, defaults...)
	opts = append(opts, a.ClientOptions...)
	return extendapi.New(key, append(opts, extra...)...)
}

// keyRef names a connection made without a workspace ID (store.KeyRef):
// every user of one key lands in the same tenant.
func (a *App) keyRef(key string) string { return store.KeyRef(a.TenantKey, key) }

// tenantKeySetting is the settings row holding the tenant hash key.
const tenantKeySetting = "tenant_hash_key"

// LoadTenantKey returns the key of the hash that names tenants connected
// without a workspace ID, creating it on first use. It lives in the store
// so every replica (and every restart) names a key's tenant alike.
func LoadTenantKey(ctx context.Context, st *store.Store) ([]byte, error) {
	read := func() ([]byte, error) {
		v, err := st.GetSetting(ctx, tenantKeySetting)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(v)
	}
	key, err := read()
	if err == nil && len(key) >= 16 {
		return key, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("load tenant key: %w", err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("generate tenant key: %w", err)
	}
	if err := st.PutSetting(ctx, tenantKeySetting, base64.StdEncoding.EncodeToString(fresh)); err != nil {
		return nil, fmt.Errorf("store tenant key: %w", err)
	}
	// Read back: when two replicas raced, both end up with the winner's.
	if key, err = read(); err != nil {
		return nil, fmt.Errorf("load tenant key: %w", err)
	}
	return key, nil
}
