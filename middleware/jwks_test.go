package middleware

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// verifyErr runs v on token and returns only the error.
func verifyErr(v *ProxyJWTVerifier, token string) error {
	_, _, err := v.Verify(context.Background(), requestWithAssertion(v.Header(), token))
	return err
}

func TestJWKSUnknownKidRefetchRateLimited(t *testing.T) {
	known, newcomer, stranger := newECKey(t, "k1"), newECKey(t, "k2"), newECKey(t, "k3")
	srv := newJWKSServer(t, known.public())
	clock := newFakeClock()
	v := newTestVerifier(t, srv, clock)

	steps := []struct {
		name     string
		advance  time.Duration
		token    func() string
		wantErr  error
		wantHits int64
	}{
		{"first use fetches", 0, func() string { return known.sign(t, goodClaims(clock.Now())) }, nil, 1},
		{"known kid is served from cache", 0, func() string { return known.sign(t, goodClaims(clock.Now())) }, nil, 1},
		{"unknown kid refetches once", 2 * time.Minute, func() string { return newcomer.sign(t, goodClaims(clock.Now())) }, ErrProxyJWTInvalid, 2},
		{"second unknown kid within a minute does not refetch", 30 * time.Second, func() string { return stranger.sign(t, goodClaims(clock.Now())) }, ErrProxyJWTInvalid, 2},
		{"same unknown kid 59s later does not refetch", 29 * time.Second, func() string { return newcomer.sign(t, goodClaims(clock.Now())) }, ErrProxyJWTInvalid, 2},
		{"known kid still fine meanwhile", 0, func() string { return known.sign(t, goodClaims(clock.Now())) }, nil, 2},
		{"a minute after the last fetch, refetch again", time.Second, func() string { return stranger.sign(t, goodClaims(clock.Now())) }, ErrProxyJWTInvalid, 3},
		{"known kid half an hour later is still served from cache", 30 * time.Minute, func() string { return known.sign(t, goodClaims(clock.Now())) }, nil, 3},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		err := verifyErr(v, s.token())
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.wantErr)
		}
		if got := srv.hits.Load(); got != s.wantHits {
			t.Fatalf("%s: JWKS fetched %d times, want %d", s.name, got, s.wantHits)
		}
	}
}

func TestJWKSKeyRotation(t *testing.T) {
	oldKey := newECKey(t, "2026-03")
	newKey := testKey{kid: "2026-04", alg: jose.RS256, priv: testRSAKeyOnce2()}
	srv := newJWKSServer(t, oldKey.public())
	clock := newFakeClock()
	v := newTestVerifier(t, srv, clock)

	if err := verifyErr(v, oldKey.sign(t, goodClaims(clock.Now()))); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}
	// The proxy publishes the new key next to the old one, then signs with it.
	srv.publish(t, oldKey.public(), newKey.public())
	clock.Advance(2 * time.Minute)
	if err := verifyErr(v, newKey.sign(t, goodClaims(clock.Now()))); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	if err := verifyErr(v, oldKey.sign(t, goodClaims(clock.Now()))); err != nil {
		t.Fatalf("old key during overlap: %v", err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (first use, new kid)", got)
	}

	// Once the proxy retires the old key, our copy ages out within jwksMaxAge.
	srv.publish(t, newKey.public())
	clock.Advance(jwksMaxAge + time.Second)
	if err := verifyErr(v, oldKey.sign(t, goodClaims(clock.Now()))); !errors.Is(err, ErrProxyJWTInvalid) {
		t.Fatalf("retired key after max age: err = %v, want ErrProxyJWTInvalid", err)
	}
	if err := verifyErr(v, newKey.sign(t, goodClaims(clock.Now()))); err != nil {
		t.Fatalf("new key after the old one retired: %v", err)
	}
	if got := srv.hits.Load(); got != 3 {
		t.Fatalf("JWKS fetched %d times, want 3", got)
	}
}

