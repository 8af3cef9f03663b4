package middleware

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

var sessionTestStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const testIdentityHeader = "X-Test-Identity"

type sessionFixture struct {
	st    *store.Store
	ss    *SessionStore
	clock *storetest.Clock
	keys  [][]byte
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newSessionFixture opens a migrated store on dsn and a SessionStore over
// it with a 1 h idle timeout and a 4 h lifetime, identity taken from
// testIdentityHeader.
func newSessionFixture(t *testing.T, dsn string, edit func(*SessionStoreOptions)) *sessionFixture {
	t.Helper()
	ctx := context.Background()
	clock := storetest.NewClock(sessionTestStart)
	sealer, err := store.NewSealer([][]byte{randomBytes(t, store.SealerKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, dsn, nil, store.WithClock(clock.Now), store.WithSealer(sealer))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys := [][]byte{randomBytes(t, 32)}
	opts := SessionStoreOptions{
		Path:     "/ew/",
		KeyPairs: keys,
		Idle:     time.Hour,
		MaxAge:   4 * time.Hour,
		Identity: func(r *http.Request) string { return r.Header.Get(testIdentityHeader) },
		Now:      clock.Now,
	}
	if edit != nil {
		edit(&opts)
	}
	ss, err := NewSessionStore(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &sessionFixture{st: st, ss: ss, clock: clock, keys: opts.KeyPairs}
}

// visit makes one request carrying cookie (may be nil) as identity, loads
// the session, lets change alter it, saves it when change is non-nil, and
// returns the session and the Set-Cookie of the response (nil if none).
func (f *sessionFixture) visit(t *testing.T, cookie *http.Cookie, identity string, change func(*sessions.Session)) (*sessions.Session, *http.Cookie) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://dash.example/ew/runs", nil)
	if identity != "" {
		r.Header.Set(testIdentityHeader, identity)
	}
	if cookie != nil {
		r.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	sess, err := f.ss.Get(r, DefaultSessionCookieName)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	again, err := f.ss.Get(r, DefaultSessionCookieName)
	if err != nil || again != sess {
		t.Fatalf("second Get in one request returned another session (%v)", err)
	}
	if change == nil {
		return sess, nil
	}
	change(sess)
	w := httptest.NewRecorder()
	if err := sess.Save(r, w); err != nil {
		t.Fatalf("Save: %v", err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Save set %d cookies, want 1", len(cookies))
	}
	return sess, cookies[0]
}

func forEachSessionBackend(t *testing.T, fn func(t *testing.T, dsn string)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.NewDSN(t)) })
	}
}

func TestSessionStoreRoundTrip(t *testing.T) {
	forEachSessionBackend(t, func(t *testing.T, dsn string) {
		f := newSessionFixture(t, dsn, nil)
		first, cookie := f.visit(t, nil, "", func(s *sessions.Session) {
			if !s.IsNew || s.ID != "" {
				t.Fatalf("first visit: IsNew=%v ID=%q, want a new session without ID", s.IsNew, s.ID)
			}
			s.Values["workspace"] = "ws_demo"
			s.Values[42] = true
		})
		if SessionID(first) == "" {
			t.Fatal("SessionID empty after Save")
		}
		if _, err := f.st.GetSession(context.Background(), SessionID(first)); err != nil {
			t.Fatalf("session not stored server side: %v", err)
		}

		second, _ := f.visit(t, cookie, "", nil)
		if second.IsNew || second.ID != first.ID {
			t.Fatalf("second visit: IsNew=%v ID=%q, want the saved session %q", second.IsNew, second.ID, first.ID)
		}
		if second.Values["workspace"] != "ws_demo" || second.Values[42] != true {
			t.Fatalf("second visit values = %v", second.Values)
		}

		_, cookie2 := f.visit(t, cookie, "", func(s *sessions.Session) { s.Values["workspace"] = "ws_other" })
		third, _ := f.visit(t, cookie2, "", nil)
		if third.ID != first.ID || third.Values["workspace"] != "ws_other" {
			t.Fatalf("after update: ID %q values %v", third.ID, third.Values)
		}
	})
}

func TestSessionStoreCookieAttributes(t *testing.T) {
	tests := []struct {
		name       string
		secureFunc func(*http.Request) bool
		tls        bool
		wantSecure bool
	}{
		{"plain http", nil, false, false},
		{"direct https", nil, true, true},
		{"https behind a trusted proxy", func(*http.Request) bool { return true }, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSessionFixture(t, storetest.SQLiteDSN(t), func(o *SessionStoreOptions) { o.SecureFunc = tt.secureFunc })
			r := httptest.NewRequest(http.MethodGet, "http://dash.example/ew/", nil)
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			sess, err := f.ss.Get(r, DefaultSessionCookieName)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			if err := sess.Save(r, w); err != nil {
				t.Fatal(err)
			}
			c := w.Result().Cookies()[0]
			if c.Name != "editwatch_session" || c.Path != "/ew" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
				c.Secure != tt.wantSecure || c.MaxAge != 4*3600 {
				t.Fatalf("cookie %s: name %q path %q httponly %v samesite %v secure %v maxage %d",
					c.String(), c.Name, c.Path, c.HttpOnly, c.SameSite, c.Secure, c.MaxAge)
			}
		})
	}
}

