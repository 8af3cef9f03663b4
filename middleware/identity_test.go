package middleware

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
)

func TestIdentityResolve(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	base := IdentityConfig{TrustedProxies: proxies, IdentityHeader: "X-Forwarded-Email", GroupsHeader: "X-Forwarded-Groups"}
	withGroups := func(admin, viewer []string) IdentityConfig {
		c := base
		c.AdminGroups, c.ViewerGroups = admin, viewer
		return c
	}
	tests := []struct {
		name     string
		cfg      IdentityConfig
		peer     string
		user     string
		groups   string
		wantOK   bool
		wantUser string
		wantAct  bool
	}{
		{"single user", IdentityConfig{}, "203.0.113.9:1234", "", "", true, "", true},
		{"single user read-only", IdentityConfig{ReadOnly: true}, "127.0.0.1:1", "", "", true, "", false},
		{"trusted proxy", base, "10.1.2.3:5555", "ana@example.com", "", true, "ana@example.com", true},
		{"untrusted peer ignored", base, "192.0.2.1:5555", "ana@example.com", "", false, "", false},
		{"trusted but no identity", base, "10.1.2.3:5555", "", "", false, "", false},
		{"admin group", withGroups([]string{"ops"}, []string{"all"}), "10.0.0.1:1", "a@x", "all, ops", true, "a@x", true},
		{"viewer group", withGroups([]string{"ops"}, []string{"all"}), "10.0.0.1:1", "v@x", "all", true, "v@x", false},
		{"no group with admins set", withGroups([]string{"ops"}, nil), "10.0.0.1:1", "n@x", "sales", true, "n@x", false},
		{"only viewers set, outsider acts", withGroups(nil, []string{"audit"}), "10.0.0.1:1", "o@x", "eng", true, "o@x", true},
		{"only viewers set, viewer reads", withGroups(nil, []string{"audit"}), "10.0.0.1:1", "r@x", "audit", true, "r@x", false},
		{"ipv4-mapped ipv6 peer", base, "[::ffff:10.9.9.9]:80", "m@x", "", true, "m@x", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/runs", nil)
			r.RemoteAddr = tt.peer
			if tt.user != "" {
				r.Header.Set("X-Forwarded-Email", tt.user)
			}
			if tt.groups != "" {
				r.Header.Set("X-Forwarded-Groups", tt.groups)
			}
			id, ok := tt.cfg.Resolve(r)
			if ok != tt.wantOK || id.User != tt.wantUser || id.CanAct != tt.wantAct {
				t.Errorf("Resolve = %+v, %v; want user %q ok %v canAct %v", id, ok, tt.wantUser, tt.wantOK, tt.wantAct)
			}
		})
	}
}

// TestIdentityFromSignedAssertion: with a proxy JWT verifier the identity and
// groups come from the signed assertion; plain identity headers and
// assertions signed by anyone else are refused.
func TestIdentityFromSignedAssertion(t *testing.T) {
	clock := newFakeClock()
	key := newECKey(t, "k1")
	srv := newJWKSServer(t, key.public())
	cfg := IdentityConfig{ProxyJWT: newTestVerifier(t, srv, clock), AdminGroups: []string{"ops"}}
	header := cfg.ProxyJWT.Header()
	if !cfg.HeaderMode() {
		t.Fatal("a verifier must put Editwatch in proxy mode")
	}

	id, ok := cfg.Resolve(requestWithAssertion(header, key.sign(t, goodClaims(clock.Now()))))
	if !ok || id.User != "ana@example.com" || !id.CanAct {
		t.Fatalf("valid assertion: %+v, %v", id, ok)
	}
	viewer := with(goodClaims(clock.Now()), "groups", []string{"eng"})
	if id, ok := cfg.Resolve(requestWithAssertion(header, key.sign(t, viewer))); !ok || id.CanAct {
		t.Errorf("non-admin group should be a viewer: %+v, %v", id, ok)
	}
	other := newECKey(t, "k1") // same kid, another key: a forgery
	if _, ok := cfg.Resolve(requestWithAssertion(header, other.sign(t, goodClaims(clock.Now())))); ok {
		t.Error("assertion signed by another key was accepted")
	}
	plain := httptest.NewRequest("GET", "/runs", nil)
	plain.Header.Set("X-Forwarded-Email", "mallory@example.com")
	if _, ok := cfg.Resolve(plain); ok {
		t.Error("a plain identity header was accepted in assertion mode")
	}

	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	r := requestWithAssertion(header, key.sign(t, goodClaims(clock.Now())))
	r.RemoteAddr = "192.0.2.7:4000"
	if _, ok := cfg.Resolve(r); ok {
		t.Error("assertion from outside the trusted proxies was accepted")
	}
}

