package middleware

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// IdentityConfig says where users come from: a trusted SSO proxy's headers,
// or nobody (single-user mode).
type IdentityConfig struct {
	TrustedProxies  []netip.Prefix
	IdentityHeader  string
	GroupsHeader    string
	GroupsDelimiter string
	AdminGroups     []string
	ViewerGroups    []string
	ReadOnly        bool
	// ProxyJWT, when set, takes the identity from the proxy's signed
	// assertion (Pomerium, IAP, Cloudflare Access) instead of a plain header.
	ProxyJWT *ProxyJWTVerifier
}

// Identity is who sends a request, as far as Editwatch believes.
type Identity struct {
	// User is the proxy-asserted identity; empty in single-user mode.
	User   string
	Groups []string
	// CanAct is false for viewers and in read-only mode.
	CanAct bool
}

// TrustedPeer reports whether the direct peer of r is one of the trusted
// proxies. Only the TCP peer counts: X-Forwarded-For is spoofable.
func (cfg IdentityConfig) TrustedPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// IsHTTPS reports whether the browser reached us over https: directly, or
// through a trusted proxy that says so in X-Forwarded-Proto.
func (cfg IdentityConfig) IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return cfg.TrustedPeer(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// HeaderMode reports whether identities come from the SSO proxy, as a plain
// header or a signed assertion.
func (cfg IdentityConfig) HeaderMode() bool { return cfg.IdentityHeader != "" || cfg.ProxyJWT != nil }

// Resolve decides who sent r. ok is false in header mode when the request
// did not come through a trusted proxy or carries no identity: such a request
// must be refused, never served as somebody.
func (cfg IdentityConfig) Resolve(r *http.Request) (id Identity, ok bool) {
	if !cfg.HeaderMode() {
		return Identity{CanAct: !cfg.ReadOnly}, true
	}
	if cfg.ProxyJWT != nil {
		// The signature is the trust; configured proxies still narrow who
		// may present an assertion.
		if len(cfg.TrustedProxies) > 0 && !cfg.TrustedPeer(r) {
			return Identity{}, false
		}
		user, groups, err := cfg.ProxyJWT.Verify(r.Context(), r)
		if err != nil {
			return Identity{}, false
		}
		id.User, id.Groups = user, groups
		id.CanAct = !cfg.ReadOnly && cfg.mayAct(id.Groups)
		return id, true
	}
	if !cfg.TrustedPeer(r) {
		return Identity{}, false
	}
	user := strings.TrimSpace(r.Header.Get(cfg.IdentityHeader))
	if user == "" {
		return Identity{}, false
	}
	id.User = user
	if cfg.GroupsHeader != "" {
		delim := cfg.GroupsDelimiter
		if delim == "" {
			delim = ","
		}
		for _, g := range strings.Split(r.Header.Get(cfg.GroupsHeader), delim) {
			if g = strings.TrimSpace(g); g != "" {
				id.Groups = append(id.Groups, g)
			}
		}
	}
	id.CanAct = !cfg.ReadOnly && cfg.mayAct(id.Groups)
	return id, true
}

// mayAct applies the role rule: with no groups configured everyone may act;
// members of an admin group may act; with only viewer groups configured,
// everyone outside them may act; otherwise the user is a viewer.
func (cfg IdentityConfig) mayAct(groups []string) bool {
	in := func(list []string) bool {
		return slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(list, g) })
	}
	switch {
	case len(cfg.AdminGroups) == 0 && len(cfg.ViewerGroups) == 0:
		return true
	case in(cfg.AdminGroups):
		return true
	case len(cfg.AdminGroups) == 0:
		return !in(cfg.ViewerGroups)
	default:
		return false
	}
}

// Identify resolves the identity of every request and refuses, in
// header mode, requests that did not come through the trusted proxy. Paths
// in open (health probes, the webhook receiver) pass without an identity.
func Identify(cfg IdentityConfig, open func(path string) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if open != nil && open(c.Request().URL.Path) {
				return next(c)
			}
			id, ok := cfg.Resolve(c.Request())
			if !ok {
				return echo.NewHTTPError(http.StatusUnauthorized,
					"Editwatch is reached through your company's SSO proxy; this request did not come through it or carried no identity.")
			}
			c.Set(ctxIdentity, id)
			r := c.Request()
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
			return next(c)
		}
	}
}

type identityKey struct{}

// IdentityFromRequest returns the identity IdentityMiddleware resolved for
// r, so later layers (the session store) need not verify an assertion again.
func IdentityFromRequest(r *http.Request) (Identity, bool) {
	id, ok := r.Context().Value(identityKey{}).(Identity)
	return id, ok
}

// IdentityOf returns the identity the middleware resolved.
func IdentityOf(c echo.Context) Identity {
	id, _ := c.Get(ctxIdentity).(Identity)
	return id
}
