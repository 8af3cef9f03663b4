package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/handlers"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/static"
	"github.com/editwatch/editwatch/store"
)

// sandboxWorkspace is the embedded sandbox's demo workspace.
const sandboxWorkspace = "ws_demo"

// purgeEvery is how often expired sessions and audit entries past the
// retention are deleted.
const purgeEvery = 10 * time.Minute

// runServe starts the dashboard and serves until ctx ends.
func runServe(ctx context.Context, cfg config.Serve, logger *slog.Logger, stdout io.Writer) error {
	if err := restrictDataDir(cfg.DataDir, logger); err != nil {
		return err
	}
	generated, err := ensureSandboxSecrets(&cfg)
	if err != nil {
		return err
	}
	if generated {
		logger.Info("generated session and encryption keys for sandbox mode", "file", filepath.Join(cfg.DataDir, secretsFileName))
	}
	sealer, err := store.NewSealer(cfg.EncryptionKeys)
	if err != nil {
		return fmt.Errorf("--encryption-key: %w", err)
	}
	st, err := store.Open(ctx, cfg.DB, logger, store.WithSealer(sealer))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	tenantKey, err := handlers.LoadTenantKey(ctx, st)
	if err != nil {
		return err
	}
	assets, err := static.New(cfg.BasePath)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another Editwatch running? choose another --listen)", cfg.Listen, err)
	}
	defer ln.Close()
	local := "http://" + loopbackAddr(ln.Addr())

	identity := middleware.IdentityConfig{
		TrustedProxies: cfg.TrustedProxies, IdentityHeader: cfg.IdentityHeader,
		GroupsHeader: cfg.GroupsHeader, GroupsDelimiter: cfg.GroupsDelimiter,
		AdminGroups: cfg.AdminGroups, ViewerGroups: cfg.ViewerGroups, ReadOnly: cfg.ReadOnly,
		Logger: logger.With("component", "identity"),
	}
	if cfg.ProxyJWT != "" {
		if identity.ProxyJWT, err = newProxyJWTVerifier(ctx, cfg, logger); err != nil {
			return err
		}
	}
	sessions, err := middleware.NewSessionStore(st, middleware.SessionStoreOptions{
		Path: cfg.BasePath, KeyPairs: cfg.SessionKeys, Idle: cfg.SessionIdle, MaxAge: cfg.SessionMax,
		Identity: func(r *http.Request) string {
			if id, ok := middleware.IdentityFromRequest(r); ok {
				return id.User
			}
			id, _ := identity.Resolve(r)
			return id.User
		},
		SecureFunc: identity.IsHTTPS,
		Logger:     logger,
	})
	if err != nil {
		return err
	}

	health := &handlers.Health{Version: buildVersion(), Started: time.Now(),
		Checks: map[string]func(context.Context) error{"store": st.Ping}}
	app := handlers.App{
		Store: st, Sessions: sessions, Assets: assets, Logger: logger, Identity: identity,
		BasePath: cfg.BasePath, TenantKey: tenantKey, FrameAncestors: cfg.FrameAncestors,
		SingleUserWarning: !cfg.HeaderMode() && !isLoopbackListen(cfg.Listen),
		Extend:            handlers.ExtendConfig{Region: cfg.Region, URL: cfg.ExtendURL, Timeout: cfg.UpstreamTimeout},
		HTTPClient:        &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		UserAgent:         "Editwatch/" + buildVersion(),
		Health:            health,
	}
	var sb *sandbox.Server
	if cfg.Sandbox {
		sb, err = sandbox.New(sandbox.Options{
			APIKeys:       map[string]string{cfg.SandboxKey: sandboxWorkspace},
			DataDir:       filepath.Join(cfg.DataDir, "sandbox"),
			Seed:          true, // the sandbox seeds only a data directory that has no state yet
			SeedWorkspace: sandboxWorkspace,
			// No PublicURL: presigned links follow the Host the sandbox was
			// called with, and the dashboard turns its own loopback ones
			// into paths on whatever host the browser uses.
			BasePath:  cfg.BasePath + "_sandbox",
			MaxUpload: handlers.DefaultMaxUpload,
			Logger:    logger.With("component", "sandbox"),
		})
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer sb.Close()
		internal := local + cfg.BasePath + "_sandbox"
		app.Sandbox = &handlers.SandboxInfo{Key: cfg.SandboxKey, Workspace: sandboxWorkspace, InternalURL: internal, Handler: sb}
		app.Extend.URL, app.Extend.Deployment = internal, handlers.SandboxDeployment
		// The sandbox has no quota to protect; the client-side limiter
		// would only slow the demo down.
		app.Limiters = extendapi.NewLimiterRegistry(extendapi.LimiterConfig{GET: -1, WRITE: -1, RUN: -1})
	}
	metrics, stopMetrics, err := startMetrics(ctx, cfg.MetricsListen, st, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	if metrics != nil {
		app.Metrics = metrics
		app.ClientOptions = append(app.ClientOptions, metrics.ClientOption())
	}
	built, err := handlers.NewApp(app)
	if err != nil {
		return err
	}
	stopLive, err := startLive(ctx, cfg, st, built, logger, local+cfg.BasePath)
	if err != nil {
		return err
	}
	defer stopLive()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	handlers.Routes(e, built)

	purgeCtx, stopPurge := context.WithCancel(ctx)
	defer stopPurge()
	go purgeLoop(purgeCtx, st, cfg.Retention, logger)

	fmt.Fprintf(stdout, "Editwatch %s listening on http://%s%s\n", buildVersion(), ln.Addr(), cfg.BasePath)
	if cfg.Sandbox {
		fmt.Fprintf(stdout, "  Sandbox mode: the embedded Extend sandbox answers at %s%s_sandbox/ (data in %s)\n",
			local, cfg.BasePath, filepath.Join(cfg.DataDir, "sandbox"))
		fmt.Fprintf(stdout, "  Open %s%s and connect with the demo key %s for workspace %s (the connect page fills them in)\n",
			local, cfg.BasePath, cfg.SandboxKey, sandboxWorkspace)
	}
	logger.Info("dashboard listening", "addr", ln.Addr().String(), "base_path", cfg.BasePath, "sandbox", cfg.Sandbox)
	return serveHTTP(ctx, newHTTPServer(e, logger), ln, logger)
}

