package upstream

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

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

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

// ConnectorOptions configure NewConnector; only TenantKey is required.
type ConnectorOptions struct {
	Extend ExtendConfig
	// HTTPClient is shared by every Extend client (one connection pool).
	HTTPClient *http.Client
	// Limiters hands out one rate limiter per API key, so every session of
	// one organization key shares the organization's budget.
	Limiters *extendapi.LimiterRegistry
	// TenantKey keys the hash that names a tenant connected without a
	// workspace ID (see LoadTenantKey).
	TenantKey []byte
	UserAgent string
	Logger    *slog.Logger
	// Health is told about every attempt; nil: a tracker with
	// DefaultHealthWindow.
	Health *Health
	// ClientOptions are added to every Extend client (an observer for
	// metrics, a retry policy in tests).
	ClientOptions []extendapi.Option
}

// Connector builds the Extend clients of pages and background work alike:
// every client shares the HTTP connection pool and its key's limiter, and
// reports every attempt to the upstream health tracker. Building one is
// cheap. It is safe for concurrent use.
type Connector struct {
	opts ConnectorOptions
}

// NewConnector checks opts and fills in defaults.
func NewConnector(opts ConnectorOptions) (*Connector, error) {
	var errs []error
	if len(opts.TenantKey) < 16 {
		errs = append(errs, errors.New("tenant key missing or shorter than 16 bytes"))
	}
	if opts.Extend.URL == "" {
		if _, err := extendapi.RegionBaseURL(orDefault(opts.Extend.Region, "us")); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	if opts.Extend.Region == "" {
		opts.Extend.Region = "us"
	}
	if opts.Extend.Timeout <= 0 {
		opts.Extend.Timeout = extendapi.DefaultTimeout
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Limiters == nil {
		opts.Limiters = extendapi.NewLimiterRegistry(extendapi.LimiterConfig{})
	}
	if opts.UserAgent == "" {
		opts.UserAgent = extendapi.DefaultUserAgent()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Health == nil {
		opts.Health = NewHealth(HealthOptions{})
	}
	return &Connector{opts: opts}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Health is the tracker every client of this connector reports to.
func (c *Connector) Health() *Health { return c.opts.Health }

// HTTPClient is the shared client, for fetching presigned file URLs with
// the same transport (and, in --sandbox mode, the same internal mark) as
// the Extend calls.
func (c *Connector) HTTPClient() *http.Client { return c.opts.HTTPClient }

// Region is the default region of the connect page.
func (c *Connector) Region() string { return c.opts.Extend.Region }

// Deployment is where a connection goes: its base URL and the name tenants
// use for it.
type Deployment struct {
	BaseURL string
	Name    string
}

// Fixed reports the deployment every connection uses when it is not the
// person's choice (sandbox or --extend-url).
func (c *Connector) Fixed() (Deployment, bool) {
	ext := c.opts.Extend
	if ext.URL == "" {
		return Deployment{}, false
	}
	name := ext.Deployment
	if name == "" {
		name = strings.TrimRight(ext.URL, "/")
	}
	return Deployment{BaseURL: strings.TrimRight(ext.URL, "/"), Name: name}, true
}

// Choose resolves the connect form's deployment value.
func (c *Connector) Choose(value string) (Deployment, error) {
	if d, ok := c.Fixed(); ok {
		return d, nil
	}
	region := strings.ToLower(strings.TrimSpace(orDefault(value, c.opts.Extend.Region)))
	if region == "eu" {
		region = "eu1"
	}
	base, err := extendapi.RegionBaseURL(region)
	if err != nil {
		return Deployment{}, err
	}
	return Deployment{BaseURL: base, Name: region}, nil
}

// BaseURL is where a deployment answers today: the one resolver of base
// URLs. The embedded sandbox and the regions are looked up again, so a
// restart on another port (or a region moving) does not strand what was
// stored; stored (the base URL a connection was made with, "" when
// unknown) serves a deployment this process does not know otherwise, and
// a deployment named by its URL is that URL.
func (c *Connector) BaseURL(deployment, stored string) string {
	if d, ok := c.Fixed(); ok && d.Name == deployment {
		return d.BaseURL
	}
	base, err := extendapi.RegionBaseURL(deployment)
	switch {
	case err == nil && c.opts.Extend.URL == "":
		return base
	case stored != "":
		return stored
	case err == nil:
		return base
	}
	return deployment
}

// ConnectionBaseURL is where conn's calls go today.
func (c *Connector) ConnectionBaseURL(conn store.Connection) string {
	return c.BaseURL(conn.Deployment, conn.BaseURL)
}

// KeyRef names a connection made without a workspace ID (store.KeyRef):
// every user of one key lands in the same tenant.
func (c *Connector) KeyRef(key string) string { return store.KeyRef(c.opts.TenantKey, key) }

// Client builds an Extend client for key on baseURL, acting in workspace
// ws (none when ""); extra options override every other.
func (c *Connector) Client(key extendapi.APIKey, baseURL, ws string, extra ...extendapi.Option) (*extendapi.Client, error) {
	return c.build(key, baseURL, ws, nil, extra)
}

// ConnectionClient is a client of conn's deployment and workspace for key,
// for background work.
func (c *Connector) ConnectionClient(key string, conn store.Connection) (*extendapi.Client, error) {
	return c.build(extendapi.APIKey(key), c.ConnectionBaseURL(conn), conn.WorkspaceID, nil, nil)
}

// pageRetryPolicy bounds the retries of calls a page waits on: a person
// looking at a spinner is better served by the error page, with when to
// try again, after 4 s than after the default 30 s (in a storm of 429s
// the tries also queue behind the workspace's shared pauses). Background
// work keeps the default.
var pageRetryPolicy = extendapi.RetryPolicy{MaxAttempts: 4, MaxElapsed: 4 * time.Second,
	BaseDelay: 500 * time.Millisecond, MaxDelay: 4 * time.Second}

// PageClient is ConnectionClient for a call a page waits on: it gives up
// retrying sooner (unless ClientOptions set another policy).
func (c *Connector) PageClient(key string, conn store.Connection) (*extendapi.Client, error) {
	return c.build(extendapi.APIKey(key), c.ConnectionBaseURL(conn), conn.WorkspaceID,
		[]extendapi.Option{extendapi.WithRetryPolicy(pageRetryPolicy)}, nil)
}

// build is Client with options that ClientOptions may still override
// (defaults) and options that override them (extra).
func (c *Connector) build(key extendapi.APIKey, baseURL, ws string, defaults, extra []extendapi.Option) (*extendapi.Client, error) {
	ref := ws
	if ref == "" {
		ref = c.KeyRef(string(key))
	}
	opts := []extendapi.Option{
		extendapi.WithBaseURL(baseURL),
		extendapi.WithWorkspace(ws),
		extendapi.WithHTTPClient(c.opts.HTTPClient),
		extendapi.WithLimiter(c.opts.Limiters.For(key)),
		extendapi.WithTimeout(c.opts.Extend.Timeout),
		extendapi.WithUserAgent(c.opts.UserAgent),
		extendapi.WithLogger(c.opts.Logger),
		extendapi.WithObserver(c.opts.Health.Observer(baseURL, ref)),
	}
	opts = append(opts, defaults...)
	opts = append(opts, c.opts.ClientOptions...)
	return extendapi.New(key, append(opts, extra...)...)
}

// resolveClientKey is the placeholder key of the client that fetches
// signed_data_url payloads: those URLs authorize themselves and the client
// sends no credentials with them.
const resolveClientKey extendapi.APIKey = "editwatch_signed_url_fetch"

// ResolveWebhookPayload fetches a signed_data_url payload for monitor
// (monitor.Options.Resolve), with a client of the tenant's deployment (a
// signed URL on plain http is only accepted from a plain-http deployment:
// the sandbox).
func (c *Connector) ResolveWebhookPayload(ctx context.Context, tenant string, e *extendapi.WebhookEvent) error {
	dep, _ := store.TenantParts(tenant)
	cl, err := c.Client(resolveClientKey, c.BaseURL(dep, ""), "")
	if err != nil {
		return err
	}
	return cl.ResolveWebhookPayload(ctx, e)
}

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
