// Package middleware holds Editwatch's HTTP machinery, the layers every
// request passes before a page handler sees it: request IDs, compression
// of what is sent (gzip; never event streams, PDFs or ranges), the access
// log and panic recovery, security headers with the CSP nonce, the
// identity the SSO proxy asserts (plain headers or signed JWTs checked
// against the proxy's JWKS), per-identity rate limits and per-route body
// limits, the cross-origin guard, server-side sessions (their store, key
// rotation and the notice of an ended session), CSRF tokens (masked per
// response against BREACH), and request metrics.
//
// It knows nothing of pages: a refusal is a *Refusal, which the
// dashboard's error handler renders, and what a layer learns about a
// request (its ID, nonce, identity, session, CSRF token) is read back with
// the accessors here. It imports store, extendapi and config of our
// packages and nothing else of ours.
package middleware
