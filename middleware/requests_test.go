package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
)

var requestIDPattern = regexp.MustCompile(`^ew_[0-9a-f]{20}$`)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		clientID string
	}{
		{"no client ID", ""},
		{"client sends its own ID", "client-chosen-id"},
		{"client sends an ID shaped like ours", "ew_00000000000000000000"},
	}
	e := newCatchingEcho()
	e.Use(RequestID())
	var seen string
	e.GET("/ew/runs", func(c echo.Context) error {
		seen = RequestIDOf(c)
		return c.NoContent(http.StatusOK)
	})
	ids := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/ew/runs", nil)
			if tt.clientID != "" {
				req.Header.Set(HeaderRequestID, tt.clientID)
			}
			rec, err := e.serve(req)
			if err != nil {
				t.Fatal(err)
			}
			sent := rec.Header().Get(HeaderRequestID)
			if !requestIDPattern.MatchString(seen) {
				t.Fatalf("RequestIDOf = %q, want ew_ and 20 hex digits", seen)
			}
			if sent != seen {
				t.Errorf("X-Request-Id sent %q, handler saw %q", sent, seen)
			}
			if seen == tt.clientID {
				t.Errorf("the client's X-Request-Id %q was used", tt.clientID)
			}
			if ids[seen] {
				t.Errorf("request ID %q given twice", seen)
			}
			ids[seen] = true
		})
	}
	if got := RequestIDOf(echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())); got != "" {
		t.Errorf("RequestIDOf without the layer = %q, want empty", got)
	}
}

// logRecords decodes the JSON lines a slog JSON handler wrote.
func logRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var records []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		records = append(records, rec)
	}
	return records
}

func newJSONLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var errPanicCause = errors.New("nil map write")

