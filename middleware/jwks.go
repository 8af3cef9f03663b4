package middleware

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// ErrJWKSUnavailable means no signing keys of the proxy have ever been
// fetched, so no assertion can be checked: the proxy's key endpoint is
// unreachable or publishes nothing usable. Callers may answer 503 rather than
// 401, since the user did nothing wrong.
var ErrJWKSUnavailable = errors.New("proxy signing keys unavailable")

// errJWKSRefetchTooSoon says a fetch was skipped because the last attempt was
// less than jwksMinRefetch ago; it is not logged, it is the rate limit working.
var errJWKSRefetchTooSoon = errors.New("jwks: refetch rate-limited")

const (
	// jwksMinRefetch bounds fetches triggered by unknown key IDs: anyone who
	// can reach us can send a token with a made-up kid, and must not be able
	// to turn us into a load generator against the proxy's key endpoint.
	jwksMinRefetch = time.Minute
	// jwksMaxAge is how long fetched keys are trusted before the next
	// verification refreshes them, so a key the proxy retired stops being
	// accepted even if no new kid ever shows up.
	jwksMaxAge = time.Hour
	// jwksFetchTimeout applies even when the injected client has none.
	jwksFetchTimeout = 5 * time.Second
	// jwksMaxBytes caps the key set: real ones are a few kilobytes.
	jwksMaxBytes = 1 << 20
	// minRSABits refuses keys that are too weak to trust.
	minRSABits = 2048
)

// jwksCache holds the signing keys a proxy publishes at a JWKS URL. Lookups
// of known keys never wait for the network; an unknown kid triggers a fetch
// at most once per jwksMinRefetch; a failed fetch keeps the last good keys.
type jwksCache struct {
	url          string
	client       *http.Client
	now          func() time.Time
	logger       *slog.Logger
	fetchTimeout time.Duration

	mu        sync.RWMutex
	keys      map[string][]jose.JSONWebKey // by kid; a kid may name several keys
	fetchedAt time.Time                    // of the keys above; zero before the first good fetch

	// fetchMu serializes fetches so that a burst of tokens with a new kid
	// causes one fetch, not one per request.
	fetchMu     sync.Mutex
	lastAttempt time.Time
}

func newJWKSCache(url string, client *http.Client, now func() time.Time, logger *slog.Logger) *jwksCache {
	return &jwksCache{url: url, client: client, now: now, logger: logger, fetchTimeout: jwksFetchTimeout}
}

// keysFor returns the keys published under kid, fetching the key set when
// kid is unknown or the cached set is older than jwksMaxAge. It fails with
// ErrJWKSUnavailable when no key set was ever fetched, and with
// ErrProxyJWTInvalid when the kid is unknown to a set we have.
func (c *jwksCache) keysFor(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	keys, fetchedAt := c.lookup(kid)
	stale := c.now().Sub(fetchedAt) > jwksMaxAge
	switch {
	case len(keys) > 0 && !stale:
		return keys, nil
	case len(keys) > 0:
		// Stale but known: refresh if nobody else is, otherwise carry on
		// with what we have rather than queue behind the network.
		if c.fetchMu.TryLock() {
			_ = c.refreshLocked(ctx)
			c.fetchMu.Unlock()
		}
	default:
		_ = c.refresh(ctx)
	}
	keys, fetchedAt = c.lookup(kid)
	switch {
	case len(keys) > 0:
		return keys, nil
	case fetchedAt.IsZero():
		return nil, ErrJWKSUnavailable
	default:
		return nil, fmt.Errorf("%w: unknown key id %q", ErrProxyJWTInvalid, truncateForError(kid))
	}
}

func (c *jwksCache) lookup(kid string) ([]jose.JSONWebKey, time.Time) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.keys[kid], c.fetchedAt
}

// refresh fetches the key set unless the last attempt was too recent.
func (c *jwksCache) refresh(ctx context.Context) error {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	return c.refreshLocked(ctx)
}

