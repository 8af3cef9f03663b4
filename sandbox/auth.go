package sandbox

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/editwatch/editwatch/extendapi"
)

// authenticate maps the bearer key to the workspace the request acts in
// (§1.2, §1.3). Workspace keys reach their own workspace only; a different
// x-extend-workspace-id is 403 (the dashboard relies on it to prove which
// workspace a key reaches). Organization keys must name a workspace.
func (s *Server) authenticate(r *http.Request) (string, error) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if auth == "" {
		return "", errUnauthorized("missing Authorization header; send Authorization: Bearer <API key>")
	}
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", errUnauthorized("malformed Authorization header; send Authorization: Bearer <API key>")
	}
	scope, known := s.lookupKey(token)
	if !known {
		return "", errUnauthorized("unknown API key")
	}
	requested := strings.TrimSpace(r.Header.Get(extendapi.HeaderWorkspaceID))
	if scope == OrganizationScope {
		if requested == "" {
			return "", errInvalid("organization API keys must send %s naming the target workspace", extendapi.HeaderWorkspaceID)
		}
		if !validWorkspaceID(requested) {
			return "", errInvalid("%s %q is not a valid workspace ID", extendapi.HeaderWorkspaceID, requested)
		}
		return requested, nil
	}
	if requested != "" && requested != scope {
		return "", errForbidden("this API key belongs to another workspace than %q", requested)
	}
	return scope, nil
}

// lookupKey finds a key in constant time per candidate, so response timing
// does not reveal how much of a key matched.
func (s *Server) lookupKey(token string) (scope string, ok bool) {
	for key, ws := range s.opts.APIKeys {
		if subtle.ConstantTimeCompare([]byte(key), []byte(token)) == 1 {
			scope, ok = ws, true
		}
	}
	return scope, ok
}

// checkAPIVersion requires the pinned version (§1.4): missing or unknown is
// a 400 rather than a silent fallback to a legacy shape.
func checkAPIVersion(r *http.Request) error {
	v := r.Header.Get(extendapi.HeaderAPIVersion)
	switch v {
	case extendapi.APIVersion:
		return nil
	case "":
		return errInvalid("missing %s header; this sandbox speaks %s", extendapi.HeaderAPIVersion, extendapi.APIVersion)
	default:
		return errInvalid("unsupported %s %q; this sandbox speaks %s only", extendapi.HeaderAPIVersion, v, extendapi.APIVersion)
	}
}