// The cookie is the signed session ID and nothing else: no value, no key.
func TestSessionCookieHoldsOnlySignedID(t *testing.T) {
	forEachSessionBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newSessionFixture(t, dsn, nil)
		const canaryKey = "sk_live_CANARY_cookie_5e1f0b7a9c"
		const canaryValue = "CANARY_VALUE_d41c"
		sess, cookie := f.visit(t, nil, "", func(s *sessions.Session) { s.Values["note"] = canaryValue })
		conn, err := f.st.AddConnection(ctx, store.NewConnection{SessionID: SessionID(sess), Tenant: "us/ws_demo", Key: canaryKey})
		if err != nil {
			t.Fatal(err)
		}
		_, cookie = f.visit(t, cookie, "", func(s *sessions.Session) { s.Values["connection"] = conn.ID })

		raw, err := base64.URLEncoding.DecodeString(cookie.Value)
		if err != nil {
			t.Fatalf("cookie value is not base64url: %v", err)
		}
		// securecookie's format: timestamp|base64(value)|mac.
		parts := bytes.SplitN(raw, []byte("|"), 3)
		if len(parts) != 3 {
			t.Fatalf("decoded cookie has %d parts, want timestamp|value|mac", len(parts))
		}
		value, err := base64.URLEncoding.DecodeString(string(parts[1]))
		if err != nil {
			t.Fatal(err)
		}
		if string(value) != SessionID(sess) {
			t.Fatalf("cookie carries %q, want exactly the session ID %q", value, SessionID(sess))
		}
		if len(parts[2]) != 32 {
			t.Fatalf("cookie MAC is %d bytes, want a 32-byte HMAC-SHA256", len(parts[2]))
		}
		for _, secret := range []string{canaryKey, canaryValue, conn.ID, string(f.keys[0]), base64.StdEncoding.EncodeToString(f.keys[0])} {
			for _, where := range [][]byte{[]byte(cookie.String()), raw, value} {
				if bytes.Contains(where, []byte(secret)) {
					t.Fatalf("cookie contains secret material %q", secret)
				}
			}
		}

		// A forged cookie (the ID alone, or a different ID re-encoded) is no
		// session.
		forged := []*http.Cookie{
			{Name: cookie.Name, Value: SessionID(sess)},
			{Name: cookie.Name, Value: base64.URLEncoding.EncodeToString(bytes.Replace(raw, parts[2], make([]byte, 32), 1))},
		}
		for i, c := range forged {
			if s, _ := f.visit(t, c, "", nil); !s.IsNew {
				t.Fatalf("forged cookie %d accepted as session %q", i, s.ID)
			}
		}
	})
}

