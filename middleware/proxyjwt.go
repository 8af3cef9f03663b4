package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The SSO proxies whose signed identity assertions Editwatch verifies.
const (
	ProxyPomerium   = "pomerium"
	ProxyIAP        = "iap"
	ProxyCloudflare = "cloudflare"
)

// IAPJWKSURL is where Google publishes the keys that sign IAP assertions;
// the other providers' key URLs depend on the deployment.
const IAPJWKSURL = "https://www.gstatic.com/iap/verify/public_key-jwk"

var (
	// ErrProxyJWTMissing means the request carries no assertion header.
	ErrProxyJWTMissing = errors.New("no signed proxy identity assertion")
	// ErrProxyJWTInvalid means an assertion was present and refused.
	ErrProxyJWTInvalid = errors.New("proxy identity assertion refused")
)

const (
	// proxyJWTLeeway absorbs clock skew between the proxy and us on exp,
	// nbf and iat; kept well under a minute because the proxies' own tokens
	// live only minutes.
	proxyJWTLeeway = 30 * time.Second
	// proxyJWTMaxBytes refuses absurd assertions before any decoding; real
	// ones, groups included, are a few kilobytes.
	proxyJWTMaxBytes = 64 << 10
)

// proxyJWTAlgorithms is the allow-list handed to the JWS parser: what the
// three proxies sign with. "none", HS* and everything else never verify.
var proxyJWTAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// ProxyJWTDefaults returns the header a provider puts its assertion in and
// what its issuer looks like (a literal value for IAP, a pattern otherwise),
// for flag help and error messages. Unknown providers get empty strings.
func ProxyJWTDefaults(provider string) (header, issuerHint string) {
	switch provider {
	case ProxyPomerium:
		return "X-Pomerium-Jwt-Assertion", "<route domain, e.g. editwatch.example.com>"
	case ProxyIAP:
		return "X-Goog-Iap-Jwt-Assertion", "https://cloud.google.com/iap"
	case ProxyCloudflare:
		return "Cf-Access-Jwt-Assertion", "https://<team>.cloudflareaccess.com"
	default:
		return "", ""
	}
}

