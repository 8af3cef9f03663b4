package extendapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeError(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   APIError
	}{
		{
			name: "flat", status: 400,
			body: `{"code":"INVALID_REQUEST","message":"file.url is required","retryable":false,"requestId":"req_Xj8mK2pL9nR4vT7qY5wZ","docUrl":"https://docs.extend.ai/x"}`,
			want: APIError{StatusCode: 400, Code: "INVALID_REQUEST", Message: "file.url is required", RequestID: "req_Xj8mK2pL9nR4vT7qY5wZ", DocURL: "https://docs.extend.ai/x"},
		},
		{
			name: "wrapped", status: 429, header: http.Header{"Retry-After": {"3"}},
			body: `{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Slow down","retryable":true}}`,
			want: APIError{StatusCode: 429, Code: "RATE_LIMIT_EXCEEDED", Message: "Slow down", Retryable: true, RetryAfter: 3 * time.Second},
		},
		{
			name: "error as a string", status: 502,
			body: `{"error":"upstream connect error"}`,
			want: APIError{StatusCode: 502, Message: "upstream connect error"},
		},
		{
			name: "loosely typed fields", status: 500,
			body: `{"code":500,"message":"boom","retryable":"true"}`,
			want: APIError{StatusCode: 500, Code: "500", Message: "boom", Retryable: true},
		},
		{
			name: "request id from the header", status: 404, header: http.Header{"X-Extend-Request-Id": {"req_hdr"}},
			body: `{"code":"NOT_FOUND","message":"Edit run not found"}`,
			want: APIError{StatusCode: 404, Code: "NOT_FOUND", Message: "Edit run not found", RequestID: "req_hdr"},
		},
		{
			name: "the body's request id wins", status: 404, header: http.Header{"X-Extend-Request-Id": {"req_hdr"}},
			body: `{"code":"NOT_FOUND","message":"x","requestId":"req_body"}`,
			want: APIError{StatusCode: 404, Code: "NOT_FOUND", Message: "x", RequestID: "req_body"},
		},
		{
			name: "proxy html", status: 502,
			body: "<html>\r\n<head><title>502 Bad Gateway</title><script>var x = '<b>';</script></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n<!-- a comment -->\r\n</body>\r\n</html>",
			want: APIError{StatusCode: 502, Excerpt: "502 Bad Gateway 502 Bad Gateway nginx"},
		},
		{
			name: "json without known fields", status: 418, body: `{"teapot": true}`,
			want: APIError{StatusCode: 418, Excerpt: `{"teapot": true}`},
		},
		{
			name: "empty body", status: 503,
			want: APIError{StatusCode: 503},
		},
		{
			name: "control characters in the message", status: 400,
			body: `{"code":"INVALID_REQUEST","message":"bad\nline\u0000two\u202e"}`,
			want: APIError{StatusCode: 400, Code: "INVALID_REQUEST", Message: "bad line two"},
		},
		{
			name: "retry-after as a date", status: 503, header: http.Header{"Retry-After": {now.Add(10 * time.Second).Format(http.TimeFormat)}},
			want: APIError{StatusCode: 503, RetryAfter: 10 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeErrorAt(tt.status, tt.header, []byte(tt.body), now)
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExcerptIsShortAndClean(t *testing.T) {
	long := "<html><body><p>" + strings.Repeat("Service temporarily unavailable &mdash; ", 50) + "</p></body></html>"
	got := excerpt([]byte(long))
	if n := utf8.RuneCountInString(got); n > excerptLen+1 {
		t.Errorf("excerpt has %d characters", n)
	}
	if !strings.HasSuffix(got, "…") || strings.ContainsAny(got, "<>\n") || strings.Contains(got, "&mdash;") {
		t.Errorf("excerpt = %q", got)
	}
	if got := excerpt([]byte("\xff\xfeplain\ttext  \x1b[31m")); got != "plain text [31m" {
		t.Errorf("excerpt = %q", got)
	}
}

func TestAPIErrorMatchesSentinels(t *testing.T) {
	sentinels := []error{ErrUnauthorized, ErrPaymentRequired, ErrForbidden, ErrNotFound, ErrRateLimited, ErrInvalidRequest, ErrServer}
	tests := []struct {
		status int
		code   string
		want   error
	}{
		{401, "", ErrUnauthorized},
		{402, "USAGE_BLOCKED", ErrPaymentRequired},
		{403, "", ErrForbidden},
		{404, "NOT_FOUND", ErrNotFound},
		{429, "RATE_LIMIT_EXCEEDED", ErrRateLimited},
		{400, "", ErrInvalidRequest},
		{422, "INVALID_REQUEST", ErrInvalidRequest},
		{500, "", ErrServer},
		{503, "", ErrServer},
		{409, "NOT_FOUND", ErrNotFound}, // the code speaks when the status does not
		{409, "CONFLICT", nil},
		{200, "", nil},
	}
	for _, tt := range tests {
		err := error(&APIError{StatusCode: tt.status, Code: tt.code})
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tt.want) {
				t.Errorf("%d %s: errors.Is(%v) = %v", tt.status, tt.code, s, got)
			}
		}
		if errors.Is(err, ErrNetwork) {
			t.Errorf("an API error is not a network error")
		}
	}
}

func TestAPIErrorText(t *testing.T) {
	tests := []struct {
		err  APIError
		want string
	}{
		{APIError{Method: "GET", Path: "/edit_runs/edr_1", StatusCode: 404, Code: "NOT_FOUND", Message: "Edit run not found", RequestID: "req_1"},
			"extendapi: GET /edit_runs/edr_1: HTTP 404 NOT_FOUND: Edit run not found (request req_1)"},
		{APIError{StatusCode: 502, Excerpt: "502 Bad Gateway nginx"},
			`extendapi: HTTP 502: non-JSON body: "502 Bad Gateway nginx"`},
		{APIError{StatusCode: 503}, "extendapi: HTTP 503: Service Unavailable"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q\nwant      %q", got, tt.want)
		}
	}
}

func TestNetworkErrorMatches(t *testing.T) {
	cause := errors.New("connection reset by peer")
	err := error(&NetworkError{Method: "GET", Path: "/files", Err: cause})
	if !errors.Is(err, ErrNetwork) || errors.Is(err, ErrTimeout) || !errors.Is(err, cause) {
		t.Errorf("plain network error matches wrongly")
	}
	timeout := error(&NetworkError{Method: "GET", Path: "/files", Timeout: true, Err: cause})
	if !errors.Is(timeout, ErrNetwork) || !errors.Is(timeout, ErrTimeout) || errors.Is(timeout, ErrServer) {
		t.Errorf("timeout matches wrongly")
	}
	if got := timeout.Error(); got != "extendapi: GET /files: timeout: connection reset by peer" {
		t.Errorf("Error() = %q", got)
	}
}
