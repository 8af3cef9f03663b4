package extendapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	bodyRateLimited = `{"code":"RATE_LIMIT_EXCEEDED","message":"Too many requests","retryable":true,"requestId":"req_429"}`
	bodyServer      = `{"code":"INTERNAL_ERROR","message":"Something went wrong","retryable":true}`
	bodyRunOK       = `{"object":"edit_run","id":"edr_1","status":"PROCESSING","file":{"object":"file","id":"file_1","name":"a.pdf"}}`
)

func TestRetryAfterIsHonoured(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(t, clock,
		reply{Status: 429, Header: map[string]string{"Retry-After": "2"}, Body: bodyRateLimited},
		reply{Body: bodyRunOK})
	c := newTestClient(t, api)
	if _, err := c.GetEditRun(context.Background(), "edr_1"); err != nil {
		t.Fatalf("GetEditRun: %v", err)
	}
	reqs := api.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 2*time.Second {
		t.Errorf("second try came %v after the first, want at least 2s", gap)
	}
}

func TestServerDelayForms(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{"http date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{"date in the past", http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, 0},
		{"reset epoch", http.Header{"X-Ratelimit-Reset": {strconv.FormatInt(now.Add(5*time.Second).Unix(), 10)}}, 5 * time.Second},
		{"reset delta", http.Header{"X-Ratelimit-Reset": {"3"}}, 3 * time.Second},
		{"retry-after wins", http.Header{"Retry-After": {"1"}, "X-Ratelimit-Reset": {"9"}}, time.Second},
		{"garbage", http.Header{"Retry-After": {"soon"}, "X-Ratelimit-Reset": {"-4"}}, 0},
		{"huge", http.Header{"Retry-After": {"1e300"}}, maxServerDelay},
		{"none", http.Header{}, 0},
	}
	for _, tt := range tests {
		if got := serverDelay(tt.header, now); got != tt.want {
			t.Errorf("%s: serverDelay = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRateLimitResetHeaderIsHonoured(t *testing.T) {
	clock := newFakeClock()
	reset := strconv.FormatInt(clock.Now().Add(4*time.Second).Unix(), 10)
	api := newFakeAPI(t, clock,
		reply{Status: 429, Header: map[string]string{"X-RateLimit-Reset": reset}, Body: bodyRateLimited},
		reply{Body: bodyRunOK})
	c := newTestClient(t, api)
	if _, err := c.GetEditRun(context.Background(), "edr_1"); err != nil {
		t.Fatal(err)
	}
	reqs := api.Requests()
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 4*time.Second {
		t.Errorf("gap %v, want at least 4s", gap)
	}
}

func TestBackoffThenSuccess(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(t, clock,
		reply{Status: 503, Body: bodyServer},
		reply{Status: 503, Body: `<html>Service Unavailable</html>`},
		reply{Body: bodyRunOK})
	c := newTestClient(t, api)
	run, err := c.GetEditRun(context.Background(), "edr_1")
	if err != nil || run.ID != "edr_1" {
		t.Fatalf("GetEditRun = %v, %v", run, err)
	}
	if n := len(api.Requests()); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	sleeps := clock.Sleeps()
	if len(sleeps) != 2 {
		t.Fatalf("sleeps = %v, want 2", sleeps)
	}
	if sleeps[0] == sleeps[1] {
		t.Errorf("delays are identical (%v): no jitter or no backoff", sleeps)
	}
	p := DefaultRetryPolicy()
	if sleeps[0] >= p.BaseDelay || sleeps[1] >= 2*p.BaseDelay {
		t.Errorf("delays %v exceed the backoff ceilings %v, %v", sleeps, p.BaseDelay, 2*p.BaseDelay)
	}
}

func TestBackoffCeilingsDouble(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: 500 * time.Millisecond}.withDefaults()
	for tries, want := range map[int]time.Duration{1: 100, 2: 200, 3: 400, 4: 500, 40: 500} {
		// jitter just under 1 gives (almost) the ceiling
		got := p.delay(tries, 0, 0.999999)
		if got > want*time.Millisecond || got < want*time.Millisecond*99/100 {
			t.Errorf("delay after try %d = %v, want ceiling %vms", tries, got, want)
		}
	}
	if got := p.delay(1, 3*time.Second, 0); got != 3*time.Second {
		t.Errorf("server delay must be honoured in full: %v", got)
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	for _, status := range []int{400, 401, 402, 403, 404, 422} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			clock := newFakeClock()
			api := newFakeAPI(t, clock, reply{Status: status, Body: `{"code":"X","message":"no"}`})
			c := newTestClient(t, api)
			_, err := c.GetEditRun(context.Background(), "edr_1")
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
				t.Fatalf("err = %v", err)
			}
			if n := len(api.Requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			if s := clock.Sleeps(); len(s) != 0 {
				t.Errorf("slept %v", s)
			}
		})
	}
}

