package extendapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConnectionsAreReused makes 1,000 sequential calls through the default
// transport, successes and error answers mixed (an error body must be
// drained too), and counts the TCP connections the server saw.
func TestConnectionsAreReused(t *testing.T) {
	bigErrorPage := "<html><body>" + strings.Repeat("<p>upstream unavailable</p>", 4000) + "</body></html>" // ~100 KB
	var calls atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case n%50 == 0:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, bigErrorPage)
		case n%10 == 0:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code":"NOT_FOUND","message":"Edit run not found"}`)
		default:
			_, _ = io.WriteString(w, bodyRunOK)
		}
	}))
	var newConns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	c, err := New(testKey, WithBaseURL(srv.URL), WithLimiter(NewUnlimitedLimiter()), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var failures int
	for range 1000 {
		if _, err := c.GetEditRun(ctx, "edr_1"); err != nil {
			failures++
		}
	}
	if failures != 100 {
		t.Errorf("%d failed calls, want 100", failures)
	}
	t.Logf("1000 GETs used %d TCP connection(s)", newConns.Load())
	if n := newConns.Load(); n > 2 {
		t.Errorf("1000 sequential GETs opened %d connections, want at most 2", n)
	}
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCanaryKeyNeverLeaks drives a canary key through success, 401, 429,
// 5xx, timeout, decode failure and connection failure, with a server that
// echoes the Authorization header back in its answers, and looks for the key
// in every error string and every log line.
func TestCanaryKeyNeverLeaks(t *testing.T) {
	const canary APIKey = "sk_live_CANARY_7f3a9c1e5b2d4f60a8e6"
	const marker = "CANARY_7f3a9c1e"
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch strings.TrimPrefix(r.URL.Path, "/edit_runs/") {
		case "ok":
			_, _ = io.WriteString(w, bodyRunOK)
		case "unauthorized":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"code":"UNAUTHORIZED","message":"Invalid key %s","requestId":"req_1"}`, auth)
		case "limited":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"slow down, %s","retryable":true}}`, auth)
		case "server":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "<html><body><h1>Internal error</h1><pre>headers: Authorization=%s</pre></body></html>", auth)
		case "slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "garbled":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<html>Welcome back %s</html>", auth)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	var jsonLogs, textLogs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&jsonLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	textLogger := slog.New(slog.NewTextHandler(&textLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := newFakeClock()
	opts := []Option{WithLimiter(NewUnlimitedLimiter()), WithClock(clock), WithTimeout(250 * time.Millisecond), WithLogger(logger)}
	c, err := New(canary, append(opts, WithBaseURL(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	down, err := New(canary, append(opts, WithBaseURL(closedURL), WithLogger(textLogger))...)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	var texts []string
	record := func(what string, err error) {
		texts = append(texts, fmt.Sprintf("%s: %v | %+v | %#v | %s | %q", what, err, err, err, err, err))
	}
	for _, id := range []string{"ok", "unauthorized", "limited", "server", "slow", "garbled"} {
		_, err := c.GetEditRun(ctx, id)
		if (id == "ok") != (err == nil) {
			t.Errorf("%s: err = %v", id, err)
		}
		record(id, err)
	}
	_, err = c.CreateEditRun(ctx, &CreateEditRunRequest{File: &FileRef{ID: "file_1"}})
	record("create", err)
	_, err = down.GetEditRun(ctx, "edr_1")
	record("connection refused", err)

	// Printing the client or the key itself, by any route.
	logger.Info("client", "client", c, "key", canary)
	textLogger.Info("client", "client", c, "key", canary)
	texts = append(texts, fmt.Sprintf("%v %+v %#v %s %x %d %q", c, *c, c, canary, canary, canary, canary))

	for _, s := range append(texts, jsonLogs.String(), textLogs.String()) {
		if strings.Contains(s, marker) {
			t.Errorf("the key leaked:\n%s", s)
		}
	}
	if !strings.Contains(jsonLogs.String(), "extend request") || !strings.Contains(jsonLogs.String(), "will be retried") {
		t.Errorf("the test must actually capture the client's logs; got:\n%s", jsonLogs.String())
	}
	if !strings.Contains(texts[1], "Invalid key Bearer "+redactedKey) {
		t.Errorf("the server's message should survive with the key redacted: %s", texts[1])
	}
}