func TestJWKSServerDownKeepsLastGoodKeys(t *testing.T) {
	outages := []struct {
		name string
		fail func(*jwksServer)
	}{
		{"500", func(s *jwksServer) { s.setRaw(http.StatusInternalServerError, []byte("oops")) }},
		{"empty key set", func(s *jwksServer) { s.setRaw(http.StatusOK, []byte(`{"keys":[]}`)) }},
		{"not JSON", func(s *jwksServer) { s.setRaw(http.StatusOK, []byte(`<html>maintenance</html>`)) }},
		{"only unusable keys", func(s *jwksServer) {
			s.setRaw(http.StatusOK, []byte(`{"keys":[{"kty":"oct","kid":"k1","k":"c2VjcmV0"}]}`))
		}},
		{"connection refused", func(s *jwksServer) { s.Close() }},
	}
	for _, o := range outages {
		t.Run(o.name, func(t *testing.T) {
			key := newECKey(t, "k1")
			srv := newJWKSServer(t, key.public())
			clock := newFakeClock()
			v := newTestVerifier(t, srv, clock)
			if err := verifyErr(v, key.sign(t, goodClaims(clock.Now()))); err != nil {
				t.Fatalf("before the outage: %v", err)
			}
			o.fail(srv)
			// Past max age the cache tries to refresh, fails, and carries on.
			clock.Advance(jwksMaxAge + time.Minute)
			if err := verifyErr(v, key.sign(t, goodClaims(clock.Now()))); err != nil {
				t.Fatalf("during the outage, stale refresh: %v", err)
			}
			// An unknown kid cannot be learnt, but the known one still works.
			clock.Advance(2 * time.Minute)
			if err := verifyErr(v, newECKey(t, "k9").sign(t, goodClaims(clock.Now()))); !errors.Is(err, ErrProxyJWTInvalid) {
				t.Fatalf("unknown kid during outage: err = %v, want ErrProxyJWTInvalid", err)
			}
			if err := verifyErr(v, key.sign(t, goodClaims(clock.Now()))); err != nil {
				t.Fatalf("during the outage, after a failed refetch: %v", err)
			}
		})
	}
}

func TestJWKSUnavailableBeforeFirstFetch(t *testing.T) {
	key := newECKey(t, "k1")
	srv := newJWKSServer(t)
	srv.setRaw(http.StatusBadGateway, nil)
	clock := newFakeClock()
	v := newTestVerifier(t, srv, clock)

	if err := v.Prefetch(context.Background()); !errors.Is(err, ErrJWKSUnavailable) {
		t.Fatalf("Prefetch: err = %v, want ErrJWKSUnavailable", err)
	}
	err := verifyErr(v, key.sign(t, goodClaims(clock.Now())))
	if !errors.Is(err, ErrJWKSUnavailable) || errors.Is(err, ErrProxyJWTInvalid) {
		t.Fatalf("Verify: err = %v, want ErrJWKSUnavailable only", err)
	}
	if got := srv.hits.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (Prefetch; Verify is rate-limited)", got)
	}
	srv.publish(t, key.public())
	clock.Advance(jwksMinRefetch)
	if err := verifyErr(v, key.sign(t, goodClaims(clock.Now()))); err != nil {
		t.Fatalf("after the key endpoint recovered: %v", err)
	}
}

