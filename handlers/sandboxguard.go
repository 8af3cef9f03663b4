package handlers

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/editwatch/editwatch/extendapi"
)

// HeaderSandboxInternal marks the dashboard's own calls to its embedded
// sandbox (SandboxInfo.InternalSecret): they pass the guard below. A
// per-process secret, not the peer address: a proxy on the same host would
// make every outside user look like a loopback peer.
const HeaderSandboxInternal = "X-Editwatch-Sandbox-Internal"

// guardSandbox puts the embedded sandbox, mounted under <base>_sandbox/,
// behind the dashboard's own rules for requests from outside: behind an
// SSO proxy (header mode) they need an identity, and writes and the fault
// endpoint need a role that may act; --read-only refuses writes; a write
// another site made in the browser is refused. The dashboard's own calls
// carry the internal secret and pass.
func (a *dashboard) guardSandbox(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.sandboxInternal(r) {
			r.Header.Del(HeaderSandboxInternal)
			next.ServeHTTP(w, r)
			return
		}
		r.Header.Del(HeaderSandboxInternal)
		write := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
		control := strings.HasPrefix(strings.TrimPrefix(r.URL.Path, a.BasePath), "_sandbox/faults")
		if a.Identity.HeaderMode() {
			id, ok := a.Identity.Resolve(r)
			if !ok {
				sandboxRefusal(w, http.StatusUnauthorized, "UNAUTHORIZED",
					"The embedded sandbox is reached through your company's SSO proxy; this request did not come through it or carried no identity.")
				return
			}
			if (write || control) && !id.CanAct {
				sandboxRefusal(w, http.StatusForbidden, "FORBIDDEN",
					"Your role may only look: changing the embedded sandbox (runs, files, faults) needs a role that may act.")
				return
			}
		}
		if write && a.Identity.ReadOnly {
			sandboxRefusal(w, http.StatusForbidden, "FORBIDDEN",
				"This Editwatch is read-only (--read-only): the embedded sandbox accepts no changes from outside either.")
			return
		}
		if write {
			if err := cop.Check(r); err != nil {
				sandboxRefusal(w, http.StatusForbidden, "FORBIDDEN",
					"This request was sent from another site. Call the embedded sandbox from the command line or from Editwatch itself.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// sandboxInternal reports whether r is the dashboard's own call.
func (a *dashboard) sandboxInternal(r *http.Request) bool {
	secret := a.Sandbox.InternalSecret
	sent := r.Header.Get(HeaderSandboxInternal)
	return secret != "" && sent != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(sent)) == 1
}

// sandboxRefusal answers in the sandbox's (Extend's) error format, which
// is what clients of the sandbox read.
func sandboxRefusal(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(extendapi.ErrorBody{Code: code, Message: msg})
}

// MarkSandboxCalls returns a transport that marks the requests base sends
// to the embedded sandbox at internalURL with secret, so guardSandbox
// knows them as the dashboard's own.
func MarkSandboxCalls(base http.RoundTripper, internalURL, secret string) http.RoundTripper {
	return sandboxMarker{base: base, prefix: strings.TrimRight(internalURL, "/") + "/", secret: secret}
}

type sandboxMarker struct {
	base   http.RoundTripper
	prefix string
	secret string
}

func (m sandboxMarker) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.String(), m.prefix) {
		r = r.Clone(r.Context())
		r.Header.Set(HeaderSandboxInternal, m.secret)
	}
	return m.base.RoundTrip(r)
}