func TestCreateIsNotRetriedOnServerError(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			clock := newFakeClock()
			api := newFakeAPI(t, clock, reply{Status: status, Body: bodyServer}, reply{Body: bodyRunOK})
			c := newTestClient(t, api)
			_, err := c.CreateEditRun(context.Background(), &CreateEditRunRequest{File: &FileRef{ID: "file_1"}})
			if !errors.Is(err, ErrServer) {
				t.Fatalf("err = %v, want ErrServer", err)
			}
			if n := len(api.Requests()); n != 1 {
				t.Errorf("a create that got %d was sent %d times: it may start duplicate runs", status, n)
			}
		})
	}
}

func TestCreateIsRetriedOn429(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(t, clock,
		reply{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: bodyRateLimited},
		reply{Body: bodyRunOK})
	c := newTestClient(t, api)
	if _, err := c.CreateEditRun(context.Background(), &CreateEditRunRequest{File: &FileRef{ID: "file_1"}}); err != nil {
		t.Fatal(err)
	}
	reqs := api.Requests()
	if len(reqs) != 2 || string(reqs[0].Body) != string(reqs[1].Body) || len(reqs[1].Body) == 0 {
		t.Fatalf("want the same body sent twice, got %d requests", len(reqs))
	}
}

// refusingDialer fails the first n dials with a genuine connection-refused
// dial error, then dials for real.
func refusingDialer(n int32) (*http.Client, *atomic.Int32) {
	var dials atomic.Int32
	d := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) <= n {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: syscall.ECONNREFUSED.Error(), Addr: addr}}
		}
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Transport: tr}, &dials
}

func TestCreateIsRetriedWhenItNeverLeft(t *testing.T) {
	clock := newFakeClock()
	api := newFakeAPI(t, clock, reply{Body: bodyRunOK})
	hc, dials := refusingDialer(1)
	c := newTestClient(t, api, WithHTTPClient(hc))
	if _, err := c.CreateEditRun(context.Background(), &CreateEditRunRequest{File: &FileRef{ID: "file_1"}}); err != nil {
		t.Fatalf("a create whose connection was refused must be retried: %v", err)
	}
	if dials.Load() != 2 || len(api.Requests()) != 1 {
		t.Errorf("dials %d, requests %d; want 2 and 1", dials.Load(), len(api.Requests()))
	}
}

func TestCreateIsNotRetriedAfterTheServerSawIt(t *testing.T) {
	clock := newFakeClock()
	// The server reads the request, then drops the connection without an
	// answer: the run may well have started.
	dropAfterReading := reply{Do: func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}}
	t.Run("create", func(t *testing.T) {
		api := newFakeAPI(t, clock, dropAfterReading, reply{Body: bodyRunOK})
		c := newTestClient(t, api)
		_, err := c.CreateEditRun(context.Background(), &CreateEditRunRequest{File: &FileRef{ID: "file_1"}})
		if !errors.Is(err, ErrNetwork) {
			t.Fatalf("err = %v, want ErrNetwork", err)
		}
		if n := len(api.Requests()); n != 1 {
			t.Errorf("sent %d times, want once", n)
		}
	})
	t.Run("get is retried", func(t *testing.T) {
		api := newFakeAPI(t, clock, dropAfterReading, reply{Body: bodyRunOK})
		c := newTestClient(t, api)
		if _, err := c.GetEditRun(context.Background(), "edr_1"); err != nil {
			t.Fatal(err)
		}
		if n := len(api.Requests()); n != 2 {
			t.Errorf("sent %d times, want 2", n)
		}
	})
}

