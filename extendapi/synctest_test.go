package extendapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// pipeListener is an in-memory network: synctest can only advance its fake
// clock while every goroutine is durably blocked, which real sockets never
// are.
type pipeListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

func (l *pipeListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, errors.New("listener closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestRealClockRetryAfterUnderSynctest runs the default clock (no seam) in a
// synctest bubble: a 429 with Retry-After: 2 must make the client wait at
// least two (fake) seconds, and the default PAYG limiter must pace a burst.
func TestRealClockRetryAfterUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newPipeListener()
		var mu sync.Mutex
		var arrivals []time.Time
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			arrivals = append(arrivals, time.Now())
			n := len(arrivals)
			mu.Unlock()
			if n == 1 {
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(bodyRateLimited))
				return
			}
			_, _ = w.Write([]byte(bodyRunOK))
		})}
		go func() { _ = srv.Serve(ln) }()
		hc := &http.Client{Transport: &http.Transport{DialContext: ln.DialContext}}
		defer func() {
			_ = srv.Close()
			hc.CloseIdleConnections()
		}()

		c, err := New(testKey, WithBaseURL("http://extend.test"), WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := c.GetEditRun(context.Background(), "edr_1"); err != nil {
			t.Fatalf("GetEditRun: %v", err)
		}
		mu.Lock()
		gap := arrivals[1].Sub(arrivals[0])
		mu.Unlock()
		if gap < 2*time.Second {
			t.Errorf("retry came %v after the 429, want at least 2s", gap)
		}

		// After the pause, 20 more GETs at PAYG (10/s, burst 2) need about
		// (20-2)/10 s of limiter waits.
		start = time.Now()
		for range 20 {
			if _, err := c.GetEditRun(context.Background(), "edr_1"); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d < 1700*time.Millisecond || d > 2100*time.Millisecond {
			t.Errorf("20 GETs at 10/s took %v, want about 1.8s", d)
		}
	})
}