// purgeLoop deletes expired sessions (with their sealed keys) and audit
// entries older than the retention, now and then every purgeEvery.
func purgeLoop(ctx context.Context, st *store.Store, retention time.Duration, logger *slog.Logger) {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		now := st.Now()
		if n, err := st.DeleteExpiredSessions(ctx, now); err != nil && !errors.Is(err, context.Canceled) {
			logger.Warn("purge expired sessions", "err", err)
		} else if n > 0 {
			logger.Info("purged expired sessions", "count", n)
		}
		if n, err := st.PurgeAuditBefore(ctx, now.Add(-retention)); err != nil && !errors.Is(err, context.Canceled) {
			logger.Warn("purge old audit entries", "err", err)
		} else if n > 0 {
			logger.Info("purged audit entries past the retention", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loopbackAddr is how this process reaches its own listener: an
// unspecified address (0.0.0.0, ::) becomes the loopback one.
func loopbackAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		// A listener on every address (dual stack included) takes IPv4
		// loopback connections.
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// isLoopbackListen reports whether --listen only accepts local
// connections.
func isLoopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newProxyJWTVerifier builds the signed-assertion check and fetches the
// proxy's keys once, so a wrong key URL shows in the log at start rather than
// as refused requests later.
func newProxyJWTVerifier(ctx context.Context, cfg config.Serve, logger *slog.Logger) (*middleware.ProxyJWTVerifier, error) {
	v, err := middleware.NewProxyJWTVerifier(middleware.ProxyJWTConfig{
		Provider: cfg.ProxyJWT, Header: cfg.ProxyJWTHeader, JWKSURL: cfg.ProxyJWTJWKSURL,
		Audience: cfg.ProxyJWTAud, Issuer: cfg.ProxyJWTIssuer,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("--proxy-jwt: %w", err)
	}
	if err := v.Prefetch(ctx); err != nil {
		logger.Warn("cannot fetch the proxy's signing keys yet; requests are refused until they can be fetched",
			"jwks_url", cfg.ProxyJWTJWKSURL, "err", err)
	}
	return v, nil
}