func TestSessionKeyRotation(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	f := newSessionFixture(t, dsn, nil)
	oldKey := f.keys[0]
	sess, cookie := f.visit(t, nil, "", func(s *sessions.Session) { s.Values["v"] = 1 })

	rotate := func(keys ...[]byte) *SessionStore {
		ss, err := NewSessionStore(f.st, SessionStoreOptions{KeyPairs: keys, Idle: time.Hour, MaxAge: 4 * time.Hour, Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	newKey := randomBytes(t, 32)
	tests := []struct {
		name    string
		ss      *SessionStore
		wantOld bool
	}{
		{"new key first, old key still verifies", rotate(newKey, oldKey), true},
		{"old key retired", rotate(newKey), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rotated := &sessionFixture{st: f.st, ss: tt.ss, clock: f.clock}
			got, newCookie := rotated.visit(t, cookie, "", func(*sessions.Session) {})
			if keeps := got.ID == sess.ID; keeps != tt.wantOld {
				t.Fatalf("session kept = %v, want %v", keeps, tt.wantOld)
			}
			// What the rotated store signs, the new key alone verifies.
			if s, _ := (&sessionFixture{st: f.st, ss: rotate(newKey), clock: f.clock}).visit(t, newCookie, "", nil); s.ID != got.ID {
				t.Fatalf("cookie re-signed after rotation is not verified by the new key (got %q, want %q)", s.ID, got.ID)
			}
		})
	}
}

func TestSessionStoreExpiry(t *testing.T) {
	type step struct {
		advance time.Duration
		save    bool // a request that saves (activity)
		alive   bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"alive within the idle timeout", []step{{advance: 59 * time.Minute, alive: true}}},
		{"new after the idle timeout", []step{{advance: time.Hour, alive: false}}},
		{"reading counts as activity", []step{
			{advance: 50 * time.Minute, alive: true},
			{advance: 50 * time.Minute, alive: true},
			{advance: 50 * time.Minute, alive: true},
		}},
		{"activity cannot outlive the absolute lifetime", []step{
			{advance: 55 * time.Minute, save: true, alive: true},
			{advance: 55 * time.Minute, alive: true},
			{advance: 55 * time.Minute, save: true, alive: true},
			{advance: 55 * time.Minute, alive: true},
			{advance: 20 * time.Minute, alive: false},
		}},
	}
	forEachSessionBackend(t, func(t *testing.T, dsn string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newSessionFixture(t, dsn, nil)
				first, cookie := f.visit(t, nil, "", func(s *sessions.Session) { s.Values["v"] = "x" })
				for i, st := range tt.steps {
					f.clock.Advance(st.advance)
					var change func(*sessions.Session)
					if st.save {
						change = func(*sessions.Session) {}
					}
					got, _ := f.visit(t, cookie, "", change)
					alive := !got.IsNew && got.ID == first.ID && got.Values["v"] == "x"
					if alive != st.alive {
						t.Fatalf("step %d (+%s): alive = %v, want %v (IsNew %v)", i, f.clock.Now().Sub(sessionTestStart), alive, st.alive, got.IsNew)
					}
				}
			})
		}
	})
}

// The same cookie presented by another identity ends the session.
func TestSessionIdentityChangeEndsSession(t *testing.T) {
	forEachSessionBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newSessionFixture(t, dsn, nil)
		ada, cookie := f.visit(t, nil, "ada@example.com", func(s *sessions.Session) { s.Values["workspace"] = "ws_1" })
		conn, err := f.st.AddConnection(ctx, store.NewConnection{SessionID: ada.ID, Tenant: "us/ws_1", Key: "sk_live_ada_key_1234"})
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := f.visit(t, cookie, "ada@example.com", nil); s.ID != ada.ID {
			t.Fatal("same identity did not get its session")
		}

		bob, _ := f.visit(t, cookie, "bob@example.com", nil)
		if !bob.IsNew || bob.ID == ada.ID || len(bob.Values) != 0 {
			t.Fatalf("another identity got session %q (IsNew %v, values %v), want a fresh one", bob.ID, bob.IsNew, bob.Values)
		}
		if _, err := f.st.GetSession(ctx, ada.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ada's session still exists server side: %v", err)
		}
		if _, err := f.st.ConnectionKey(ctx, ada.ID, conn.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ada's key survived the ended session: %v", err)
		}
		if s, _ := f.visit(t, cookie, "ada@example.com", nil); !s.IsNew {
			t.Fatal("the ended session came back for its own identity")
		}
	})
}

