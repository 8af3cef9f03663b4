package extendapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose Sleep returns at once after moving time
// forward, recording every wait.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	if d > 0 {
		f.now = f.now.Add(d)
	}
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// seenRequest is what the fake API received.
type seenRequest struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	At       time.Time // on the fake clock, when there is one
}

// reply is one scripted answer of the fake API.
type reply struct {
	Status int
	Header map[string]string
	Body   string
	// Do, when set, handles the request instead (hijack, hang, …).
	Do func(w http.ResponseWriter, r *http.Request)
}

// fakeAPI answers with a script, one reply per request; the last reply
// repeats once the script is exhausted.
type fakeAPI struct {
	t      *testing.T
	clock  *fakeClock
	srv    *httptest.Server
	mu     sync.Mutex
	seen   []seenRequest
	script []reply
}

func newFakeAPI(t *testing.T, clock *fakeClock, script ...reply) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, clock: clock, script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := len(f.seen) + 1
	rep := reply{Status: http.StatusOK, Body: `{}`}
	if len(f.script) > 0 {
		rep = f.script[min(n, len(f.script))-1]
	}
	f.mu.Unlock()

	var body []byte
	if rep.Do == nil { // a Do handler reads the body itself
		body, _ = io.ReadAll(r.Body)
	}
	seen := seenRequest{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
	if f.clock != nil {
		seen.At = f.clock.Now()
	}
	f.mu.Lock()
	f.seen = append(f.seen, seen)
	f.mu.Unlock()
	if rep.Do != nil {
		rep.Do(w, r)
		return
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	w.WriteHeader(rep.Status)
	_, _ = io.WriteString(w, rep.Body)
}

func (f *fakeAPI) Requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

const testKey APIKey = "sk_test_0123456789abcdef"

// newTestClient builds a client against f with no client-side rate limit
// and the fake clock, plus opts.
func newTestClient(t *testing.T, f *fakeAPI, opts ...Option) *Client {
	t.Helper()
	base := []Option{WithBaseURL(f.srv.URL), WithLimiter(NewUnlimitedLimiter())}
	if f.clock != nil {
		base = append(base, WithClock(f.clock))
	}
	c, err := New(testKey, append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }
