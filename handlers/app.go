package handlers

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/alerts"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/static"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// DefaultMaxUpload is the largest PDF the new-run page accepts: the
// sandbox's limit, and a sane one for Extend, whose own is not documented.
const DefaultMaxUpload = 50 * 1000 * 1000

// SandboxDeployment names the embedded sandbox's deployment in tenants and
// in the header, whatever port it happens to listen on.
const SandboxDeployment = "sandbox"

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
	// InternalSecret marks the dashboard's own calls to the sandbox
	// (MarkSandboxCalls); other requests meet the dashboard's rules.
	InternalSecret string
}

// Options are the dashboard's dependencies and settings. New checks them
// and fills in the defaults; a zero field takes its default.
type Options struct {
	Store    *store.Store
	Sessions *middleware.SessionStore
	Assets   *static.Assets
	Logger   *slog.Logger
	Identity middleware.IdentityConfig
	// BasePath is "/" or "/sub/" (config normalizes it).
	BasePath string
	// Sandbox is nil unless --sandbox.
	Sandbox *SandboxInfo
	// Connector builds every Extend client (pages and background work
	// alike) and knows the deployments and upstream health.
	Connector *upstream.Connector
	// SignOutURL is where Sign out sends the browser once the Editwatch
	// session has ended (the SSO proxy's sign-out); "" ends only that.
	SignOutURL string
	// FrameAncestors is the CSP frame-ancestors value.
	FrameAncestors string
	// SingleUserWarning: no proxy in front and a non-loopback listener.
	SingleUserWarning bool
	MaxUpload         int64
	PollInterval      time.Duration
	Now               func() time.Time
	Health            *Health
	// RateLimits per identity; zero fields take middleware.DefaultRateLimits.
	RateLimits middleware.RateLimits
	// StreamsPerSession and StreamsPerIdentity cap the live-update event
	// streams (defaultStreamsPerSession, defaultStreamsPerIdentity).
	StreamsPerSession, StreamsPerIdentity int
	// Live is history and live updates (webhooks, event streams,
	// refresher); nil leaves all of it unwired.
	Live *monitor.Live
	// Backfills syncs history from Extend's list; required with Live.
	Backfills *upstream.Backfills
	// Alerts evaluates the alert rules; nil leaves the alerts page out.
	Alerts *alerts.Engine
	// Metrics, when set (--metrics-listen), counts requests and upstream
	// calls; see middleware.NewMetrics.
	Metrics *middleware.Metrics
	// Reruns tracks the bulk re-runs and bulk deletes; New makes one
	// with the connector's clients when nil, recording bulk deletes in
	// Live's history (one passed in records them only as it was built to).
	Reruns *upstream.RerunJobs
}

// Server is the dashboard, built once by New: every layer and route is
// installed on its own Echo instance, and nothing is set after New
// returns.
type Server struct {
	echo *echo.Echo
	app  *dashboard
}

// New checks opts, fills in the defaults and returns the dashboard, ready
// to serve.
func New(opts Options) (*Server, error) {
	app, err := newDashboard(opts)
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	routes(e, app)
	return &Server{echo: e, app: app}, nil
}

// ServeHTTP serves every route of the dashboard.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// dashboard is what the pages share: the checked Options and what is
// derived from them. Its methods are the pages and their helpers.
type dashboard struct {
	Options
	// csrf checks and hands out the forms' tokens.
	csrf *middleware.CSRF
	// streams caps the live-update streams per session and identity.
	streams *streamRegistry
	// presigned keeps the presigned URLs of the files being viewed.
	presigned presignedCache
}

// newDashboard checks opts and fills in defaults.
func newDashboard(opts Options) (*dashboard, error) {
	app := &dashboard{Options: opts}
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
	if app.Connector == nil {
		errs = append(errs, errors.New("no connector"))
	}
	if app.Live != nil && app.Backfills == nil {
		errs = append(errs, errors.New("live updates without backfills"))
	}
	if !strings.HasPrefix(app.BasePath, "/") || !strings.HasSuffix(app.BasePath, "/") {
		errs = append(errs, fmt.Errorf("base path %q must start and end with a slash", app.BasePath))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("handlers: %w", err)
	}
	if app.Logger == nil {
		app.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if app.FrameAncestors == "" {
		app.FrameAncestors = "'none'"
	}
	if app.MaxUpload <= 0 {
		app.MaxUpload = DefaultMaxUpload
	}
	if app.Now == nil {
		app.Now = time.Now
	}
	if app.Reruns == nil {
		reruns, err := upstream.NewRerunJobs(upstream.RerunOptions{Store: app.Store,
			Keys: upstream.NewKeys(app.Store, app.Connector), Logger: app.Logger, OnDeleted: app.recordBulkDeleted})
		if err != nil {
			return nil, fmt.Errorf("handlers: %w", err)
		}
		app.Reruns = reruns
	}
	app.streams = newStreamRegistry(app.StreamsPerSession, app.StreamsPerIdentity)
	app.csrf = middleware.NewCSRF(middleware.CSRFOptions{BasePath: app.BasePath, IsHTTPS: app.Identity.IsHTTPS, FormField: views.CSRFField,
		Skip: func(c echo.Context) bool { return app.isOpenPath(c.Request().URL.Path) || uploadRoute(c) }})
	if app.Health == nil {
		app.Health = &Health{Started: app.Now(), Now: app.Now}
	}
	return app, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// path prefixes p (relative, no leading slash) with the base path.
func (a *dashboard) path(p string) string { return a.BasePath + strings.TrimPrefix(p, "/") }