func TestSessionLogoutAndResave(t *testing.T) {
	forEachSessionBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newSessionFixture(t, dsn, nil)
		sess, cookie := f.visit(t, nil, "", func(s *sessions.Session) { s.Values["v"] = 1 })
		id := sess.ID

		_, expired := f.visit(t, cookie, "", func(s *sessions.Session) { s.Options.MaxAge = -1 })
		if expired.MaxAge >= 0 || expired.Value != "" {
			t.Fatalf("logout cookie %s does not expire", expired.String())
		}
		if _, err := f.st.GetSession(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session survives logout server side: %v", err)
		}
		if s, _ := f.visit(t, cookie, "", nil); !s.IsNew {
			t.Fatal("old cookie still opens the session after logout")
		}

		// A request that loaded the session before another tab logged out
		// saves into a fresh session, not the ended one.
		r := httptest.NewRequest(http.MethodGet, "/ew/", nil)
		other, cookie2 := f.visit(t, nil, "", func(s *sessions.Session) { s.Values["v"] = 2 })
		r.AddCookie(cookie2)
		loaded, err := f.ss.Get(r, DefaultSessionCookieName)
		if err != nil || loaded.ID != other.ID {
			t.Fatalf("Get = %q, %v", loaded.ID, err)
		}
		if err := f.st.DeleteSession(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		if err := loaded.Save(r, w); err != nil {
			t.Fatalf("Save after the session ended: %v", err)
		}
		if loaded.ID == other.ID || loaded.ID == "" {
			t.Fatalf("Save revived the ended session ID %q", loaded.ID)
		}
		if _, err := f.st.GetSession(ctx, loaded.ID); err != nil {
			t.Fatalf("replacement session not stored: %v", err)
		}
	})
}

func TestNewSessionStoreValidates(t *testing.T) {
	f := newSessionFixture(t, storetest.SQLiteDSN(t), nil)
	good := SessionStoreOptions{KeyPairs: [][]byte{randomBytes(t, 32)}, Idle: time.Hour, MaxAge: time.Hour}
	tests := []struct {
		name string
		edit func(*SessionStoreOptions)
	}{
		{"no keys", func(o *SessionStoreOptions) { o.KeyPairs = nil }},
		{"short key", func(o *SessionStoreOptions) { o.KeyPairs = [][]byte{randomBytes(t, 31)} }},
		{"short rotated key", func(o *SessionStoreOptions) { o.KeyPairs = append(o.KeyPairs, []byte("short")) }},
		{"no idle timeout", func(o *SessionStoreOptions) { o.Idle = 0 }},
		{"no lifetime", func(o *SessionStoreOptions) { o.MaxAge = 0 }},
	}
	if _, err := NewSessionStore(f.st, good); err != nil {
		t.Fatalf("valid options rejected: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := good
			tt.edit(&opts)
			if _, err := NewSessionStore(f.st, opts); err == nil {
				t.Fatal("NewSessionStore accepted invalid options")
			}
		})
	}
	if got := cookiePath("/"); got != "/" {
		t.Errorf(`cookiePath("/") = %q`, got)
	}
	if got := cookiePath("/ew/sub/"); !strings.HasPrefix(got, "/ew/sub") || strings.HasSuffix(got, "/") {
		t.Errorf(`cookiePath("/ew/sub/") = %q, want "/ew/sub"`, got)
	}
}
