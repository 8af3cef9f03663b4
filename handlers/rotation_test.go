package handlers

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/static"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// rotationRig restarts the dashboard on one database with different
// session and encryption keys, as an operator rotating them would.
type rotationRig struct {
	t     *testing.T
	dsn   string
	sbURL string
	logs  *lockedBuffer
}

func newRotationRig(t *testing.T) *rotationRig {
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sb, err := sandbox.New(sandbox.Options{APIKeys: map[string]string{demoKey: demoWS}, Seed: true, SeedWorkspace: demoWS,
		Logger: logger.With("component", "sandbox"), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	sbServer := httptest.NewServer(sb)
	t.Cleanup(sbServer.Close)
	return &rotationRig{t: t, dsn: storetest.SQLiteDSN(t), sbURL: sbServer.URL, logs: logs}
}

// start runs the dashboard with these keys (the first of each signs or
// seals) and returns a stop function.
func (rig *rotationRig) start(sessionKeys, sealKeys [][]byte) (*dashboard, *httptest.Server, func()) {
	t := rig.t
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(rig.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sealer, err := store.NewSealer(sealKeys)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, rig.dsn, logger, store.WithSealer(sealer))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tenantKey, err := upstream.LoadTenantKey(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	assets, err := static.New(testBase)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := middleware.NewSessionStore(st, middleware.SessionStoreOptions{Path: testBase, KeyPairs: sessionKeys,
		Idle: time.Hour, MaxAge: 4 * time.Hour, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	server, err := New(Options{Store: st, Sessions: sessions, Assets: assets, Logger: logger, BasePath: testBase,
		Connector: testConnector(rig.t, tenantKey, rig.sbURL)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server)
	return server.app, srv, func() { srv.Close(); st.Close() }
}

// browser is one person's cookie jar, pointed at whichever server runs.
func (rig *rotationRig) browser(app *dashboard, srv *httptest.Server, jar http.CookieJar) *testEnv {
	if jar == nil {
		jar, _ = cookiejar.New(nil)
	}
	return &testEnv{t: rig.t, app: app, srv: srv, st: app.Store, logs: rig.logs, headers: http.Header{},
		client: &http.Client{Jar: jar, Timeout: 60 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// withSessionCookie is a jar holding only this session cookie value.
func withSessionCookie(t *testing.T, srv *httptest.Server, value string) http.CookieJar {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: middleware.DefaultSessionCookieName, Value: value, Path: "/ew"}})
	return jar
}

func keyOf(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestKeyRotationKeepsSessionsUntilTheOldKeyIsRetired(t *testing.T) {
	rig := newRotationRig(t)
	keyA, keyB := keyOf('A'), keyOf('B')
	runsPath := "runs?ws=" + demoWS

	// With keys A: ana and bo connect.
	app, srv, stop := rig.start([][]byte{keyA}, [][]byte{keyA})
	ana, bo := rig.browser(app, srv, nil), rig.browser(app, srv, nil)
	ana.connect(demoKey, demoWS)
	bo.connect(demoKey, demoWS)
	anaSession, boCookie := currentSessionID(t, ana), sessionCookie(t, bo)
	anaConn := connectionsOf(t, ana)
	if len(anaConn) != 1 || anaSession == "" || boCookie == "" {
		t.Fatalf("after connecting: %d connections, session %q", len(anaConn), anaSession)
	}
	for _, who := range []*testEnv{ana, bo} {
		if r := who.get(runsPath); r.StatusCode != http.StatusOK {
			t.Fatalf("runs with keys A: %d %s", r.StatusCode, errorText(r))
		}
	}
	stop()

	// Keys [B, A]: nobody notices. Ana keeps working; her session is
	// saved again, so it is now signed and sealed with B, while her API
	// key stays sealed with A.
	app, srv, stop = rig.start([][]byte{keyB, keyA}, [][]byte{keyB, keyA})
	ana.app, ana.srv, ana.st = app, srv, app.Store
	r := ana.get(runsPath)
	if r.StatusCode != http.StatusOK || testid(r.doc(t), "run-row").Length() == 0 {
		t.Fatalf("runs with keys [B, A]: %d %s", r.StatusCode, errorText(r))
	}
	if strings.Contains(r.body, "session has ended") {
		t.Error("rotation told ana her session ended")
	}
	if got := currentSessionID(t, ana); got != anaSession {
		t.Errorf("the session changed on rotation: %q, want %q", got, anaSession)
	}
	if key, err := app.Store.ConnectionKey(context.Background(), anaSession, anaConn[0].ID); err != nil || key != demoKey {
		t.Fatalf("the API key sealed with A does not open under [B, A]: %v", err)
	}
	ana.post("disconnect", url.Values{views.ParamWorkspace: {"ws_none"}}) // any save
	var raw []byte
	onlyB := securecookie.New(keyB, nil)
	onlyB.SetSerializer(securecookie.NopEncoder{})
	if err := onlyB.Decode(middleware.DefaultSessionCookieName, sessionCookie(t, ana), &raw); err != nil || string(raw) != anaSession {
		t.Fatalf("after a save the cookie is not signed with B: %v", err)
	}
	stop()

	// Keys [B]: what only A opened ends, explained, never a 500.
	app, srv, stop = rig.start([][]byte{keyB}, [][]byte{keyB})

	t.Run("cookie signed with the retired key", func(t *testing.T) {
		bo := rig.browser(app, srv, withSessionCookie(t, srv, boCookie))
		r := bo.get(runsPath)
		if r.StatusCode != http.StatusFound {
			t.Fatalf("runs with a retired cookie: %d %s", r.StatusCode, errorText(r))
		}
		checkConnectRedirect(t, location(t, r), testBase+runsPath)
		if ck := sessionCookie(t, bo); ck != "" {
			t.Error("the retired cookie was not dropped, or a new session was written")
		}
		page := bo.get(location(t, r))
		if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "keys were rotated") {
			t.Fatalf("connect page after the redirect: %d, flash missing: %s", page.StatusCode, errorText(page))
		}
		next, _ := page.doc(t).Find(`input[name="` + views.ParamNext + `"]`).Attr("value")
		r = bo.post("connect", url.Values{views.FieldAPIKey: {demoKey}, views.FieldWorkspaceID: {demoWS}, views.ParamNext: {next}})
		if r.StatusCode != http.StatusSeeOther || location(t, r) != testBase+runsPath {
			t.Fatalf("reconnecting: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := bo.get(runsPath); r.StatusCode != http.StatusOK || strings.Contains(r.body, "keys were rotated") {
			t.Errorf("runs after reconnecting: %d, flash shown again: %v", r.StatusCode, strings.Contains(r.body, "keys were rotated"))
		}
	})

	t.Run("a poll with a retired cookie reloads the page", func(t *testing.T) {
		poller := rig.browser(app, srv, withSessionCookie(t, srv, boCookie))
		req, _ := http.NewRequest(http.MethodGet, poller.url("runs/edr_x/row?ws="+demoWS), nil)
		req.Header.Set("HX-Request", "true")
		r := poller.do(req)
		if r.StatusCode != http.StatusNoContent {
			t.Fatalf("htmx poll: %d", r.StatusCode)
		}
		checkConnectRedirect(t, r.Header.Get("HX-Redirect"), "")
	})

	t.Run("API key sealed with the retired key", func(t *testing.T) {
		ana.app, ana.srv, ana.st = app, srv, app.Store
		r := ana.get(runsPath)
		if r.StatusCode != http.StatusForbidden || !strings.Contains(errorText(r), "encryption keys were rotated") {
			t.Fatalf("runs with a key sealed under A: %d %s", r.StatusCode, errorText(r))
		}
		link, _ := testid(r.doc(t), "error-connect-workspace").Attr("href")
		if want := views.ConnectURLNext(testBase, demoWS, testBase+runsPath); link != want {
			t.Errorf("connect link %q, want %q", link, want)
		}
		if conns := connectionsOf(t, ana); len(conns) != 0 {
			t.Errorf("the unreadable connection was kept: %d", len(conns))
		}
		ana.connect(demoKey, demoWS)
		if r := ana.get(runsPath); r.StatusCode != http.StatusOK {
			t.Errorf("runs after reconnecting: %d %s", r.StatusCode, errorText(r))
		}
	})
	stop()

	// Session key A kept, encryption key A retired: the session values
	// are what no key opens.
	app, srv, stop = rig.start([][]byte{keyB, keyA}, [][]byte{keyB})
	defer stop()
	t.Run("session values sealed with the retired key", func(t *testing.T) {
		bo := rig.browser(app, srv, withSessionCookie(t, srv, boCookie))
		r := bo.get(runsPath)
		if r.StatusCode != http.StatusFound {
			t.Fatalf("runs with values sealed under A: %d %s", r.StatusCode, errorText(r))
		}
		checkConnectRedirect(t, location(t, r), testBase+runsPath)
		if page := bo.get(location(t, r)); page.StatusCode != http.StatusOK || !strings.Contains(page.body, "keys were rotated") {
			t.Errorf("connect page: %d, flash missing", page.StatusCode)
		}
	})

	if strings.Contains(rig.logs.String(), "status=500") {
		t.Error("a request ended in a 500")
	}
}

// checkConnectRedirect checks a redirect to the connect page that says
// the key was retired and comes back to next.
func checkConnectRedirect(t *testing.T, loc, next string) {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || u.Path != testBase+views.RouteConnect || u.Query().Get(views.ParamNext) != next || u.Query().Get("ended") != "key-retired" {
		t.Errorf("redirect to %q, want the connect page with next=%q and ended=key-retired", loc, next)
	}
}

// TestExpiredSessionIsExplained: a session gone from the store (expired,
// purged) sends its page to the connect page, which says so, once.
func TestExpiredSessionIsExplained(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	if err := env.st.DeleteSession(context.Background(), currentSessionID(t, env)); err != nil {
		t.Fatal(err)
	}
	r := env.get("audit")
	u, _ := url.Parse(r.Header.Get("Location"))
	if r.StatusCode != http.StatusFound || u.Path != testBase+views.RouteConnect ||
		u.Query().Get("ended") != "expired" || u.Query().Get(views.ParamNext) != testBase+"audit" {
		t.Fatalf("audit with an expired session: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	flash := func(p string) string { return testid(env.get(p).doc(t), "flash").Text() }
	if got := flash(r.Header.Get("Location")); !strings.Contains(got, "Your session expired") {
		t.Errorf("the connect page says %q, not that the session expired", got)
	}
	// Once told, the person browses on: the dead cookie is gone.
	if got := flash("connect"); got != "" {
		t.Errorf("a notice without a new reason: %q", got)
	}
	// An unknown reason in the URL says nothing.
	if got := flash("connect?ended=%3Cb%3Ehi"); got != "" {
		t.Errorf("the connect page shows %q for an unknown reason", got)
	}
}
