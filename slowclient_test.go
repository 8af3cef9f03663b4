package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// startPlainServe runs the dashboard without the sandbox (nothing to seed,
// quick to start) on a loopback port.
func startPlainServe(t *testing.T, extra ...string) (string, func() int) {
	t.Helper()
	sessionKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5e}, 32))
	sealKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xe5}, 32))
	args := append([]string{"--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--session-key", sessionKey, "--encryption-key", sealKey, "--log-level", "error"}, extra...)
	return startServeArgs(t, args...)
}

// trickle is the start of a request whose headers never end in time.
const trickle = "GET /healthz HTTP/1.1\r\nHost: editwatch.test\r\nX-Slow: "

func TestSlowClientsDoNotSlowOthers(t *testing.T) {
	const (
		slowClients = 500
		slowFor     = 3 * time.Second
		probes      = 20
	)
	base, stop := startPlainServe(t)
	addr := mustURL(t, base).Host

	conns := make([]net.Conn, 0, slowClients)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range slowClients {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("dial slow client %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	// One byte a second on every connection, for slowFor.
	stopTrickling := make(chan struct{})
	var trickling sync.WaitGroup
	trickling.Add(1)
	go func() {
		defer trickling.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		deadline := time.After(slowFor)
		for i := 0; ; i++ {
			for _, c := range conns {
				_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				_, _ = c.Write([]byte{trickle[i%len(trickle)]})
			}
			select {
			case <-stopTrickling:
				return
			case <-deadline:
				return
			case <-tick.C:
			}
		}
	}()

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	durations := make([]time.Duration, 0, probes)
	for i := range probes {
		start := time.Now()
		resp, err := client.Get(base + "healthz")
		if err != nil {
			t.Fatalf("health probe %d among %d slow clients: %v", i+1, slowClients, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		durations = append(durations, time.Since(start))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("health probe %d: %d", i+1, resp.StatusCode)
		}
		time.Sleep(slowFor / (2 * probes)) // spread over the trickle
	}
	slices.Sort(durations)
	p50, p95 := durations[probes/2-1], durations[(probes*95+99)/100-1]
	t.Logf("GET /healthz among %d slow clients: p50 %v, p95 %v, max %v", slowClients, p50, p95, durations[probes-1])

	// Every probe was answered while the slow clients were really there:
	// the server still holds them (ReadHeaderTimeout, 10 s, has not run
	// out), so no probe waited for a slow client to be dropped. The
	// timings above are figures, not a test: they follow the machine.
	open := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); errors.Is(err, os.ErrDeadlineExceeded) {
			open++
		}
	}
	if open < slowClients*9/10 {
		t.Errorf("only %d of %d slow clients were still connected", open, slowClients)
	}
	close(stopTrickling)
	trickling.Wait()
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	if code := stop(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

func TestTricklingHeadersAreDropped(t *testing.T) {
	const timeout = 500 * time.Millisecond
	saved := readHeaderTimeout
	readHeaderTimeout = timeout
	t.Cleanup(func() { readHeaderTimeout = saved })
	base, stop := startPlainServe(t)
	addr := mustURL(t, base).Host

	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	done := make(chan struct{})
	defer close(done)
	go func() {
		// A byte every 100 ms until dropped: never idle long, never
		// finished.
		for i := 0; ; i++ {
			if _, err := c.Write([]byte{trickle[i%len(trickle)]}); err != nil {
				return
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	// The server's other timeouts are minutes long: a drop within this
	// deadline, of a client that kept sending, is ReadHeaderTimeout's.
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := io.Copy(io.Discard, c)
	dropped := time.Since(start)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the trickling client was still connected after 30 s")
	}
	t.Logf("trickling client dropped after %v (ReadHeaderTimeout %v), %d bytes answered, %v", dropped, timeout, n, err)
	if dropped < timeout*8/10 {
		t.Errorf("dropped after %v, before the %v of ReadHeaderTimeout", dropped, timeout)
	}

	// A client that sends its headers at once is served by the same server.
	resp, err := http.Get(base + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("normal request: %d", resp.StatusCode)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}
