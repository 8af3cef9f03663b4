package middleware

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
)

// A page that reflects what a user typed and also carries a secret lets an
// attacker who can inject text and watch the compressed size guess the
// secret byte by byte (BREACH). So the CSRF token never appears in a page
// as itself: every response carries it under a fresh one-time pad, as
// gorilla/csrf does, and no two responses share the bytes to guess.
//
// A masked token is base64url(pad ‖ pad XOR token), pad as long as the
// token and drawn from crypto/rand for each call.

// MaskCSRFToken returns token under a fresh one-time pad; "" stays "".
func MaskCSRFToken(token string) string {
	if token == "" {
		return ""
	}
	n := len(token)
	buf := make([]byte, 2*n)
	_, _ = rand.Read(buf[:n]) // never fails (crypto/rand.Read crashes the program instead)
	for i := range n {
		buf[n+i] = buf[i] ^ token[i]
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

// UnmaskCSRFToken returns the token a MaskCSRFToken result carries, and
// false for anything that is not one.
func UnmaskCSRFToken(masked string) (string, bool) {
	buf, err := base64.RawURLEncoding.DecodeString(masked)
	if err != nil || len(buf) == 0 || len(buf)%2 != 0 {
		return "", false
	}
	n := len(buf) / 2
	token := make([]byte, n)
	for i := range n {
		token[i] = buf[i] ^ buf[n+i]
	}
	return string(token), true
}

// CSRFTokenMatches reports whether sent, from a form or header, proves
// knowledge of issued, the token in the CSRF cookie: sent is issued under
// any pad, or issued itself. The plain form stays accepted because
// accepting it gives an attacker nothing (BREACH reads what responses
// carry, not what requests may send) while it keeps working what predates
// masking: a page loaded before the deploy that introduced it, and scripts
// that send the cookie's value. The comparison takes the same time
// whatever the tokens hold.
func CSRFTokenMatches(issued, sent string) bool {
	if issued == "" || sent == "" {
		return false
	}
	plain := subtle.ConstantTimeCompare([]byte(issued), []byte(sent))
	unmasked, ok := UnmaskCSRFToken(sent)
	masked := subtle.ConstantTimeCompare([]byte(issued), []byte(unmasked))
	return plain == 1 || ok && masked == 1
}

// UnmaskSubmittedCSRF rewrites, in place, each token the request carries in
// form field or header that CSRFTokenMatches accepts for issued to issued
// itself, so a check that compares plain tokens (Echo's CSRF middleware)
// accepts masked ones too. Other values are left for that check to refuse.
// It parses the form as that check would (r.FormValue).
func UnmaskSubmittedCSRF(r *http.Request, issued, field, header string) {
	if issued == "" {
		return
	}
	if sent := r.Header.Get(header); sent != "" && CSRFTokenMatches(issued, sent) {
		r.Header.Set(header, issued)
	}
	if r.FormValue(field) == "" {
		return
	}
	for _, values := range []map[string][]string{r.Form, r.PostForm} {
		for i, sent := range values[field] {
			if CSRFTokenMatches(issued, sent) {
				values[field][i] = issued
			}
		}
	}
}
