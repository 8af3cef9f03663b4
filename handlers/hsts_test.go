package handlers

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// TestHTTPSOnlyWhenATrustedProxySaysSo: HSTS and Secure cookies follow the
// scheme the browser used, which only TLS or a trusted proxy's
// X-Forwarded-Proto tells; anyone else's header changes nothing.
func TestHTTPSOnlyWhenATrustedProxySaysSo(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	trusted := newTestEnv(t, envOptions{identity: middleware.IdentityConfig{TrustedProxies: loopback}})
	untrusted := newTestEnv(t, envOptions{identity: middleware.IdentityConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}})
	tests := []struct {
		name  string
		env   *testEnv
		proto string
		https bool
	}{
		{"trusted proxy, https", trusted, "https", true},
		{"trusted proxy, HTTPS", trusted, "HTTPS", true},
		{"trusted proxy, http", trusted, "http", false},
		{"trusted proxy, no header", trusted, "", false},
		{"trusted proxy, a list", trusted, "https, http", false},
		{"untrusted peer claims https", untrusted, "https", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The session store's Secure flag follows the same decision,
			// as serve.go wires it.
			fresh := tt.env.withOptions(func(a *Options) { a.Sessions = secureFollowing(t, a) })
			if tt.proto != "" {
				fresh.headers.Set("X-Forwarded-Proto", tt.proto)
			}
			checkHTTPS(t, fresh, tt.https)
		})
	}

	t.Run("TLS", func(t *testing.T) {
		plain := newTestEnv(t, envOptions{})
		tls := *plain
		tls.srv = httptest.NewTLSServer(plain.echo)
		t.Cleanup(tls.srv.Close)
		tls.client = tls.srv.Client()
		tls.client.Jar = newCookieJar()
		tls.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		checkHTTPS(t, &tls, true)
	})
}

// checkHTTPS loads a page (CSRF cookie) and saves a session (session
// cookie), and checks HSTS and both cookies' Secure flag.
func checkHTTPS(t *testing.T, env *testEnv, https bool) {
	t.Helper()
	page := env.get("connect")
	if got := page.Header.Get("Strict-Transport-Security") != ""; got != https {
		t.Errorf("HSTS sent: %v, want %v (%q)", got, https, page.Header.Get("Strict-Transport-Security"))
	}
	saved := env.post("disconnect", url.Values{views.ParamWorkspace: {"ws_none"}})
	if saved.StatusCode != http.StatusSeeOther {
		t.Fatalf("disconnect: %d %s", saved.StatusCode, errorText(saved))
	}
	if got := saved.Header.Get("Strict-Transport-Security") != ""; got != https {
		t.Errorf("HSTS on the POST answer: %v, want %v", got, https)
	}
	cookies := map[string]*http.Cookie{}
	for _, r := range []response{page, saved} {
		for _, c := range r.Cookies() {
			cookies[c.Name] = c
		}
	}
	for _, name := range []string{middleware.CSRFCookieName, middleware.DefaultSessionCookieName} {
		c, ok := cookies[name]
		if !ok {
			t.Errorf("no %s cookie was set", name)
			continue
		}
		if c.Secure != https || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("%s: Secure %v (want %v), HttpOnly %v, SameSite %v", name, c.Secure, https, c.HttpOnly, c.SameSite)
		}
	}
}

func newCookieJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}

// secureFollowing is a session store on a's store whose cookies are Secure
// when a's identity config says the request came over https.
func secureFollowing(t *testing.T, a *Options) *middleware.SessionStore {
	t.Helper()
	ss, err := middleware.NewSessionStore(a.Store, middleware.SessionStoreOptions{Path: a.BasePath, KeyPairs: [][]byte{keyOf('S')},
		Idle: time.Hour, MaxAge: 4 * time.Hour, SecureFunc: a.Identity.IsHTTPS})
	if err != nil {
		t.Fatal(err)
	}
	return ss
}
