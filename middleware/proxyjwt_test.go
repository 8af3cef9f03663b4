package middleware

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

const (
	testJWTAudience = "editwatch.example.com"
	testJWTIssuer   = "https://corp.cloudflareaccess.com"
)

// testJWTEpoch is the fixed "now" of the tests' clocks.
var testJWTEpoch = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// fakeClock is an injected clock that only moves when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: testJWTEpoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKey is a locally generated signing key with the kid it is published under.
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k testKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// RSA generation is slow under -race, so each size is made once per run.
var (
	testRSAKeyOnce  = sync.OnceValue(func() *rsa.PrivateKey { return mustRSAKey(2048) })
	testRSAKeyOnce2 = sync.OnceValue(func() *rsa.PrivateKey { return mustRSAKey(2048) })
)

func mustRSAKey(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func newECKey(t testing.TB, kid string) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: jose.ES256, priv: priv}
}

func newRSAKey(kid string) testKey {
	return testKey{kid: kid, alg: jose.RS256, priv: testRSAKeyOnce()}
}

// signJWT signs claims with key under alg, naming kid in the header (kid
// may differ from the key's own, to forge).
func signJWT(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	return signJWTWith(t, &jose.SignerOptions{}, alg, key, kid, claims)
}

// signJWTWith is signJWT with extra header options, for header attacks.
func signJWTWith(t testing.TB, opts *jose.SignerOptions, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	opts = opts.WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("signer %s: %v", alg, err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func (k testKey) sign(t testing.TB, claims any) string {
	t.Helper()
	return signJWT(t, k.alg, k.priv, k.kid, claims)
}

// unsignedJWT builds header.payload.signature from raw parts, for tokens no
// library would produce.
func unsignedJWT(t testing.TB, header, claims any, sig []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + enc(sig)
}

// goodClaims are what a proxy would assert at now; tests change one thing.
func goodClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":    testJWTIssuer,
		"aud":    testJWTAudience,
		"sub":    "user-123",
		"email":  "ana@example.com",
		"groups": []string{"ops", "eng"},
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(5 * time.Minute).Unix(),
	}
}

func with(claims map[string]any, key string, value any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		out[k] = v
	}
	if value == nil {
		delete(out, key)
	} else {
		out[key] = value
	}
	return out
}

// jwksServer publishes a JWK set over loopback and counts fetches.
type jwksServer struct {
	*httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	body   []byte
	status int
}