// ProxyJWTConfig says which proxy signs identities and how to check them.
type ProxyJWTConfig struct {
	// Provider is ProxyPomerium, ProxyIAP or ProxyCloudflare.
	Provider string
	// Header overrides the provider's assertion header.
	Header string
	// JWKSURL is where the proxy publishes its keys: for Pomerium
	// https://<authenticate-domain>/.well-known/pomerium/jwks.json, for
	// Cloudflare https://<team>.cloudflareaccess.com/cdn-cgi/access/certs;
	// it defaults to IAPJWKSURL for IAP. It must be https unless it points
	// at a loopback address.
	JWKSURL string
	// Audience and Issuer must equal the token's aud (one of them) and iss
	// exactly: for Pomerium the route's domain (both), for IAP
	// /projects/<number>/apps/<project> or …/global/backendServices/<id>
	// and https://cloud.google.com/iap, for Cloudflare the application's
	// AUD tag and https://<team>.cloudflareaccess.com.
	Audience, Issuer string
	// HTTPClient fetches the keys; nil means a client with a timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// ProxyJWTVerifier checks the signed identity assertion an SSO proxy adds to
// every request it forwards. It is safe for concurrent use.
type ProxyJWTVerifier struct {
	header   string
	audience string
	issuer   string
	now      func() time.Time
	keys     *jwksCache
}

// NewProxyJWTVerifier validates cfg and builds a verifier. It does not
// fetch keys; call Prefetch to learn at startup whether the key URL works.
func NewProxyJWTVerifier(cfg ProxyJWTConfig) (*ProxyJWTVerifier, error) {
	header, issuerHint := ProxyJWTDefaults(cfg.Provider)
	if header == "" {
		return nil, fmt.Errorf("proxy JWT: provider %q: want %s, %s or %s", cfg.Provider, ProxyPomerium, ProxyIAP, ProxyCloudflare)
	}
	if cfg.Header != "" {
		header = cfg.Header
	}
	if cfg.JWKSURL == "" && cfg.Provider == ProxyIAP {
		cfg.JWKSURL = IAPJWKSURL
	}
	var errs []error
	if err := checkJWKSURL(cfg.JWKSURL); err != nil {
		errs = append(errs, fmt.Errorf("proxy JWT: JWKS URL: %w", err))
	}
	if cfg.Audience == "" {
		errs = append(errs, fmt.Errorf("proxy JWT: an audience is required: tokens minted for another application must not be accepted"))
	}
	if cfg.Issuer == "" {
		errs = append(errs, fmt.Errorf("proxy JWT: an issuer is required (for %s: %s)", cfg.Provider, issuerHint))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("proxy", cfg.Provider)
	return &ProxyJWTVerifier{
		header:   http.CanonicalHeaderKey(header),
		audience: cfg.Audience,
		issuer:   cfg.Issuer,
		now:      now,
		keys:     newJWKSCache(cfg.JWKSURL, client, now, logger),
	}, nil
}

// checkJWKSURL insists on https so that nobody on the path can substitute
// keys; plain http is allowed for loopback only (local proxies and tests).
func checkJWKSURL(raw string) error {
	if raw == "" {
		return errors.New("required (where the proxy publishes its signing keys)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("%q: want https (plain http only for loopback addresses)", raw)
	default:
		return fmt.Errorf("%q: want an https URL", raw)
	}
}

// Header is the request header the verifier reads.
func (v *ProxyJWTVerifier) Header() string { return v.header }

// Prefetch fetches the proxy's keys now, so that a wrong key URL shows up
// at startup rather than on the first request. It counts as a fetch for
// the once-a-minute limit.
func (v *ProxyJWTVerifier) Prefetch(ctx context.Context) error {
	if err := v.keys.refresh(ctx); err != nil && !errors.Is(err, errJWKSRefetchTooSoon) {
		return fmt.Errorf("proxy JWT: %w: %w", ErrJWKSUnavailable, err)
	}
	return nil
}

// Verify checks the assertion on r and returns who it names: the email
// claim, or sub when there is no email, and the groups claim when present.
// Errors match ErrProxyJWTMissing, ErrProxyJWTInvalid or ErrJWKSUnavailable;
// their text never contains the token.
func (v *ProxyJWTVerifier) Verify(ctx context.Context, r *http.Request) (user string, groups []string, err error) {
	values := r.Header.Values(v.header)
	switch {
	case len(values) == 0 || strings.TrimSpace(values[0]) == "":
		return "", nil, fmt.Errorf("%w in %s", ErrProxyJWTMissing, v.header)
	case len(values) > 1:
		// The proxy sets exactly one; two mean something upstream appended
		// rather than replaced, and picking one would be a guess.
		return "", nil, fmt.Errorf("%w: %d %s headers", ErrProxyJWTInvalid, len(values), v.header)
	}
	return v.verifyToken(ctx, strings.TrimSpace(values[0]))
}

// proxyJWTClaims are the claims beyond the registered ones that we read.
// Typed fields make a claim of the wrong JSON type refuse the token rather
// than be silently dropped: losing groups could turn a viewer into an actor.
type proxyJWTClaims struct {
	Email  string   `json:"email"`
	Groups []string `json:"groups"`
}

func (v *ProxyJWTVerifier) verifyToken(ctx context.Context, token string) (string, []string, error) {
	if len(token) > proxyJWTMaxBytes {
		return "", nil, fmt.Errorf("%w: %d bytes, more than %d", ErrProxyJWTInvalid, len(token), proxyJWTMaxBytes)
	}
	if i := strings.IndexFunc(token, notCompactJWS); i >= 0 {
		return "", nil, fmt.Errorf("%w: byte %d is not base64url or '.'", ErrProxyJWTInvalid, i)
	}
	jws, err := jose.ParseSignedCompact(token, proxyJWTAlgorithms)
	if err != nil {
		return "", nil, fmt.Errorf("%w: parse: %w", ErrProxyJWTInvalid, err)
	}
	if len(jws.Signatures) != 1 {
		return "", nil, fmt.Errorf("%w: %d signatures", ErrProxyJWTInvalid, len(jws.Signatures))
	}
	alg, kid := jws.Signatures[0].Header.Algorithm, jws.Signatures[0].Header.KeyID
	if kid == "" {
		return "", nil, fmt.Errorf("%w: no kid in the header", ErrProxyJWTInvalid)
	}
	candidates, err := v.keys.keysFor(ctx, kid)
	if err != nil {
		return "", nil, err
	}
	payload, err := verifyWithAny(jws, alg, candidates)
	if err != nil {
		return "", nil, fmt.Errorf("%w: key %q: %w", ErrProxyJWTInvalid, truncateForError(kid), err)
	}
	var (
		registered jwt.Claims
		extra      proxyJWTClaims
	)
	if err := json.Unmarshal(payload, &registered); err != nil {
		return "", nil, fmt.Errorf("%w: claims: %w", ErrProxyJWTInvalid, err)
	}
	if err := json.Unmarshal(payload, &extra); err != nil {
		return "", nil, fmt.Errorf("%w: claims: %w", ErrProxyJWTInvalid, err)
	}
	if err := v.checkClaims(registered); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrProxyJWTInvalid, err)
	}
	user := strings.TrimSpace(extra.Email)
	if user == "" {
		user = strings.TrimSpace(registered.Subject)
	}
	if user == "" {
		return "", nil, fmt.Errorf("%w: neither email nor sub names a user", ErrProxyJWTInvalid)
	}
	var groups []string
	for _, g := range extra.Groups {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	return user, groups, nil
}

// notCompactJWS reports runes that cannot occur in a compact JWS. Refusing
// them up front keeps whitespace and padding, which lenient base64 decoders
// skip, from giving one signed token many spellings.
func notCompactJWS(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// verifyWithAny returns the payload of jws once one of the keys published
// under its kid, of a type and alg that fit the token's alg, verifies it.
func verifyWithAny(jws *jose.JSONWebSignature, alg string, keys []jose.JSONWebKey) ([]byte, error) {
	err := fmt.Errorf("no published key allows %s", alg)
	for _, key := range keys {
		if !keyFitsAlg(key, alg) {
			continue
		}
		var payload []byte
		if payload, err = jws.Verify(key.Key); err == nil {
			return payload, nil
		}
	}
	return nil, err
}

// checkClaims applies exact issuer and audience, a required expiry, and
// nbf/iat with proxyJWTLeeway (an iat in the future is refused).
func (v *ProxyJWTVerifier) checkClaims(c jwt.Claims) error {
	if c.Expiry == nil {
		return errors.New("no exp claim")
	}
	err := c.ValidateWithLeeway(jwt.Expected{
		Issuer:      v.issuer,
		AnyAudience: jwt.Audience{v.audience},
		Time:        v.now(),
	}, proxyJWTLeeway)
	switch {
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return fmt.Errorf("issuer %q, want %q", truncateForError(c.Issuer), v.issuer)
	case errors.Is(err, jwt.ErrInvalidAudience):
		return fmt.Errorf("audience %q, want %q", truncateForError(strings.Join(c.Audience, ",")), v.audience)
	case err != nil:
		return err
	}
	return nil
}
