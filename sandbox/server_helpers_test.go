package sandbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/internal/testenv"
)

// Keys of the test sandboxes.
const (
	testKeyA   = "sk_test_workspace_a"
	testKeyB   = "sk_test_workspace_b"
	testKeyOrg = "sk_test_org"
	testWSA    = "ws_alpha"
	testWSB    = "ws_beta"
)

// testClock is a settable clock for the sandbox and the client.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{now: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testSandbox is a sandbox behind a real HTTP listener.
type testSandbox struct {
	t      testing.TB
	srv    *Server
	http   *httptest.Server
	client *http.Client // its own transport, so idle connections can be closed
}

// startSandbox serves a sandbox with two workspace keys and an organization
// key (unless opts sets keys) and closes everything when the test ends.
func startSandbox(t testing.TB, opts Options) *testSandbox {
	t.Helper()
	if opts.APIKeys == nil {
		opts.APIKeys = map[string]string{testKeyA: testWSA, testKeyB: testWSB, testKeyOrg: OrganizationScope}
	}
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	if opts.retrySchedule == nil {
		opts.retrySchedule = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := &testSandbox{t: t, srv: srv, http: httptest.NewServer(srv), client: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(ts.close)
	return ts
}

// close stops the listener, then the sandbox, and drops idle connections.
func (ts *testSandbox) close() {
	ts.http.Close()
	if err := ts.srv.Close(); err != nil {
		ts.t.Errorf("Close: %v", err)
	}
	ts.client.CloseIdleConnections()
}

// api is an extendapi client for key (and workspace header ws) with no
// client-side rate limit and no retries, so tests see every answer.
func (ts *testSandbox) api(key, ws string) *extendapi.Client {
	ts.t.Helper()
	opts := []extendapi.Option{
		extendapi.WithBaseURL(ts.http.URL),
		extendapi.WithHTTPClient(ts.client),
		extendapi.WithLimiter(extendapi.NewUnlimitedLimiter()),
		extendapi.WithRetryPolicy(extendapi.RetryPolicy{MaxAttempts: 1}),
	}
	if ws != "" {
		opts = append(opts, extendapi.WithWorkspace(ws))
	}
	c, err := extendapi.New(extendapi.APIKey(key), opts...)
	if err != nil {
		ts.t.Fatalf("extendapi.New: %v", err)
	}
	return c
}

// raw sends a request by hand, for what the client will not send.
func (ts *testSandbox) raw(method, path string, headers map[string]string, body []byte) (*http.Response, []byte) {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.http.URL+path, bytes.NewReader(body))
	if err != nil {
		ts.t.Fatalf("request: %v", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("read body: %v", err)
	}
	return resp, data
}

// authHeaders are the headers of a well-formed request with key.
func authHeaders(key string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + key, extendapi.HeaderAPIVersion: extendapi.APIVersion}
}

// uploadFile stores data as a file through the API.
func uploadFile(t testing.TB, c *extendapi.Client, name string, data []byte, password string) *extendapi.File {
	t.Helper()
	f, err := c.UploadFile(context.Background(), extendapi.UploadFileParams{Name: name, Body: bytes.NewReader(data), Password: password})
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return f
}

// waitRun polls until the run is terminal. Processing happens on real
// worker goroutines, so polling (briefly) is the only way to observe it.
func waitRun(t testing.TB, c *extendapi.Client, id string) *extendapi.EditRun {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		run, err := c.GetEditRun(context.Background(), id)
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		if run.Status.Terminal() {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s after 60s", id, run.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// demoForm returns a demo form by name, or the first one.
func demoForm(t testing.TB, name string) DemoForm {
	t.Helper()
	forms, err := DemoForms()
	if err != nil {
		t.Fatalf("DemoForms: %v", err)
	}
	for _, f := range forms {
		if f.Name == name || name == "" {
			return f
		}
	}
	t.Fatalf("no demo form %q", name)
	return DemoForm{}
}

// fixturePath finds a real-world form or skips the test.
func fixturePath(t testing.TB, name string) string {
	t.Helper()
	return testenv.Fixture(t, name)
}

// asAPIError unwraps an *extendapi.APIError or fails.
func asAPIError(t testing.TB, err error) *extendapi.APIError {
	t.Helper()
	var ae *extendapi.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *extendapi.APIError", err, err)
	}
	return ae
}

// download GETs a presigned URL.
func (ts *testSandbox) download(url string) (int, []byte) {
	ts.t.Helper()
	resp, err := ts.client.Get(url)
	if err != nil {
		ts.t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("read: %v", err)
	}
	return resp.StatusCode, data
}