func TestJWKSConcurrentUnknownKidFetchesOnce(t *testing.T) {
	first, second := newECKey(t, "k1"), newECKey(t, "k2")
	srv := newJWKSServer(t, first.public())
	clock := newFakeClock()
	v := newTestVerifier(t, srv, clock)
	if err := v.Prefetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.publish(t, first.public(), second.public())
	clock.Advance(jwksMinRefetch)
	token := second.sign(t, goodClaims(clock.Now()))

	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() { errs[i] = verifyErr(v, token) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	if got := srv.hits.Load(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (Prefetch, one refetch for the burst)", got)
	}
}

func TestJWKSFetchLimits(t *testing.T) {
	key := newECKey(t, "k1")
	good := mustJSON(t, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.public()}})
	// Padding inside the JSON keeps it valid, so only the size refuses it.
	oversized := append(append([]byte(`{"pad":"`), strings.Repeat("x", jwksMaxBytes)...), append([]byte(`",`), good[1:]...)...)
	tests := []struct {
		name    string
		status  int
		body    []byte
		wantErr string // "" means the fetch succeeds
	}{
		{"good", http.StatusOK, good, ""},
		{"just under the cap", http.StatusOK, append(append([]byte(`{"pad":"`), strings.Repeat("x", jwksMaxBytes-len(good)-16)...), append([]byte(`",`), good[1:]...)...), ""},
		{"over the cap", http.StatusOK, oversized, "limit"},
		{"not found", http.StatusNotFound, good, "status 404"},
		{"truncated JSON", http.StatusOK, good[:len(good)/2], "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newJWKSServer(t)
			srv.setRaw(tt.status, tt.body)
			c := newJWKSCache(srv.URL, srv.Client(), newFakeClock().Now, slog.New(slog.NewTextHandler(t.Output(), nil)))
			keys, err := c.fetch(context.Background())
			if tt.wantErr == "" {
				if err != nil || len(keys["k1"]) != 1 {
					t.Fatalf("fetch: keys %v, err %v", keys, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("fetch: err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestJWKSFetchTimeout(t *testing.T) {
	// The handler gives up by itself after a while, so that a broken
	// timeout fails this test instead of hanging the whole package.
	const hang = 5 * time.Second
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(hang):
			w.WriteHeader(http.StatusServiceUnavailable)
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	c := newJWKSCache(srv.URL, srv.Client(), newFakeClock().Now, slog.New(slog.DiscardHandler))
	// The injected client has no timeout; the cache's own must still apply.
	c.fetchTimeout = 50 * time.Millisecond
	start := time.Now()
	_, err := c.fetch(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fetch: err = %v, want a deadline error", err)
	}
	if elapsed := time.Since(start); elapsed >= hang {
		t.Fatalf("fetch took %s despite a 50ms timeout", elapsed)
	}
}

func TestParseJWKSKeepsOnlyUsableKeys(t *testing.T) {
	ec := newECKey(t, "ec")
	rs := newRSAKey("rs")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small := mustRSAKey(1024)
	jwk := func(k jose.JSONWebKey) json.RawMessage { return mustJSON(t, k) }
	withKid := func(k jose.JSONWebKey, kid string) jose.JSONWebKey { k.KeyID = kid; return k }
	withAlg := func(k jose.JSONWebKey, alg string) jose.JSONWebKey { k.Algorithm = alg; return k }
	withUse := func(k jose.JSONWebKey, use string) jose.JSONWebKey { k.Use = use; return k }

	set := []json.RawMessage{
		jwk(ec.public()),
		jwk(rs.public()),
		jwk(withAlg(withKid(ec.public(), "ec-no-alg"), "")),
		jwk(withKid(ec.public(), "")),                                                        // no kid
		jwk(withKid(withUse(ec.public(), "enc"), "ec-enc")),                                  // encryption key
		jwk(withKid(withAlg(ec.public(), "RS256"), "ec-says-rs")),                            // alg does not fit kty
		jwk(withKid(withAlg(rs.public(), "RS512"), "rs-512")),                                // alg outside the list
		jwk(jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hmac"}), // symmetric
		jwk(jose.JSONWebKey{Key: ec.priv, KeyID: "leaked", Algorithm: "ES256"}),              // private material
		jwk(jose.JSONWebKey{Key: p384.Public(), KeyID: "p384"}),
		jwk(jose.JSONWebKey{Key: small.Public(), KeyID: "rsa1024"}),
		json.RawMessage(`{"kty":"OKP","crv":"X25519","kid":"x","x":"AAAA"}`),
		json.RawMessage(`{"kty":"WAT","kid":"w"}`),
		json.RawMessage(`"not an object"`),
	}
	keys, skipped, err := parseJWKS(mustJSON(t, map[string]any{"keys": set}))
	if err != nil {
		t.Fatal(err)
	}
	kids := slices.Sorted(maps.Keys(keys))
	if diff := cmp.Diff([]string{"ec", "ec-no-alg", "rs"}, kids); diff != "" {
		t.Errorf("usable kids (-want +got):\n%s", diff)
	}
	if len(skipped) != len(set)-3 {
		t.Errorf("skipped %d keys, want %d: %q", len(skipped), len(set)-3, skipped)
	}
	for kid, ks := range keys {
		for _, k := range ks {
			if !k.IsPublic() {
				t.Errorf("kid %q kept a non-public key %T", kid, k.Key)
			}
		}
	}
}

func TestJWKSKeyFitsAlg(t *testing.T) {
	ec, rs := newECKey(t, "ec").public(), newRSAKey("rs").public()
	noAlg := ec
	noAlg.Algorithm = ""
	tests := []struct {
		name string
		key  jose.JSONWebKey
		alg  string
		want bool
	}{
		{"EC ES256", ec, "ES256", true},
		{"EC without alg ES256", noAlg, "ES256", true},
		{"EC RS256", ec, "RS256", false},
		{"EC without alg RS256", noAlg, "RS256", false},
		{"RSA RS256", rs, "RS256", true},
		{"RSA ES256", rs, "ES256", false},
		{"RSA PS256", rs, "PS256", false},
		{"RSA HS256", rs, "HS256", false},
		{"EC none", ec, "none", false},
	}
	for _, tt := range tests {
		if got := keyFitsAlg(tt.key, tt.alg); got != tt.want {
			t.Errorf("%s: keyFitsAlg = %v, want %v", tt.name, got, tt.want)
		}
	}
}
