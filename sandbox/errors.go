package sandbox

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// Error codes of the error body (§4.2) that are not failure reasons.
const (
	codeInvalidRequest    = "INVALID_REQUEST"
	codeUnauthorized      = "UNAUTHORIZED"
	codeUsageBlocked      = "USAGE_BLOCKED"
	codeForbidden         = "FORBIDDEN"
	codeNotFound          = "NOT_FOUND"
	codeMethodNotAllowed  = "METHOD_NOT_ALLOWED"
	codeRateLimitExceeded = "RATE_LIMIT_EXCEEDED"
	codeInternalError     = "INTERNAL_ERROR"
	codeTimeout           = "TIMEOUT"
)

// apiError is an HTTP error answered with Extend's flat error body.
type apiError struct {
	status     int
	code       string
	message    string
	retryable  bool
	retryAfter time.Duration // sets Retry-After when positive
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message)
}

func errInvalid(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeInvalidRequest, message: fmt.Sprintf(format, args...)}
}

func errUnauthorized(message string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, message: message}
}

func errForbidden(format string, args ...any) *apiError {
	return &apiError{status: http.StatusForbidden, code: codeForbidden, message: fmt.Sprintf(format, args...)}
}

func errNotFound(kind, id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf("%s %q not found", kind, id)}
}

func errTooLarge(limit int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: string(extendapi.ReasonFileSizeTooLarge),
		message: fmt.Sprintf("the file exceeds the sandbox's upload limit of %d bytes", limit)}
}

func errUsageBlocked(budget float64) *apiError {
	return &apiError{status: http.StatusPaymentRequired, code: codeUsageBlocked,
		message: fmt.Sprintf("usage blocked: the workspace's credit budget of %g is spent", budget)}
}

func errRateLimited(wait time.Duration) *apiError {
	return &apiError{status: http.StatusTooManyRequests, code: codeRateLimitExceeded, retryable: true, retryAfter: wait,
		message: "rate limit exceeded; retry after the Retry-After delay"}
}

// errRunFailed is how the synchronous endpoints report a FAILED run (§2.1):
// 422 with the failure reason as the code.
func errRunFailed(reason extendapi.FailureReason, message string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: string(reason), message: message}
}

// writeError answers err as an error body. Errors that are not *apiError
// are internal: logged, and answered as a 500 without their text.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.logger.Error("sandbox: internal error", "method", r.Method, "path", r.URL.Path,
			"requestId", w.Header().Get(extendapi.HeaderRequestID), "err", err)
		ae = &apiError{status: http.StatusInternalServerError, code: codeInternalError, retryable: true,
			message: "internal error in the sandbox"}
	}
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ae.retryAfter.Seconds()))))
	}
	writeJSON(w, ae.status, extendapi.ErrorBody{
		Code:      ae.code,
		Message:   ae.message,
		Retryable: ae.retryable,
		RequestID: w.Header().Get(extendapi.HeaderRequestID),
	})
}
