package extendapi

import (
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinels for the API's answers. An *APIError matches the one its HTTP
// status (or, failing that, its error code) stands for:
//
//	if errors.Is(err, extendapi.ErrNotFound) { … }
var (
	ErrUnauthorized    = errors.New("extendapi: unauthorized")     // 401, UNAUTHORIZED
	ErrPaymentRequired = errors.New("extendapi: payment required") // 402, USAGE_BLOCKED
	ErrForbidden       = errors.New("extendapi: forbidden")        // 403
	ErrNotFound        = errors.New("extendapi: not found")        // 404, NOT_FOUND
	ErrRateLimited     = errors.New("extendapi: rate limited")     // 429, RATE_LIMIT_EXCEEDED
	ErrInvalidRequest  = errors.New("extendapi: invalid request")  // 400, 422, INVALID_REQUEST
	ErrServer          = errors.New("extendapi: server error")     // 5xx
)

// Sentinels for failures that are not an answer from the API.
var (
	// ErrNetwork matches every *NetworkError: the request failed on the way
	// (DNS, connect, TLS, reset, timeout) and no HTTP answer was read.
	ErrNetwork = errors.New("extendapi: network error")
	// ErrTimeout matches a *NetworkError caused by the client's per-attempt
	// timeout or a network timeout. It does not match the caller's own
	// context deadline, which surfaces as context.DeadlineExceeded.
	ErrTimeout = errors.New("extendapi: timeout")
	// ErrUnexpectedResponse means a successful status came with a body that
	// is not the documented JSON (a proxy's HTML page, a legacy API shape).
	// It is always wrapped in an "extendapi: METHOD path: …" error.
	ErrUnexpectedResponse = errors.New("unexpected response")
)

// Sentinels for mistakes caught before anything is sent.
var (
	ErrMissingAPIKey   = errors.New("extendapi: no API key")
	ErrInvalidAPIKey   = errors.New("extendapi: invalid API key")
	ErrUnknownRegion   = errors.New("extendapi: unknown region")
	ErrInvalidBaseURL  = errors.New("extendapi: invalid base URL")
	ErrInvalidArgument = errors.New("invalid argument") // always wrapped in an "extendapi: …" error
)

// APIError is an HTTP error answer from Extend (any status outside 2xx).
// Error() carries no secret: the client removes its own key from anything
// the server echoed before the error is built.
type APIError struct {
	// Method and Path name the call ("GET", "/edit_runs/edr_…"); empty when
	// the error was built by DecodeError alone.
	Method string
	Path   string

	StatusCode int
	Code       string // Extend's machine-readable code, e.g. RATE_LIMIT_EXCEEDED
	Message    string // human-readable; don't branch on it
	Retryable  bool   // the server's own "retryable" hint
	RequestID  string // body requestId, else the x-extend-request-id header
	DocURL     string

	// Excerpt is a short, cleaned extract of a body that was not Extend's
	// JSON error (an HTML page from a proxy), for display and logs.
	Excerpt string

	// RetryAfter is how long the server asked us to wait (Retry-After or
	// X-RateLimit-Reset); zero when it did not say.
	RetryAfter time.Duration
}

// Error renders e.g.
// `extendapi: GET /edit_runs/edr_1: HTTP 404 NOT_FOUND: Edit run not found (request req_1)`.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("extendapi: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString("HTTP ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteByte(' ')
		b.WriteString(e.Code)
	}
	switch {
	case e.Message != "":
		b.WriteString(": ")
		b.WriteString(e.Message)
	case e.Excerpt != "":
		b.WriteString(": non-JSON body: ")
		b.WriteString(strconv.Quote(e.Excerpt))
	default:
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteString(": ")
			b.WriteString(t)
		}
	}
	if e.RequestID != "" {
		b.WriteString(" (request ")
		b.WriteString(e.RequestID)
		b.WriteByte(')')
	}
	return b.String()
}

// Is matches the sentinel for the status, or for the code when the status
// alone says nothing specific.
func (e *APIError) Is(target error) bool {
	s := e.sentinel()
	return s != nil && s == target
}

func (e *APIError) sentinel() error {
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		return ErrUnauthorized
	case e.StatusCode == http.StatusPaymentRequired:
		return ErrPaymentRequired
	case e.StatusCode == http.StatusForbidden:
		return ErrForbidden
	case e.StatusCode == http.StatusNotFound:
		return ErrNotFound
	case e.StatusCode == http.StatusTooManyRequests:
		return ErrRateLimited
	case e.StatusCode == http.StatusBadRequest, e.StatusCode == http.StatusUnprocessableEntity:
		return ErrInvalidRequest
	case e.StatusCode >= 500 && e.StatusCode <= 599:
		return ErrServer
	}
	switch e.Code {
	case "UNAUTHORIZED":
		return ErrUnauthorized
	case "USAGE_BLOCKED":
		return ErrPaymentRequired
	case "NOT_FOUND":
		return ErrNotFound
	case "RATE_LIMIT_EXCEEDED":
		return ErrRateLimited
	case "INVALID_REQUEST":
		return ErrInvalidRequest
	}
	return nil
}

// NetworkError is a failure to get an HTTP answer at all. It matches
// ErrNetwork, and ErrTimeout when it was a timeout.
type NetworkError struct {
	Method  string
	Path    string
	Timeout bool
	Err     error
}

