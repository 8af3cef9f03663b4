package middleware

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
)

// SessionBinding is what an Editwatch session is bound to: the user, and
// with LoginHeader set, the login at the proxy that header stands for. The
// session store ends a session whose binding changes, so a new login at
// the proxy (signed out there, signed in again) starts a new Editwatch
// session even for the same user. Only a fingerprint of the header's
// value is kept: it is stored with the session and logged when it changes.
func (cfg IdentityConfig) SessionBinding(r *http.Request, user string) string {
	if cfg.LoginHeader == "" || user == "" {
		return user
	}
	sum := sha256.Sum256([]byte(r.Header.Get(cfg.LoginHeader)))
	return user + " login:" + hex.EncodeToString(sum[:8])
}