func newJWKSServer(t testing.TB, keys ...jose.JSONWebKey) *jwksServer {
	t.Helper()
	s := &jwksServer{status: http.StatusOK}
	s.publish(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		status, body := s.status, s.body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(t testing.TB, keys ...jose.JSONWebKey) {
	t.Helper()
	body, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	s.setRaw(http.StatusOK, body)
}

func (s *jwksServer) setRaw(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func newTestVerifier(t testing.TB, srv *jwksServer, clock *fakeClock) *ProxyJWTVerifier {
	t.Helper()
	v, err := NewProxyJWTVerifier(ProxyJWTConfig{
		Provider:   ProxyCloudflare,
		JWKSURL:    srv.URL,
		Audience:   testJWTAudience,
		Issuer:     testJWTIssuer,
		HTTPClient: srv.Client(),
		Now:        clock.Now,
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func requestWithAssertion(header, token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/runs", nil)
	if token != "" {
		r.Header.Set(header, token)
	}
	return r
}

func TestProxyJWTVerify(t *testing.T) {
	ec, rs := newECKey(t, "ec-1"), newRSAKey("rsa-1")
	srv := newJWKSServer(t, ec.public(), rs.public())
	now := testJWTEpoch
	good := goodClaims(now)

	attacker := newECKey(t, "ec-1")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPub := ec.priv.Public().(*ecdsa.PublicKey)
	ecDER, err := x509.MarshalPKIXPublicKey(ecPub)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})
	rsaDER, err := x509.MarshalPKIXPublicKey(rs.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaDER})
	ecJWK, err := json.Marshal(ec.public())
	if err != nil {
		t.Fatal(err)
	}
	validES := ec.sign(t, good)
	parts := strings.Split(validES, ".")
	otherPayload := base64.RawURLEncoding.EncodeToString(mustJSON(t, with(good, "email", "mallory@example.com")))

	tests := []struct {
		name       string
		token      string
		header     []string // extra raw header values; nil means just token
		wantUser   string
		wantGroups []string
		wantErr    error
	}{
		{name: "valid ES256", token: validES, wantUser: "ana@example.com", wantGroups: []string{"ops", "eng"}},
		{name: "valid RS256", token: rs.sign(t, good), wantUser: "ana@example.com", wantGroups: []string{"ops", "eng"}},
		{name: "sub when no email", token: ec.sign(t, with(with(good, "email", nil), "groups", nil)), wantUser: "user-123"},
		{name: "audience array containing ours", token: ec.sign(t, with(good, "aud", []string{"other-app", testJWTAudience})), wantUser: "ana@example.com", wantGroups: []string{"ops", "eng"}},
		{name: "expired within leeway", token: ec.sign(t, with(good, "exp", now.Add(-10*time.Second).Unix())), wantUser: "ana@example.com", wantGroups: []string{"ops", "eng"}},
		{name: "iat slightly ahead within leeway", token: ec.sign(t, with(good, "iat", now.Add(10*time.Second).Unix())), wantUser: "ana@example.com", wantGroups: []string{"ops", "eng"}},
		{name: "blank groups dropped", token: ec.sign(t, with(good, "groups", []string{" ", "ops"})), wantUser: "ana@example.com", wantGroups: []string{"ops"}},

		{name: "missing header", token: "", wantErr: ErrProxyJWTMissing},
		{name: "two headers", token: validES, header: []string{validES}, wantErr: ErrProxyJWTInvalid},
		{name: "wrong audience", token: ec.sign(t, with(good, "aud", "other.example.com")), wantErr: ErrProxyJWTInvalid},
		{name: "audience superstring", token: ec.sign(t, with(good, "aud", testJWTAudience+".evil.example")), wantErr: ErrProxyJWTInvalid},
		{name: "audience missing", token: ec.sign(t, with(good, "aud", nil)), wantErr: ErrProxyJWTInvalid},
		{name: "wrong issuer", token: ec.sign(t, with(good, "iss", "https://evil.cloudflareaccess.com")), wantErr: ErrProxyJWTInvalid},
		{name: "issuer with trailing slash", token: ec.sign(t, with(good, "iss", testJWTIssuer+"/")), wantErr: ErrProxyJWTInvalid},
		{name: "expired", token: ec.sign(t, with(good, "exp", now.Add(-45*time.Second).Unix())), wantErr: ErrProxyJWTInvalid},
		{name: "no exp", token: ec.sign(t, with(good, "exp", nil)), wantErr: ErrProxyJWTInvalid},
		{name: "future iat", token: ec.sign(t, with(good, "iat", now.Add(2*time.Minute).Unix())), wantErr: ErrProxyJWTInvalid},
		{name: "future nbf", token: ec.sign(t, with(good, "nbf", now.Add(2*time.Minute).Unix())), wantErr: ErrProxyJWTInvalid},
		{name: "exp as string", token: ec.sign(t, with(good, "exp", "tomorrow")), wantErr: ErrProxyJWTInvalid},
		{name: "no email and no sub", token: ec.sign(t, with(with(good, "email", nil), "sub", nil)), wantErr: ErrProxyJWTInvalid},
		{name: "email not a string", token: ec.sign(t, with(good, "email", 42)), wantErr: ErrProxyJWTInvalid},
		{name: "groups not strings", token: ec.sign(t, with(good, "groups", []any{"ops", 7})), wantErr: ErrProxyJWTInvalid},
		{name: "groups a string", token: ec.sign(t, with(good, "groups", "ops")), wantErr: ErrProxyJWTInvalid},

		{name: "alg none", token: unsignedJWT(t, map[string]string{"alg": "none", "kid": "ec-1", "typ": "JWT"}, good, nil), wantErr: ErrProxyJWTInvalid},
		{name: "alg None", token: unsignedJWT(t, map[string]string{"alg": "None", "kid": "ec-1"}, good, nil), wantErr: ErrProxyJWTInvalid},
		{name: "HS256 with EC public key PEM", token: signJWT(t, jose.HS256, ecPEM, "ec-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "HS256 with EC public key DER", token: signJWT(t, jose.HS256, ecDER, "ec-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "HS256 with EC public JWK", token: signJWT(t, jose.HS256, ecJWK, "ec-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "HS256 with RSA public key PEM", token: signJWT(t, jose.HS256, rsaPEM, "rsa-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "ES384 not allowed", token: signJWT(t, jose.ES384, p384, "ec-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "PS256 not allowed", token: signJWT(t, jose.PS256, rs.priv, "rsa-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "RS256 naming the EC key", token: signJWT(t, jose.RS256, rs.priv, "ec-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "ES256 naming the RSA key", token: signJWT(t, jose.ES256, ec.priv, "rsa-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "signed by another key under our kid", token: attacker.sign(t, good), wantErr: ErrProxyJWTInvalid},
		{name: "attacker key embedded as jwk header", token: signJWTWith(t, &jose.SignerOptions{EmbedJWK: true}, jose.ES256, attacker.priv, "ec-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "attacker jku header", token: signJWTWith(t, (&jose.SignerOptions{}).WithHeader("jku", "https://evil.example/jwks.json"), jose.ES256, attacker.priv, "ec-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "unsupported crit header", token: signJWTWith(t, (&jose.SignerOptions{}).WithHeader("crit", []string{"exp"}).WithHeader("exp", 1), jose.ES256, ec.priv, "ec-1", good), wantErr: ErrProxyJWTInvalid},
		{name: "payload swapped", token: parts[0] + "." + otherPayload + "." + parts[2], wantErr: ErrProxyJWTInvalid},
		{name: "signature stripped", token: parts[0] + "." + parts[1] + ".", wantErr: ErrProxyJWTInvalid},
		{name: "no kid", token: signJWT(t, jose.ES256, ec.priv, "", good), wantErr: ErrProxyJWTInvalid},

		{name: "garbage", token: "not a token at all", wantErr: ErrProxyJWTInvalid},
		{name: "two segments", token: parts[0] + "." + parts[1], wantErr: ErrProxyJWTInvalid},
		{name: "four segments", token: validES + ".AAAA", wantErr: ErrProxyJWTInvalid},
		{name: "empty segments", token: "..", wantErr: ErrProxyJWTInvalid},
		{name: "bad base64 length", token: "A." + parts[1] + "." + parts[2], wantErr: ErrProxyJWTInvalid},
		{name: "whitespace inside", token: parts[0] + "." + parts[1][:4] + "\n" + parts[1][4:] + "." + parts[2], wantErr: ErrProxyJWTInvalid},
		{name: "header not JSON", token: base64.RawURLEncoding.EncodeToString([]byte("{")) + "." + parts[1] + "." + parts[2], wantErr: ErrProxyJWTInvalid},
		{name: "JSON serialization", token: `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, wantErr: ErrProxyJWTInvalid},
		{name: "huge", token: parts[0] + "." + strings.Repeat("A", 1<<20) + "." + parts[2], wantErr: ErrProxyJWTInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, srv, newFakeClock())
			r := requestWithAssertion(v.Header(), tt.token)
			for _, extra := range tt.header {
				r.Header.Add(v.Header(), extra)
			}
			user, groups, err := v.Verify(context.Background(), r)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Verify: err = %v, want %v (user %q)", err, tt.wantErr, user)
				}
				if user != "" || groups != nil {
					t.Errorf("Verify refused but returned user %q groups %q", user, groups)
				}
				if tt.token != "" && strings.Contains(err.Error(), tt.token) {
					t.Errorf("error text contains the token")
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if user != tt.wantUser {
				t.Errorf("user = %q, want %q", user, tt.wantUser)
			}
			if diff := cmp.Diff(tt.wantGroups, groups); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProxyJWTRefusedBeforeKeyLookup checks that forbidden algorithms and
// malformed or oversized tokens are turned away by the parser, before any
// key is looked up: naming an unknown kid must not even cost a JWKS fetch.
func TestProxyJWTRefusedBeforeKeyLookup(t *testing.T) {
	ec, rs := newECKey(t, "unknown-kid"), newRSAKey("unknown-kid")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := goodClaims(testJWTEpoch)
	valid := ec.sign(t, good)
	parts := strings.Split(valid, ".")
	tests := []struct{ name, token string }{
		{"alg none", unsignedJWT(t, map[string]string{"alg": "none", "kid": "unknown-kid"}, good, nil)},
		{"HS256", signJWT(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "unknown-kid", good)},
		{"HS512", signJWT(t, jose.HS512, []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), "unknown-kid", good)},
		{"ES384", signJWT(t, jose.ES384, p384, "unknown-kid", good)},
		{"PS256", signJWT(t, jose.PS256, rs.priv, "unknown-kid", good)},
		{"huge", parts[0] + "." + strings.Repeat("A", proxyJWTMaxBytes) + "." + parts[2]},
		{"two segments", parts[0] + "." + parts[1]},
		{"garbage", "garbage"},
		{"no kid", signJWT(t, jose.ES256, ec.priv, "", good)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newJWKSServer(t, ec.public())
			v := newTestVerifier(t, srv, newFakeClock())
			if err := verifyErr(v, tt.token); !errors.Is(err, ErrProxyJWTInvalid) {
				t.Fatalf("err = %v, want ErrProxyJWTInvalid", err)
			}
			if got := srv.hits.Load(); got != 0 {
				t.Fatalf("JWKS fetched %d times, want 0", got)
			}
		})
	}
}

// TestProxyJWTClockMoves checks that the injected clock, not the wall clock,
// decides expiry: the same token is good now and refused six minutes later.
func TestProxyJWTClockMoves(t *testing.T) {
	ec := newECKey(t, "ec-1")
	srv := newJWKSServer(t, ec.public())
	clock := newFakeClock()
	v := newTestVerifier(t, srv, clock)
	token := ec.sign(t, goodClaims(clock.Now()))
	if _, _, err := v.Verify(context.Background(), requestWithAssertion(v.Header(), token)); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	clock.Advance(6 * time.Minute)
	if _, _, err := v.Verify(context.Background(), requestWithAssertion(v.Header(), token)); !errors.Is(err, ErrProxyJWTInvalid) {
		t.Fatalf("after expiry: err = %v, want ErrProxyJWTInvalid", err)
	}
}

func TestProxyJWTProviderHeaders(t *testing.T) {
	ec := newECKey(t, "ec-1")
	srv := newJWKSServer(t, ec.public())
	token := ec.sign(t, goodClaims(testJWTEpoch))
	tests := []struct {
		provider, override, sent string
	}{
		{ProxyPomerium, "", "X-Pomerium-Jwt-Assertion"},
		{ProxyIAP, "", "x-goog-iap-jwt-assertion"},
		{ProxyCloudflare, "", "Cf-Access-Jwt-Assertion"},
		{ProxyCloudflare, "X-Custom-Assertion", "x-custom-assertion"},
	}
	for _, tt := range tests {
		t.Run(tt.provider+" "+tt.sent, func(t *testing.T) {
			v, err := NewProxyJWTVerifier(ProxyJWTConfig{
				Provider: tt.provider, Header: tt.override, JWKSURL: srv.URL,
				Audience: testJWTAudience, Issuer: testJWTIssuer,
				HTTPClient: srv.Client(), Now: newFakeClock().Now,
			})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set(tt.sent, token)
			if user, _, err := v.Verify(context.Background(), r); err != nil || user != "ana@example.com" {
				t.Fatalf("Verify with %s: user %q, err %v", tt.sent, user, err)
			}
			// An assertion in another provider's header is not ours to read.
			other := httptest.NewRequest(http.MethodGet, "/", nil)
			other.Header.Set("X-Forwarded-Email", "ana@example.com")
			if _, _, err := v.Verify(context.Background(), other); !errors.Is(err, ErrProxyJWTMissing) {
				t.Fatalf("without the header: err = %v, want ErrProxyJWTMissing", err)
			}
		})
	}
}

func TestNewProxyJWTVerifierConfig(t *testing.T) {
	base := ProxyJWTConfig{Provider: ProxyPomerium, JWKSURL: "https://auth.example.com/.well-known/pomerium/jwks.json", Audience: "a", Issuer: "i"}
	change := func(f func(*ProxyJWTConfig)) ProxyJWTConfig {
		c := base
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     ProxyJWTConfig
		wantErr string // "" means valid
	}{
		{"pomerium", base, ""},
		{"iap defaults its JWKS URL", change(func(c *ProxyJWTConfig) { c.Provider, c.JWKSURL = ProxyIAP, "" }), ""},
		{"cloudflare", change(func(c *ProxyJWTConfig) {
			c.Provider, c.JWKSURL = ProxyCloudflare, "https://corp.cloudflareaccess.com/cdn-cgi/access/certs"
		}), ""},
		{"http loopback", change(func(c *ProxyJWTConfig) { c.JWKSURL = "http://127.0.0.1:9000/jwks" }), ""},
		{"http localhost", change(func(c *ProxyJWTConfig) { c.JWKSURL = "http://localhost:9000/jwks" }), ""},
		{"unknown provider", change(func(c *ProxyJWTConfig) { c.Provider = "okta" }), `provider "okta"`},
		{"no provider", change(func(c *ProxyJWTConfig) { c.Provider = "" }), "provider"},
		{"no audience", change(func(c *ProxyJWTConfig) { c.Audience = "" }), "audience is required"},
		{"no issuer", change(func(c *ProxyJWTConfig) { c.Issuer = "" }), "issuer is required"},
		{"no JWKS URL for pomerium", change(func(c *ProxyJWTConfig) { c.JWKSURL = "" }), "JWKS URL: required"},
		{"plain http remote", change(func(c *ProxyJWTConfig) { c.JWKSURL = "http://auth.example.com/jwks" }), "want https"},
		{"relative URL", change(func(c *ProxyJWTConfig) { c.JWKSURL = "/jwks.json" }), "not an absolute URL"},
		{"file URL", change(func(c *ProxyJWTConfig) { c.JWKSURL = "file:///etc/jwks.json" }), "not an absolute URL"},
		{"ftp URL", change(func(c *ProxyJWTConfig) { c.JWKSURL = "ftp://auth.example.com/jwks.json" }), "want an https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewProxyJWTVerifier(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("NewProxyJWTVerifier: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
	if v, err := NewProxyJWTVerifier(change(func(c *ProxyJWTConfig) { c.Provider, c.JWKSURL = ProxyIAP, "" })); err == nil && v.keys.url != IAPJWKSURL {
		t.Errorf("IAP JWKS URL = %q, want %q", v.keys.url, IAPJWKSURL)
	}
}

func TestProxyJWTDefaults(t *testing.T) {
	tests := []struct{ provider, header, issuer string }{
		{ProxyPomerium, "X-Pomerium-Jwt-Assertion", "<route domain, e.g. editwatch.example.com>"},
		{ProxyIAP, "X-Goog-Iap-Jwt-Assertion", "https://cloud.google.com/iap"},
		{ProxyCloudflare, "Cf-Access-Jwt-Assertion", "https://<team>.cloudflareaccess.com"},
		{"nope", "", ""},
	}
	for _, tt := range tests {
		header, issuer := ProxyJWTDefaults(tt.provider)
		if header != tt.header || issuer != tt.issuer {
			t.Errorf("ProxyJWTDefaults(%q) = %q, %q; want %q, %q", tt.provider, header, issuer, tt.header, tt.issuer)
		}
	}
}

// staticJWKS answers every request with one key set, in memory, so the fuzz
// loop does not open sockets.
type staticJWKS []byte

func (s staticJWKS) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(s)), ContentLength: int64(len(s)), Request: r,
	}, nil
}

// signedByTestKey is the fuzz oracle, independent of go-jose: it checks with
// the standard library that token carries a valid ES256 or RS256 signature
// by one of the test keys over its own header and payload.
func signedByTestKey(token string, ec *ecdsa.PublicKey, rs *rsa.PublicKey) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(rawHeader, &header) != nil {
		return false
	}
	rawPayload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	// The signature covers the decoded bytes in canonical encoding; a
	// different spelling of the same bytes is the same signed token.
	enc := base64.RawURLEncoding.EncodeToString
	digest := sha256.Sum256([]byte(enc(rawHeader) + "." + enc(rawPayload)))
	switch header.Alg {
	case "ES256":
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(ec, digest[:], r, s)
	case "RS256":
		return rsa.VerifyPKCS1v15(rs, crypto.SHA256, digest[:], sig) == nil
	default:
		return false
	}
}

// FuzzProxyJWT feeds arbitrary assertions to the verifier: it must never
// panic, and must accept only tokens that the test keys really signed.
func FuzzProxyJWT(f *testing.F) {
	ec, rs := newECKey(f, "ec-1"), newRSAKey("rsa-1")
	jwks := mustJSON(f, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{ec.public(), rs.public()}})
	good := goodClaims(testJWTEpoch)
	// Valid tokens are signed at run time (the keys are fresh each run), so
	// the fuzzer mutates from tokens that verify; the committed corpus in
	// testdata/fuzz/FuzzProxyJWT holds the malformed and hostile shapes.
	f.Add(ec.sign(f, good))
	f.Add(rs.sign(f, good))
	f.Add(ec.sign(f, with(good, "groups", []any{"ops", 1})))
	f.Add(signJWT(f, jose.RS256, rs.priv, "ec-1", good))

	v, err := NewProxyJWTVerifier(ProxyJWTConfig{
		Provider: ProxyPomerium, JWKSURL: "https://auth.example.com/.well-known/pomerium/jwks.json",
		Audience: testJWTAudience, Issuer: testJWTIssuer,
		HTTPClient: &http.Client{Transport: staticJWKS(jwks)},
		Now:        func() time.Time { return testJWTEpoch },
	})
	if err != nil {
		f.Fatal(err)
	}
	ecPub, rsPub := ec.priv.Public().(*ecdsa.PublicKey), rs.priv.Public().(*rsa.PublicKey)
	f.Fuzz(func(t *testing.T, token string) {
		user, groups, err := v.verifyToken(context.Background(), token)
		if err != nil {
			if user != "" || groups != nil {
				t.Fatalf("refused token returned user %q groups %q", user, groups)
			}
			if !errors.Is(err, ErrProxyJWTInvalid) {
				t.Fatalf("error %v does not match ErrProxyJWTInvalid", err)
			}
			return
		}
		if !signedByTestKey(token, ecPub, rsPub) {
			t.Fatalf("accepted a token the test keys did not sign: %q", token)
		}
		if user == "" {
			t.Fatalf("accepted a token naming nobody: %q", token)
		}
	})
}

// BenchmarkProxyJWTVerify measures one verification with warm keys, what
// every request through the proxy pays.
func BenchmarkProxyJWTVerify(b *testing.B) {
	ec, rs := newECKey(b, "ec-1"), newRSAKey("rsa-1")
	srv := newJWKSServer(b, ec.public(), rs.public())
	for _, key := range []testKey{ec, rs} {
		b.Run(string(key.alg), func(b *testing.B) {
			clock := newFakeClock()
			v, err := NewProxyJWTVerifier(ProxyJWTConfig{
				Provider: ProxyPomerium, JWKSURL: srv.URL, Audience: testJWTAudience, Issuer: testJWTIssuer,
				HTTPClient: srv.Client(), Now: clock.Now,
			})
			if err != nil {
				b.Fatal(err)
			}
			r := requestWithAssertion(v.Header(), key.sign(b, goodClaims(clock.Now())))
			for b.Loop() {
				if _, _, err := v.Verify(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
