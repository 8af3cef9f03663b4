package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/static"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// Keys and workspaces of the test sandbox.
const (
	demoKey    = "sk_sandbox_demo"
	demoWS     = "ws_demo"
	otherKey   = "sk_test_other_0123456789"
	otherWS    = "ws_other"
	orgKey     = "sk_test_org_0123456789"
	testBase   = "/ew/"
	proxyIPNet = "10.0.0.0/8"
)

// testSandboxSecret marks the test dashboard's calls to its mounted sandbox.
const testSandboxSecret = "test-sandbox-internal-secret"

// lockedBuffer collects log lines from concurrent goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envOptions change the test dashboard.
type envOptions struct {
	basePath string
	seed     bool
	keys     map[string]string // sandbox keys; default demo, other, org
	identity middleware.IdentityConfig
	// sandboxMode mounts the sandbox on the dashboard (as --sandbox does)
	// instead of pointing at it as an external deployment.
	sandboxMode bool
	extendURL   string // overrides the sandbox as the deployment
	// noRetry makes every Extend call a single attempt (error tests).
	noRetry bool
	// upstreamWindow and upstreamTimeout, when set, replace the upstream
	// health window and the timeout of each Extend call.
	upstreamWindow, upstreamTimeout time.Duration
	// storeClock, when set, is the store's clock.
	storeClock func() time.Time
	// signOutURL is Options.SignOutURL (--sign-out-url).
	signOutURL string
}

// testEnv is a dashboard talking to a real sandbox over HTTP, on a
// temporary SQLite store.
type testEnv struct {
	t     *testing.T
	echo  *echo.Echo
	app   *dashboard
	srv   *httptest.Server
	sb    *sandbox.Server
	sbURL string // where the dashboard calls the sandbox
	// sbServer serves the sandbox unless it is mounted (sandboxMode).
	sbServer *httptest.Server
	st       *store.Store
	logs     *lockedBuffer
	client   *http.Client
	headers  http.Header // added to every request
}

func newTestEnv(t *testing.T, opts envOptions) *testEnv {
	t.Helper()
	if opts.basePath == "" {
		opts.basePath = testBase
	}
	if opts.keys == nil {
		opts.keys = map[string]string{demoKey: demoWS, otherKey: otherWS, orgKey: "*"}
	}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()

	sealKey := make([]byte, store.SealerKeySize)
	sessKey := make([]byte, 32)
	_, _ = rand.Read(sealKey)
	_, _ = rand.Read(sessKey)
	sealer, err := store.NewSealer([][]byte{sealKey})
	if err != nil {
		t.Fatal(err)
	}
	storeOpts := []store.Option{store.WithSealer(sealer)}
	if opts.storeClock != nil {
		storeOpts = append(storeOpts, store.WithClock(opts.storeClock))
	}
	st, err := store.Open(ctx, storetest.SQLiteDSN(t), logger, storeOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tenantKey, err := upstream.LoadTenantKey(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	assets, err := static.New(opts.basePath)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := middleware.NewSessionStore(st, middleware.SessionStoreOptions{
		Path: opts.basePath, KeyPairs: [][]byte{sessKey}, Idle: time.Hour, MaxAge: 4 * time.Hour,
		Identity: func(r *http.Request) string {
			id, _ := opts.identity.Resolve(r)
			return id.User
		},
		Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}

	env := &testEnv{t: t, st: st, logs: logs, headers: http.Header{}}
	env.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { env.echo.ServeHTTP(w, r) }))
	t.Cleanup(env.srv.Close)

	sbOpts := sandbox.Options{APIKeys: opts.keys, Seed: opts.seed, SeedWorkspace: demoWS,
		Logger: logger.With("component", "sandbox"), Workers: 2}
	if opts.sandboxMode {
		sbOpts.BasePath, sbOpts.Embedded = opts.basePath+"_sandbox", true
	}
	env.sb, err = sandbox.New(sbOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.sb.Close() })
	if opts.sandboxMode {
		env.sbURL = env.srv.URL + opts.basePath + "_sandbox"
	} else {
		env.sbServer = httptest.NewServer(env.sb)
		t.Cleanup(env.sbServer.Close)
		env.sbURL = env.sbServer.URL
	}

	copts := upstream.ConnectorOptions{
		Extend:    upstream.ExtendConfig{URL: env.sbURL, Deployment: "test", Timeout: 10 * time.Second},
		Limiters:  extendapi.NewLimiterRegistry(extendapi.LimiterConfig{GET: -1, WRITE: -1, RUN: -1}),
		TenantKey: tenantKey, Logger: logger,
		Health: upstream.NewHealth(upstream.HealthOptions{Window: opts.upstreamWindow}),
	}
	if opts.upstreamTimeout > 0 {
		copts.Extend.Timeout = opts.upstreamTimeout
	}
	if opts.noRetry {
		copts.ClientOptions = []extendapi.Option{extendapi.WithRetryPolicy(extendapi.RetryPolicy{MaxAttempts: 1})}
	}
	if opts.extendURL != "" {
		copts.Extend.URL = opts.extendURL
	}
	appOpts := Options{
		Store: st, Sessions: sessions, Assets: assets, Logger: logger, Identity: opts.identity,
		BasePath: opts.basePath, SignOutURL: opts.signOutURL,
	}
	if opts.sandboxMode {
		appOpts.Sandbox = &SandboxInfo{Key: demoKey, Workspace: demoWS, InternalURL: env.sbURL, Handler: env.sb,
			InternalSecret: testSandboxSecret}
		copts.Extend.Deployment = SandboxDeployment
		copts.HTTPClient = &http.Client{Transport: MarkSandboxCalls(http.DefaultTransport, env.sbURL, testSandboxSecret)}
	}
	if appOpts.Connector, err = upstream.NewConnector(copts); err != nil {
		t.Fatal(err)
	}
	env.build(appOpts)

	jar, _ := cookiejar.New(nil)
	env.client = &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return env
}