func TestDeleteCountsA404AfterAnAmbiguousTryAsDone(t *testing.T) {
	notFound := reply{Status: 404, Body: `{"code":"NOT_FOUND","message":"Edit run not found"}`}
	tests := []struct {
		name    string
		first   reply
		wantErr error
	}{
		{"after 503", reply{Status: 503, Body: bodyServer}, nil},
		{"after 429 the server did nothing", reply{Status: 429, Body: bodyRateLimited}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, newFakeClock(), tt.first, notFound)
			c := newTestClient(t, api)
			err := c.DeleteEditRun(context.Background(), "edr_1")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if n := len(api.Requests()); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
	t.Run("first try 404", func(t *testing.T) {
		api := newFakeAPI(t, newFakeClock(), notFound)
		c := newTestClient(t, api)
		if err := c.DeleteEditRun(context.Background(), "edr_1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestRetryBudget(t *testing.T) {
	t.Run("attempts", func(t *testing.T) {
		clock := newFakeClock()
		api := newFakeAPI(t, clock, reply{Status: 500, Body: bodyServer})
		c := newTestClient(t, api, WithRetryPolicy(RetryPolicy{MaxAttempts: 3}))
		if _, err := c.GetEditRun(context.Background(), "edr_1"); !errors.Is(err, ErrServer) {
			t.Fatalf("err = %v", err)
		}
		if n := len(api.Requests()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("a Retry-After past the time budget returns at once", func(t *testing.T) {
		clock := newFakeClock()
		api := newFakeAPI(t, clock, reply{Status: 429, Header: map[string]string{"Retry-After": "120"}, Body: bodyRateLimited})
		c := newTestClient(t, api, WithRetryPolicy(RetryPolicy{MaxElapsed: 30 * time.Second}))
		_, err := c.ListEditRuns(context.Background(), ListEditRunsParams{})
		var apiErr *APIError
		if !errors.As(err, &apiErr) || !errors.Is(err, ErrRateLimited) || apiErr.RetryAfter != 120*time.Second {
			t.Fatalf("err = %#v", err)
		}
		if n, s := len(api.Requests()), clock.Sleeps(); n != 1 || len(s) != 0 {
			t.Errorf("%d requests and sleeps %v, want 1 and none", n, s)
		}
	})
	t.Run("MaxAttempts 1 disables retries", func(t *testing.T) {
		api := newFakeAPI(t, newFakeClock(), reply{Status: 503, Body: bodyServer})
		c := newTestClient(t, api, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		_, _ = c.GetEditRun(context.Background(), "edr_1")
		if n := len(api.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

func TestServerRetryableHintRetriesIdempotentCalls(t *testing.T) {
	api := newFakeAPI(t, newFakeClock(),
		reply{Status: 409, Body: `{"code":"CONFLICT","message":"busy","retryable":true}`},
		reply{Body: bodyRunOK})
	c := newTestClient(t, api)
	if _, err := c.GetEditRun(context.Background(), "edr_1"); err != nil {
		t.Fatal(err)
	}
	if n := len(api.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestPerAttemptTimeoutIsANetworkTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hang := reply{Do: func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: only then does net/http notice the client
		// hanging up and cancel r.Context().
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}}
	api := newFakeAPI(t, newFakeClock(), hang, reply{Body: bodyRunOK})
	c := newTestClient(t, api, WithTimeout(50*time.Millisecond))
	t.Run("get retries after a timeout", func(t *testing.T) {
		if _, err := c.GetEditRun(context.Background(), "edr_1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("create reports it", func(t *testing.T) {
		api := newFakeAPI(t, newFakeClock(), hang)
		c := newTestClient(t, api, WithTimeout(50*time.Millisecond))
		_, err := c.CreateEditRun(context.Background(), &CreateEditRunRequest{File: &FileRef{ID: "f"}})
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrNetwork) {
			t.Fatalf("err = %v, want ErrTimeout and ErrNetwork", err)
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			t.Errorf("a timeout is not an API error")
		}
		if n := len(api.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

func TestCancellationStopsAtOnce(t *testing.T) {
	t.Run("during a backoff wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		api := newFakeAPI(t, nil, reply{Do: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "20")
			w.WriteHeader(http.StatusServiceUnavailable)
			cancel() // the caller gives up while the client would wait 20 s
		}})
		c := newTestClient(t, api, WithRetryPolicy(RetryPolicy{MaxElapsed: time.Minute}))
		start := time.Now()
		_, err := c.GetEditRun(ctx, "edr_1")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("returned after %v", d)
		}
		if n := len(api.Requests()); n != 1 {
			t.Errorf("%d requests after cancel, want 1", n)
		}
	})
	t.Run("during a request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		arrived := make(chan struct{})
		api := newFakeAPI(t, nil, reply{Do: func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-r.Context().Done()
		}})
		c := newTestClient(t, api)
		go func() { <-arrived; cancel() }()
		start := time.Now()
		_, err := c.GetEditRun(ctx, "edr_1")
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNetwork) {
			t.Fatalf("err = %v, want context.Canceled and not a network error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("returned after %v", d)
		}
	})
	t.Run("before anything", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		api := newFakeAPI(t, nil)
		c := newTestClient(t, api)
		if _, err := c.GetEditRun(ctx, "edr_1"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if n := len(api.Requests()); n != 0 {
			t.Errorf("%d requests", n)
		}
	})
}
