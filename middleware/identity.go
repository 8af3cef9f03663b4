package middleware

import (
	"context"
	"log/slog"
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
	// LoginHeader names a header whose value stays the same for one login
	// at the proxy (never the access token, which the proxy refreshes);
	// see SessionBinding.
	LoginHeader string
	// ProxyJWT, when set, takes the identity from the proxy's signed
	// assertion (Pomerium, IAP, Cloudflare Access) instead of a plain header.
	ProxyJWT *ProxyJWTVerifier
	// Logger receives the refusals an operator must see (a proxy that
	// lets a client's identity header through); nil discards them.
	Logger *slog.Logger
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
	if !cfg.TrustedPeer(r) || cfg.repeatedIdentity(r) {
		return Identity{}, false
	}
	user := strings.TrimSpace(r.Header.Get(cfg.IdentityHeader))
	if user == "" {
		return Identity{}, false
	}
	id.User = user
	id.Groups = cfg.groups(r)
	id.CanAct = !cfg.ReadOnly && cfg.mayAct(id.Groups)
	return id, true
}

// repeatedIdentity reports whether the plain identity header came on more
// than one line. A proxy that adds its line to the client's own leaves two,
// and which one a reader takes is an accident, so neither is believed.
func (cfg IdentityConfig) repeatedIdentity(r *http.Request) bool {
	return cfg.ProxyJWT == nil && cfg.IdentityHeader != "" && len(r.Header.Values(cfg.IdentityHeader)) > 1
}

// groups reads the groups header: proxies send the groups as one
// delimited line (oauth2-proxy: "ops,ops-admins") or as one line per
// group or per chunk, so every line counts, each split by the delimiter.
func (cfg IdentityConfig) groups(r *http.Request) []string {
	if cfg.GroupsHeader == "" {
		return nil
	}
	delim := cfg.GroupsDelimiter
	if delim == "" {
		delim = ","
	}
	var groups []string
	for _, line := range r.Header.Values(cfg.GroupsHeader) {
		for _, g := range strings.Split(line, delim) {
			if g = strings.TrimSpace(g); g != "" {
				groups = append(groups, g)
			}
		}
	}
	return groups
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
// header mode, requests that did not come through the trusted proxy, and
// (400, logged with the peer) requests whose identity header came on more
// than one line. Paths in open (health probes, the webhook receiver) pass
// without an identity.
func Identify(cfg IdentityConfig, open func(path string) bool) echo.MiddlewareFunc {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if open != nil && open(c.Request().URL.Path) {
				return next(c)
			}
			if cfg.repeatedIdentity(c.Request()) && cfg.TrustedPeer(c.Request()) {
				logger.Warn("identity header sent more than once; refused: the proxy must replace the client's header, not add to it",
					"header", cfg.IdentityHeader, "peer", c.Request().RemoteAddr,
					"forwarded_for", c.Request().Header.Get("X-Forwarded-For"),
					"lines", len(c.Request().Header.Values(cfg.IdentityHeader)), "path", c.Request().URL.Path)
				return &Refusal{Status: http.StatusBadRequest, Category: "identity",
					Heading: "Your identity came twice",
					Explanation: "The SSO proxy in front of Editwatch sent the " + cfg.IdentityHeader +
						" header more than once, so Editwatch cannot tell who you are. Ask whoever runs the proxy to make it replace that header rather than add to it."}
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