func TestRecover(t *testing.T) {
	tests := []struct {
		name      string
		panicWith any
		wantErr   string
		wantCause error
	}{
		{"panic with an error", errPanicCause, "panic: nil map write", errPanicCause},
		{"panic with a string", "index out of range", "panic: index out of range", nil},
		{"panic with a number", 42, "panic: 42", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged bytes.Buffer
			e := newCatchingEcho()
			e.Use(RequestID(), Recover(newJSONLogger(&logged)))
			e.GET("/ew/runs", func(c echo.Context) error { panic(tt.panicWith) })
			rec, err := e.serve(httptest.NewRequest(http.MethodGet, "/ew/runs?q=1", nil))
			if err == nil {
				t.Fatal("the panic did not reach the error handler as an error")
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error text %q, want %q", err.Error(), tt.wantErr)
			}
			if strings.Contains(err.Error(), "goroutine") || strings.Contains(err.Error(), ".go:") {
				t.Errorf("error text carries the stack: %q", err.Error())
			}
			if tt.wantCause != nil && !errors.Is(err, tt.wantCause) {
				t.Errorf("error %v does not wrap the panic's error", err)
			}
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("status %d, want 500", rec.Code)
			}
			records := logRecords(t, &logged)
			if len(records) != 1 {
				t.Fatalf("%d log records, want 1: %s", len(records), logged.String())
			}
			r := records[0]
			stack, _ := r["stack"].(string)
			if !strings.Contains(stack, "goroutine ") || !strings.Contains(stack, "requests_test.go") {
				t.Errorf("logged stack does not show the panicking handler: %.300q", stack)
			}
			got := map[string]any{"level": r["level"], "msg": r["msg"], "path": r["path"], "err": r["err"], "request_id": r["request_id"]}
			want := map[string]any{"level": "ERROR", "msg": "panic in handler", "path": "/ew/runs",
				"err": strings.TrimPrefix(tt.wantErr, "panic: "), "request_id": rec.Header().Get(HeaderRequestID)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("log record (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecoverPassesErrorsAndAborts(t *testing.T) {
	var logged bytes.Buffer
	mw := Recover(newJSONLogger(&logged))
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())

	plain := errors.New("plain handler error")
	if err := mw(func(echo.Context) error { return plain })(c); err != plain {
		t.Errorf("a returned error became %v, want it unchanged", err)
	}
	if logged.Len() != 0 {
		t.Errorf("a returned error was logged as a panic: %s", logged.String())
	}

	// http.ErrAbortHandler is how a handler aborts the response on purpose:
	// net/http must still see it.
	func() {
		defer func() {
			if r := recover(); r != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler to panic on", r)
			}
		}()
		_ = mw(func(echo.Context) error { panic(http.ErrAbortHandler) })(c)
	}()
}

func TestAccessLog(t *testing.T) {
	quietPrefix := "/ew/static/"
	tests := []struct {
		name       string
		quiet      bool // the layer is given a quiet function
		target     string
		handler    echo.HandlerFunc
		wantStatus int
		wantLevel  string
	}{
		{"success", true, "/ew/runs?key=sk_live_SECRET&page=2", func(c echo.Context) error { return c.String(http.StatusOK, "ok") }, http.StatusOK, "INFO"},
		{"handler error gets the error page's status", true, "/ew/runs?key=sk_live_SECRET", func(c echo.Context) error {
			return echo.NewHTTPError(http.StatusNotFound, "no such run")
		}, http.StatusNotFound, "INFO"},
		{"refusal gets its status", true, "/ew/runs?key=sk_live_SECRET", func(c echo.Context) error {
			return &Refusal{Status: http.StatusTooManyRequests, Heading: "Slow down"}
		}, http.StatusTooManyRequests, "INFO"},
		{"quiet request at debug level", true, "/ew/static/app.css?v=sk_live_SECRET", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, http.StatusOK, "DEBUG"},
		{"no quiet function", false, "/ew/static/app.css?v=sk_live_SECRET", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, http.StatusOK, "INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged bytes.Buffer
			var quiet func(echo.Context) bool
			if tt.quiet {
				quiet = func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, quietPrefix) }
			}
			e := newCatchingEcho()
			e.Use(RequestID(), AccessLog(newJSONLogger(&logged), quiet))
			e.GET("/ew/*", tt.handler)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))

			if rec.Code != tt.wantStatus {
				t.Errorf("response status %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantStatus >= 400 && len(e.caught) != 1 {
				t.Errorf("error handler ran %d times, want once", len(e.caught))
			}
			if strings.Contains(logged.String(), "SECRET") || strings.Contains(logged.String(), "?") {
				t.Errorf("the query string was logged: %s", logged.String())
			}
			records := logRecords(t, &logged)
			if len(records) != 1 {
				t.Fatalf("%d log lines, want 1: %s", len(records), logged.String())
			}
			r := records[0]
			if _, ok := r["duration_ms"].(float64); !ok {
				t.Errorf("no duration_ms in %v", r)
			}
			got := map[string]any{"level": r["level"], "msg": r["msg"], "method": r["method"], "path": r["path"],
				"status": r["status"], "request_id": r["request_id"]}
			want := map[string]any{"level": tt.wantLevel, "msg": "request", "method": "GET",
				"path": strings.SplitN(tt.target, "?", 2)[0], "status": float64(tt.wantStatus),
				"request_id": rec.Header().Get(HeaderRequestID)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("log record (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnless(t *testing.T) {
	guard := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("X-Guarded", "yes")
			return next(c)
		}
	}
	open := func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/ew/_sandbox/") }
	e := newCatchingEcho()
	e.Use(Unless(open, guard))
	e.GET("/ew/*", func(c echo.Context) error { return c.String(http.StatusOK, "handled") })
	tests := []struct {
		path        string
		wantGuarded bool
	}{
		{"/ew/runs", true},
		{"/ew/_sandbox/v1/runs", false},
		{"/ew/_sandboxed", true},
		{"/ew/runs", true}, // the decision is per request, not remembered
	}
	for _, tt := range tests {
		rec, err := e.serve(httptest.NewRequest(http.MethodGet, tt.path, nil))
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if got := rec.Header().Get("X-Guarded") == "yes"; got != tt.wantGuarded {
			t.Errorf("%s: wrapped layer ran = %v, want %v", tt.path, got, tt.wantGuarded)
		}
		if rec.Body.String() != "handled" {
			t.Errorf("%s: handler did not run (body %q)", tt.path, rec.Body.String())
		}
	}
}