func (e *NetworkError) Error() string {
	what := "network error"
	if e.Timeout {
		what = "timeout"
	}
	return "extendapi: " + e.Method + " " + e.Path + ": " + what + ": " + e.Err.Error()
}

func (e *NetworkError) Unwrap() error { return e.Err }

func (e *NetworkError) Is(target error) bool {
	return target == ErrNetwork || (e.Timeout && target == ErrTimeout)
}

// maxErrorBody caps how much of an error body is read; Extend's error JSON
// is a few hundred bytes, anything longer is a proxy page.
const maxErrorBody = 64 << 10

// DecodeError turns an error answer into an *APIError. It accepts Extend's
// flat body, the wrapped {"error": {...}} form, {"error": "text"}, JSON with
// loosely typed fields, and non-JSON bodies (kept as a short excerpt). It
// never fails and never panics.
func DecodeError(status int, header http.Header, body []byte) *APIError {
	return decodeErrorAt(status, header, body, time.Now())
}

// decodeErrorAt is DecodeError at now.
func decodeErrorAt(status int, header http.Header, body []byte, now time.Time) *APIError {
	return decodeScrubbedError(status, header, body, now, nil)
}

// decodeScrubbedError is decodeErrorAt where scrub, when set, removes what
// must never be kept (the API key a server echoed) from the body and from
// every field before it is clipped, so clipping cannot leave a piece of it.
func decodeScrubbedError(status int, header http.Header, body []byte, now time.Time, scrub func(string) string) *APIError {
	e := &APIError{StatusCode: status}
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	if scrub != nil {
		body = []byte(scrub(string(body)))
	}
	clean := func(s string, max int) string { return scrubbedText(s, max, scrub) }
	if header != nil {
		e.RequestID = clean(header.Get(HeaderRequestID), 128)
		e.RetryAfter = serverDelay(header, now)
	}
	if !decodeErrorJSON(e, body, clean) && len(strings.TrimSpace(string(body))) > 0 {
		e.Excerpt = scrubbedExcerpt(body, scrub)
	}
	return e
}

// decodeErrorJSON fills e from a JSON error body and reports whether the
// body was a JSON object or string carrying at least one known field.
func decodeErrorJSON(e *APIError, body []byte, clean func(s string, max int) string) bool {
	var top any
	if err := json.Unmarshal(body, &top); err != nil {
		return false
	}
	switch v := top.(type) {
	case string:
		e.Message = clean(v, 500)
		return e.Message != ""
	case map[string]any:
		if inner, ok := v["error"].(map[string]any); ok {
			v = inner
		} else if msg, ok := v["error"].(string); ok {
			if _, has := v["message"]; !has {
				v["message"] = msg
			}
		}
		e.Code = clean(looseString(v["code"]), 100)
		e.Message = clean(looseString(v["message"]), 500)
		e.Retryable = looseBool(v["retryable"])
		if id := clean(looseString(v["requestId"]), 128); id != "" {
			e.RequestID = id
		}
		e.DocURL = clean(looseString(v["docUrl"]), 300)
		return e.Code != "" || e.Message != ""
	}
	return false
}

func looseString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func looseBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, _ := strconv.ParseBool(x)
		return b
	}
	return false
}

var (
	reScriptStyle = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)\s*>`)
	reComment     = regexp.MustCompile(`(?s)<!--.*?(-->|$)`)
	reTag         = regexp.MustCompile(`(?s)<[a-zA-Z/!?][^>]*(>|$)`)
)

// excerptLen is how many characters of a foreign body an error keeps:
// enough to recognise "502 Bad Gateway nginx", short enough for a log line.
const excerptLen = 200

// excerpt turns an unexpected body (usually a proxy's HTML error page) into
// one short line of plain text: tags, scripts and styles removed, entities
// decoded, whitespace collapsed, capped at excerptLen characters.
func excerpt(body []byte) string { return scrubbedExcerpt(body, nil) }

// scrubbedExcerpt is excerpt with scrub applied before anything is cut.
func scrubbedExcerpt(body []byte, scrub func(string) string) string {
	if scrub != nil {
		body = []byte(scrub(string(body)))
	}
	const scan = 16 << 10
	if len(body) > scan {
		body = body[:scan]
	}
	s := strings.ToValidUTF8(string(body), "")
	if strings.Contains(s, "<") {
		s = reScriptStyle.ReplaceAllString(s, " ")
		s = reComment.ReplaceAllString(s, " ")
		s = reTag.ReplaceAllString(s, " ")
		s = html.UnescapeString(s)
	}
	return scrubbedText(s, excerptLen, scrub)
}

// cleanText makes server-provided text safe for one log line: valid UTF-8,
// control characters removed, whitespace collapsed, at most max characters.
func cleanText(s string, max int) string { return scrubbedText(s, max, nil) }

// scrubbedText is cleanText with scrub applied once the text is
// normalized (which can join the pieces of a key) and before it is cut
// (which would leave a piece that scrub no longer recognises).
func scrubbedText(s string, max int, scrub func(string) string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if scrub != nil {
		s = scrub(s)
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	cut := 0
	for i := range s {
		if cut == max {
			return strings.TrimSpace(s[:i]) + "…"
		}
		cut++
	}
	return s
}
