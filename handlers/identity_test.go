package handlers

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