// refreshLocked does the work of refresh; the caller holds fetchMu.
func (c *jwksCache) refreshLocked(ctx context.Context) error {
	now := c.now()
	if !c.lastAttempt.IsZero() && now.Sub(c.lastAttempt) < jwksMinRefetch {
		return errJWKSRefetchTooSoon
	}
	c.lastAttempt = now
	keys, err := c.fetch(ctx)
	if err != nil {
		c.logger.Warn("proxy JWKS fetch failed; keeping the last good keys", "url", c.url, "err", err)
		return err
	}
	c.mu.Lock()
	c.keys, c.fetchedAt = keys, now
	c.mu.Unlock()
	c.logger.Debug("proxy JWKS fetched", "url", c.url, "kids", len(keys))
	return nil
}

// fetch downloads and parses the key set. The request is detached from the
// caller's cancellation: a client that hangs up mid-fetch must not spend the
// once-a-minute budget on a fetch that never finished.
func (c *jwksCache) fetch(ctx context.Context) (map[string][]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: get: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: get: status %d", resp.StatusCode)
	}
	if resp.ContentLength > jwksMaxBytes {
		return nil, fmt.Errorf("jwks: key set of %d bytes exceeds the %d-byte limit", resp.ContentLength, jwksMaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwks: read: %w", err)
	}
	if len(body) > jwksMaxBytes {
		return nil, fmt.Errorf("jwks: key set exceeds the %d-byte limit", jwksMaxBytes)
	}
	keys, skipped, err := parseJWKS(body)
	for _, s := range skipped {
		c.logger.Warn("proxy JWKS: key ignored", "url", c.url, "reason", s)
	}
	return keys, err
}

// parseJWKS keeps the keys of a JWK set that can verify ES256 or RS256
// signatures. Keys it cannot use are skipped, as RFC 7517 §5 asks, with a
// reason each; a set with no usable key is an error, so that a broken
// publication never replaces keys that work.
func parseJWKS(body []byte) (keys map[string][]jose.JSONWebKey, skipped []string, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, nil, fmt.Errorf("jwks: decode: %w", err)
	}
	keys = make(map[string][]jose.JSONWebKey)
	for i, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d: %v", i, err))
			continue
		}
		if reason := unusableKey(k); reason != "" {
			skipped = append(skipped, fmt.Sprintf("key %d (kid %q): %s", i, truncateForError(k.KeyID), reason))
			continue
		}
		keys[k.KeyID] = append(keys[k.KeyID], k)
	}
	if len(keys) == 0 {
		return nil, skipped, fmt.Errorf("jwks: no usable signing key among %d", len(set.Keys))
	}
	return keys, skipped, nil
}

// unusableKey says why k cannot verify our tokens, or "" when it can.
func unusableKey(k jose.JSONWebKey) string {
	if k.KeyID == "" {
		return "no kid: tokens name their key, so a key without an ID is never chosen"
	}
	if k.Use != "" && k.Use != "sig" {
		return fmt.Sprintf("use %q is not sig", k.Use)
	}
	if !k.IsPublic() {
		// Symmetric keys would allow HS* forgeries; private keys mean the
		// publisher leaked them, and either way nothing here signs tokens.
		return "not a public key"
	}
	switch pub := k.Key.(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "EC key not on P-256"
		}
		if k.Algorithm != "" && k.Algorithm != string(jose.ES256) {
			return fmt.Sprintf("EC key with alg %q", k.Algorithm)
		}
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return fmt.Sprintf("RSA key of %d bits, fewer than %d", pub.N.BitLen(), minRSABits)
		}
		if k.Algorithm != "" && k.Algorithm != string(jose.RS256) {
			return fmt.Sprintf("RSA key with alg %q", k.Algorithm)
		}
	default:
		return fmt.Sprintf("key type %T is not allowed", k.Key)
	}
	return ""
}

// keyFitsAlg reports whether k may verify a token whose header names alg:
// the token's algorithm must be one the key's type and its own alg allow.
func keyFitsAlg(k jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch k.Key.(type) {
	case *ecdsa.PublicKey:
		return alg == string(jose.ES256)
	case *rsa.PublicKey:
		return alg == string(jose.RS256)
	default:
		return false
	}
}

// truncateForError bounds attacker-chosen strings quoted in errors and logs.
func truncateForError(s string) string {
	const limit = 80
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