// testConnector is a connector to the test deployment at extendURL, with
// no client-side rate limit.
func testConnector(t testing.TB, tenantKey []byte, extendURL string) *upstream.Connector {
	t.Helper()
	c, err := upstream.NewConnector(upstream.ConnectorOptions{
		Extend:    upstream.ExtendConfig{URL: extendURL, Deployment: "test", Timeout: 10 * time.Second},
		Limiters:  extendapi.NewLimiterRegistry(extendapi.LimiterConfig{GET: -1, WRITE: -1, RUN: -1}),
		TenantKey: tenantKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// url is the absolute URL of a dashboard path relative to the base path.
// build serves a dashboard built from opts as env's.
func (env *testEnv) build(opts Options) {
	env.t.Helper()
	srv, err := New(opts)
	if err != nil {
		env.t.Fatal(err)
	}
	env.app, env.echo = srv.app, srv.echo
}

func (env *testEnv) url(p string) string {
	if strings.HasPrefix(p, "http") {
		return p
	}
	if strings.HasPrefix(p, "/") {
		return env.srv.URL + p
	}
	return env.srv.URL + env.app.BasePath + p
}

// response is an answer with its body read.
type response struct {
	*http.Response
	body string
}

func (r response) doc(t *testing.T) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (env *testEnv) do(req *http.Request) response {
	env.t.Helper()
	for k, v := range env.headers {
		req.Header[k] = v
	}
	resp, err := env.client.Do(req)
	if err != nil {
		env.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		env.t.Fatal(err)
	}
	return response{resp, string(b)}
}

func (env *testEnv) get(p string) response {
	env.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.url(p), nil)
	return env.do(req)
}

// csrf is the CSRF cookie's token, fetching a page first when there is
// none yet.
func (env *testEnv) csrf() string {
	env.t.Helper()
	u, _ := url.Parse(env.url(""))
	for _, ck := range env.client.Jar.Cookies(u) {
		if ck.Name == middleware.CSRFCookieName {
			return ck.Value
		}
	}
	env.get("connect")
	for _, ck := range env.client.Jar.Cookies(u) {
		if ck.Name == middleware.CSRFCookieName {
			return ck.Value
		}
	}
	env.t.Fatal("no CSRF cookie after loading the connect page")
	return ""
}

// post sends a form with the CSRF token.
func (env *testEnv) post(p string, form url.Values) response {
	env.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form[views.CSRFField]; !ok {
		form.Set(views.CSRFField, env.csrf())
	}
	req, _ := http.NewRequest(http.MethodPost, env.url(p), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return env.do(req)
}

// connect connects key (and workspace) and expects success.
func (env *testEnv) connect(key, ws string) {
	env.t.Helper()
	r := env.post("connect", url.Values{views.FieldAPIKey: {key}, views.FieldWorkspaceID: {ws}})
	if r.StatusCode != http.StatusSeeOther {
		env.t.Fatalf("connect %s: status %d, want 303; body:\n%s", ws, r.StatusCode, errorText(r))
	}
}

// errorText is the readable part of a page, for failure messages.
func errorText(r response) string {
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		return r.body
	}
	for _, sel := range []string{`[data-testid="error-page"]`, `[data-testid="connect-error"]`, `[data-testid="form-error"]`, "main"} {
		if s := d.Find(sel); s.Length() > 0 {
			return strings.Join(strings.Fields(s.Text()), " ")
		}
	}
	return r.body
}

// location is a redirect's target, relative to the server.
func location(t *testing.T, r response) string {
	t.Helper()
	loc := r.Header.Get("Location")
	if loc == "" {
		t.Fatalf("status %d without Location; body: %s", r.StatusCode, errorText(r))
	}
	return loc
}

// testid finds elements by data-testid.
func testid(d *goquery.Document, id string) *goquery.Selection {
	return d.Find(`[data-testid="` + id + `"]`)
}
