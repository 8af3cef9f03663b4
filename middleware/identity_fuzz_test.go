package middleware

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// FuzzIdentityHeaders: in plain-header mode only the TCP peer decides
// whether the identity headers are believed (never X-Forwarded-For nor
// X-Real-IP); a believed user is the trimmed header, never empty; groups
// are trimmed, non-empty pieces of the groups header; who may act follows
// the role rule; and https is believed only from the proxy.
func FuzzIdentityHeaders(f *testing.F) {
	f.Add("10.1.2.3:41000", "ana@example.com", "ops, finance", ",", "https")
	f.Add("10.1.2.3:41000", "  ", "ops", ",", "http")
	f.Add("203.0.113.9:5000", "mallory@example.com", "ops", ",", "https")
	f.Add("[::ffff:10.0.0.7]:443", "bob@example.com", "viewers|ops", "|", "HTTPS")
	f.Add("[fe80::1%eth0]:80", "eve@example.com", "", ",", "")
	f.Add("10.0.0.1", "ana@example.com", ";;ops;;", ";", "https")
	f.Add("10.0.0.1:1", "ana@example.com", "ops", "", "https")
	f.Add("not an address", "ana@example.com", "ops", ",", "https")
	f.Add("10.9.9.9:1", "\tana\x00@example.com ", " , ,viewers", ",", "https, http")
	f.Fuzz(func(t *testing.T, peer, user, groups, delim, proto string) {
		proxies := []netip.Prefix{netip.MustParsePrefix(proxyIPNet)}
		base := IdentityConfig{TrustedProxies: proxies, IdentityHeader: "X-Forwarded-Email",
			GroupsHeader: "X-Forwarded-Groups", GroupsDelimiter: delim}
		admins, viewers, readOnly := base, base, base
		admins.AdminGroups = []string{"ops"}
		viewers.ViewerGroups = []string{"viewers"}
		readOnly.ReadOnly = true

		r := httptest.NewRequest(http.MethodGet, "/ew/runs", nil)
		r.RemoteAddr = peer
		// Set without canonical checks: whatever a client managed to send.
		r.Header["X-Forwarded-Email"] = []string{user}
		r.Header["X-Forwarded-Groups"] = []string{groups}
		r.Header["X-Forwarded-Proto"] = []string{proto}
		r.Header["X-Forwarded-For"] = []string{"10.0.0.1"}
		r.Header["X-Real-Ip"] = []string{"10.0.0.1"}

		fromProxy := peerIn(peer, proxies)
		if base.TrustedPeer(r) != fromProxy {
			t.Fatalf("TrustedPeer(%q) = %v", peer, !fromProxy)
		}
		if base.IsHTTPS(r) != (fromProxy && strings.EqualFold(proto, "https")) {
			t.Fatalf("IsHTTPS with peer %q and proto %q = %v", peer, proto, !fromProxy)
		}
		for _, cfg := range []IdentityConfig{base, admins, viewers, readOnly} {
			id, ok := cfg.Resolve(r)
			wantUser := strings.TrimSpace(user)
			if ok != (fromProxy && wantUser != "") {
				t.Fatalf("Resolve from %q with user %q: ok %v", peer, user, ok)
			}
			if !ok {
				if id.User != "" || id.Groups != nil || id.CanAct {
					t.Fatalf("refused request resolved to %+v", id)
				}
				continue
			}
			if id.User != wantUser {
				t.Fatalf("user %q from header %q", id.User, user)
			}
			for _, g := range id.Groups {
				if g == "" || g != strings.TrimSpace(g) || !strings.Contains(groups, g) {
					t.Fatalf("group %q from header %q", g, groups)
				}
			}
			sep := delim
			if sep == "" {
				sep = ","
			}
			if len(id.Groups) > strings.Count(groups, sep)+1 {
				t.Fatalf("%d groups from %q split by %q", len(id.Groups), groups, sep)
			}
			in := func(name string) bool { return slices.Contains(id.Groups, name) }
			var want bool
			switch {
			case cfg.ReadOnly:
				want = false
			case len(cfg.AdminGroups) > 0:
				want = in("ops")
			case len(cfg.ViewerGroups) > 0:
				want = !in("viewers")
			default:
				want = true
			}
			if id.CanAct != want {
				t.Fatalf("groups %q: CanAct %v, want %v (admins %v, viewers %v, read-only %v)", id.Groups, id.CanAct, want,
					cfg.AdminGroups, cfg.ViewerGroups, cfg.ReadOnly)
			}
		}
	})
}

// peerIn is the spec of a trusted peer: the TCP peer's address (port or
// not, IPv4-mapped or not, no zone) lies in one of the prefixes.
func peerIn(peer string, prefixes []netip.Prefix) bool {
	host := peer
	if h, _, err := net.SplitHostPort(peer); err == nil {
		host = h
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}