// TestIdentityGroupsFromEveryLine: a user in three groups with the admin
// group last is an admin whether the proxy sends the groups as one
// delimited line or as several lines, with the default or another
// delimiter.
func TestIdentityGroupsFromEveryLine(t *testing.T) {
	tests := []struct {
		name  string
		delim string
		lines []string
	}{
		{"one line", ",", []string{"eng,sales,ops-admins"}},
		{"one line with spaces", ",", []string{"eng, sales, ops-admins"}},
		{"a line per group", ",", []string{"eng", "sales", "ops-admins"}},
		{"mixed lines", ",", []string{"eng,sales", "ops-admins"}},
		{"other delimiter, one line", "|", []string{"eng|sales|ops-admins"}},
		{"other delimiter, several lines", "|", []string{"eng|sales", "ops-admins"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := IdentityConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix(proxyIPNet)},
				IdentityHeader: "X-Forwarded-Email", GroupsHeader: "X-Forwarded-Groups", GroupsDelimiter: tt.delim,
				AdminGroups: []string{"ops-admins"}, ViewerGroups: []string{"eng"}}
			r := httptest.NewRequest(http.MethodGet, "/runs", nil)
			r.RemoteAddr = proxyIP + ":4000"
			r.Header.Set("X-Forwarded-Email", "ana@example.com")
			for _, l := range tt.lines {
				r.Header.Add("X-Forwarded-Groups", l)
			}
			id, ok := cfg.Resolve(r)
			if !ok {
				t.Fatal("refused")
			}
			if diff := cmp.Diff([]string{"eng", "sales", "ops-admins"}, id.Groups); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			if !id.CanAct {
				t.Error("a member of the admin group may not act")
			}
		})
	}
}

// TestIdentifyRefusesRepeatedIdentityHeader: two identity lines from the
// proxy are refused with 400 and a log line naming the peer; one line
// passes; from an untrusted peer the request is refused as before.
func TestIdentifyRefusesRepeatedIdentityHeader(t *testing.T) {
	tests := []struct {
		name       string
		peer       string
		lines      []string
		wantStatus int
		wantLog    bool
	}{
		{"one line", proxyIP + ":4000", []string{"ana@example.com"}, http.StatusOK, false},
		{"two lines", proxyIP + ":4000", []string{"mallory@example.com", "ana@example.com"}, http.StatusBadRequest, true},
		{"two equal lines", proxyIP + ":4000", []string{"ana@example.com", "ana@example.com"}, http.StatusBadRequest, true},
		{"two lines, untrusted peer", "192.0.2.1:4000", []string{"mallory@example.com", "ana@example.com"}, http.StatusUnauthorized, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := IdentityConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix(proxyIPNet)},
				IdentityHeader: "X-Forwarded-Email", Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			e := echo.New()
			e.Use(Identify(cfg, nil))
			var seen Identity
			e.GET("/runs", func(c echo.Context) error { seen = IdentityOf(c); return c.NoContent(http.StatusOK) })
			e.HTTPErrorHandler = func(err error, c echo.Context) {
				var refusal *Refusal
				var he *echo.HTTPError
				switch {
				case errors.As(err, &refusal):
					_ = c.String(refusal.Status, refusal.Explanation)
				case errors.As(err, &he):
					_ = c.NoContent(he.Code)
				default:
					_ = c.NoContent(http.StatusInternalServerError)
				}
			}
			r := httptest.NewRequest(http.MethodGet, "/runs", nil)
			r.RemoteAddr = tt.peer
			for _, l := range tt.lines {
				r.Header.Add("X-Forwarded-Email", l)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, r)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == http.StatusOK && seen.User != "ana@example.com" {
				t.Errorf("identity %+v", seen)
			}
			if tt.wantStatus == http.StatusBadRequest && !strings.Contains(rec.Body.String(), "X-Forwarded-Email") {
				t.Errorf("the refusal does not name the header: %s", rec.Body)
			}
			logged := strings.Contains(logs.String(), "peer="+tt.peer)
			if logged != tt.wantLog {
				t.Errorf("log line naming the peer: %v, want %v\n%s", logged, tt.wantLog, logs.String())
			}
			if _, ok := cfg.Resolve(r); ok != (tt.wantStatus == http.StatusOK) {
				t.Errorf("Resolve ok %v for the same request", ok)
			}
		})
	}
}
