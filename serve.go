package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/handlers"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/static"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
)

// sandboxWorkspace is the embedded sandbox's demo workspace.
const sandboxWorkspace = "ws_demo"

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
	tenantKey, err := upstream.LoadTenantKey(ctx, st)
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
		LoginHeader: cfg.LoginHeader, Logger: logger.With("component", "identity"),
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
				return identity.SessionBinding(r, id.User)
			}
			id, _ := identity.Resolve(r)
			return identity.SessionBinding(r, id.User)
		},
		SecureFunc: identity.IsHTTPS,
		Logger:     logger,
	})
	if err != nil {
		return err
	}

	health := &handlers.Health{Version: buildVersion(), Started: time.Now(),
		Checks: map[string]func(context.Context) error{"store": st.Ping}}
	extend := upstream.ExtendConfig{Region: cfg.Region, URL: cfg.ExtendURL, Timeout: cfg.UpstreamTimeout}
	var limiters *extendapi.LimiterRegistry
	var sandboxInfo *handlers.SandboxInfo
	var transport http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if cfg.Sandbox {
		sb, err := sandbox.New(sandbox.Options{
			APIKeys:       map[string]string{cfg.SandboxKey: sandboxWorkspace},
			DataDir:       filepath.Join(cfg.DataDir, "sandbox"),
			Seed:          true, // the sandbox seeds only a data directory that has no state yet
			SeedWorkspace: sandboxWorkspace,
			// No PublicURL: presigned links follow the Host the sandbox was
			// called with, and the dashboard turns its own loopback ones
			// into paths on whatever host the browser uses.
			BasePath:  cfg.BasePath + "_sandbox",
			Embedded:  true, // its own routes beside the API: <base>_sandbox/faults
			MaxUpload: handlers.DefaultMaxUpload,
			Logger:    logger.With("component", "sandbox"),
		})
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer sb.Close()
		internal := local + cfg.BasePath + "_sandbox"
		secret, err := newSandboxSecret()
		if err != nil {
			return err
		}
		sandboxInfo = &handlers.SandboxInfo{Key: cfg.SandboxKey, Workspace: sandboxWorkspace, InternalURL: internal,
			Handler: sb, InternalSecret: secret}
		transport = handlers.MarkSandboxCalls(transport, internal, secret)
		extend.URL, extend.Deployment = internal, handlers.SandboxDeployment
		// The sandbox has no quota to protect; the client-side limiter
		// would only slow the demo down.
		limiters = extendapi.NewLimiterRegistry(extendapi.LimiterConfig{GET: -1, WRITE: -1, RUN: -1})
	}
	metrics, stopMetrics, err := startMetrics(ctx, cfg.MetricsListen, st, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	var clientOptions []extendapi.Option
	if metrics != nil {
		clientOptions = append(clientOptions, metrics.ClientOption())
	}
	connector, err := upstream.NewConnector(upstream.ConnectorOptions{
		Extend: extend, Limiters: limiters, TenantKey: tenantKey, ClientOptions: clientOptions,
		HTTPClient: &http.Client{Transport: transport},
		UserAgent:  "Editwatch/" + buildVersion(),
		Logger:     logger,
	})
	if err != nil {
		return err
	}
	live, stopLive, err := startLive(ctx, cfg, st, connector, logger)
	if err != nil {
		return err
	}
	defer stopLive()
	alertEngine, stopAlerts, err := startAlerts(ctx, cfg, st, live, logger)
	if err != nil {
		return err
	}
	defer stopAlerts()
	dashboard, err := handlers.New(handlers.Options{
		Store: st, Sessions: sessions, Assets: assets, Logger: logger, Identity: identity,
		BasePath: cfg.BasePath, FrameAncestors: cfg.FrameAncestors, SignOutURL: cfg.SignOutURL,
		SingleUserWarning:  !cfg.HeaderMode() && !isLoopbackListen(cfg.Listen),
		Sandbox:            sandboxInfo,
		Connector:          connector,
		Health:             health,
		Metrics:            metrics,
		StreamsPerSession:  cfg.StreamsPerSession,
		StreamsPerIdentity: cfg.StreamsPerIdentity,
		Live:               live.live,
		Backfills:          live.backfills,
		Alerts:             alertEngine,
	})
	if err != nil {
		return err
	}
	var sandboxClient *extendapi.Client
	if sandboxInfo != nil {
		if sandboxClient, err = connector.Client(extendapi.APIKey(sandboxInfo.Key), sandboxInfo.InternalURL, sandboxInfo.Workspace); err != nil {
			return err
		}
	}
	ready := func() {
		if sandboxClient != nil {
			// Before saying it listens: runs made in the sandbox from
			// then on reach history through its webhooks.
			registerSandboxEndpoint(ctx, st, sandboxClient, store.TenantFor(handlers.SandboxDeployment, sandboxWorkspace, ""),
				local+cfg.BasePath, logger)
		}
		fmt.Fprintf(stdout, "Editwatch %s listening on http://%s%s\n", buildVersion(), ln.Addr(), cfg.BasePath)
		if cfg.Sandbox {
			fmt.Fprintf(stdout, "  Sandbox mode: the embedded Extend sandbox answers at %s%s_sandbox/ (data in %s)\n",
				local, cfg.BasePath, filepath.Join(cfg.DataDir, "sandbox"))
			fmt.Fprintf(stdout, "  Open %s%s and connect with the demo key %s for workspace %s (the connect page fills them in)\n",
				local, cfg.BasePath, cfg.SandboxKey, sandboxWorkspace)
		}
		logger.Info("dashboard listening", "addr", ln.Addr().String(), "base_path", cfg.BasePath, "sandbox", cfg.Sandbox)
	}
	return serveHTTP(ctx, newHTTPServer(dashboard, logger), ln, logger, ready)
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

// newSandboxSecret is the per-process secret that marks the dashboard's own
// calls to its embedded sandbox.
func newSandboxSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sandbox: generate the internal secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}
