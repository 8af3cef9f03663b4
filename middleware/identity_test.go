package middleware

import (
	"net/http/httptest"
	"net/netip"
	"testing"
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
