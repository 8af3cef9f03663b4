package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/extendapi"
)

// syncBuffer is written by the server goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `editwatch --sandbox --base-path /ew/` on a free port and
// returns its base URL and a stop function that waits for the exit code.
func startServe(t *testing.T, dataDir string) (string, func() int) {
	t.Helper()
	return startServeArgs(t, "--sandbox", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--base-path", "/ew/")
}

// startServeArgs runs editwatch with args and waits until it listens.
func startServeArgs(t testing.TB, args ...string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, func(string) string { return "" }, stdout, stderr)
	}()
	// The test may stop the server itself; otherwise the cleanup does,
	// and waits for it: a server still writing to its data directory
	// would make the removal of t.TempDir fail.
	var (
		stopOnce sync.Once
		exitCode int
	)
	stop := func() int {
		stopOnce.Do(func() {
			cancel()
			select {
			case exitCode = <-done:
			case <-time.After(30 * time.Second):
				t.Error("serve did not stop within 30 s")
				exitCode = -1
			}
		})
		return exitCode
	}
	t.Cleanup(func() {
		stop()
		// A failed test shows the end of the server's log: what it did
		// is usually why.
		if t.Failed() {
			log := stderr.String()
			t.Logf("the end of the server's log:\n%s", log[max(0, len(log)-6000):])
		}
	})
	listening := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], stop
		}
		select {
		case code := <-done:
			stopOnce.Do(func() { exitCode = code })
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeSandboxModeEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	base, stop := startServe(t, dataDir)
	if !strings.HasSuffix(base, "/ew/") {
		t.Fatalf("URL %q lacks the base path", base)
	}
	info, err := os.Stat(filepath.Join(dataDir, secretsFileName))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v %v", info, err)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	get := func(p string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get("readyz"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"store":"ok"`) {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	// Connect with what the connect page pre-fills.
	_, page := get("connect")
	d, _ := goquery.NewDocumentFromReader(strings.NewReader(page))
	form := url.Values{}
	d.Find(`form[data-testid="connect-form"] input`).Each(func(_ int, s *goquery.Selection) {
		if name, ok := s.Attr("name"); ok {
			form.Set(name, s.AttrOr("value", ""))
		}
	})
	if form.Get("api_key") != "sk_sandbox_demo" || form.Get("workspace_id") != "ws_demo" {
		t.Fatalf("connect form pre-fills %v", form)
	}
	resp, err := client.PostForm(base+"connect", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	runsResp, runs := get("runs?ws=ws_demo&status=PROCESSED&size=10&sort=createdAt&dir=asc")
	rd, _ := goquery.NewDocumentFromReader(strings.NewReader(runs))
	ids := rd.Find(`[data-testid="run-row"]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("data-run-id", "") })
	if runsResp.StatusCode != http.StatusOK || len(ids) == 0 {
		t.Fatalf("runs after connecting: %d, %d rows", runsResp.StatusCode, len(ids))
	}
	// The download follows a path on this listener to a real PDF.
	pdfResp, pdf := get("runs/" + ids[0] + "/download?ws=ws_demo")
	if pdfResp.StatusCode != http.StatusOK || !strings.HasPrefix(pdf, "%PDF-") ||
		!strings.HasPrefix(pdfResp.Request.URL.Path, "/ew/_sandbox/") {
		t.Fatalf("download: %d from %s", pdfResp.StatusCode, pdfResp.Request.URL)
	}
	// The page reads from Extend or, once the history sync has finished
	// (sooner on a faster machine), from history, which may not reach
	// back as far: compare the sandbox's own runs across the restart.
	oldestRuns := sandboxOldestRuns(t, base)
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}

	// A restart keeps the secrets (so the session and its key still
	// work), the sandbox's runs, and does not seed again.
	base2, stop2 := startServe(t, dataDir)
	jar.SetCookies(mustURL(t, base2), jar.Cookies(mustURL(t, base)))
	base = base2
	resp2, runs2 := get("runs?ws=ws_demo&status=PROCESSED&size=10&sort=createdAt&dir=asc")
	rd2, _ := goquery.NewDocumentFromReader(strings.NewReader(runs2))
	if n := rd2.Find(`[data-testid="run-row"]`).Length(); resp2.StatusCode != http.StatusOK || n == 0 {
		t.Errorf("runs after restart: %d, %d rows", resp2.StatusCode, n)
	}
	if again := sandboxOldestRuns(t, base); !slices.Equal(again, oldestRuns) {
		t.Errorf("the sandbox's oldest processed runs after restart: %v, want %v", again, oldestRuns)
	}
	if code := stop2(); code != 0 {
		t.Fatalf("exit code %d after restart", code)
	}
}

// sandboxOldestRuns lists the oldest processed runs of the demo workspace
// straight from the sandbox of the dashboard at base.
func sandboxOldestRuns(t *testing.T, base string) []string {
	t.Helper()
	c, err := extendapi.New(extendapi.APIKey("sk_sandbox_demo"), extendapi.WithBaseURL(base+"_sandbox"),
		extendapi.WithWorkspace("ws_demo"), extendapi.WithLimiter(nil))
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.ListEditRuns(context.Background(), extendapi.ListEditRunsParams{Status: extendapi.StatusProcessed,
		SortBy: extendapi.SortByCreatedAt, SortDir: extendapi.SortAsc, MaxPageSize: 10})
	if err != nil {
		t.Fatalf("list the sandbox's runs: %v", err)
	}
	ids := make([]string, len(page.Data))
	for i, run := range page.Data {
		ids[i] = run.ID
	}
	if len(ids) == 0 {
		t.Fatal("the sandbox lists no processed run")
	}
	return ids
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestEnsureSandboxSecrets(t *testing.T) {
	given := bytes.Repeat([]byte{7}, 32)
	dir := t.TempDir()
	cfg := config.Serve{Sandbox: true, DataDir: dir, SessionKeys: [][]byte{given}}
	generated, err := ensureSandboxSecrets(&cfg)
	if err != nil || !generated {
		t.Fatalf("first start: generated %v, %v", generated, err)
	}
	if !bytes.Equal(cfg.SessionKeys[0], given) || len(cfg.EncryptionKeys) != 1 || len(cfg.EncryptionKeys[0]) != 32 {
		t.Fatal("a given key was replaced, or the missing one not filled")
	}
	again := config.Serve{Sandbox: true, DataDir: dir}
	if generated, err := ensureSandboxSecrets(&again); err != nil || generated {
		t.Fatalf("second start: generated %v, %v", generated, err)
	}
	if !bytes.Equal(again.EncryptionKeys[0], cfg.EncryptionKeys[0]) {
		t.Error("the kept encryption key changed between starts")
	}
	outside := config.Serve{DataDir: t.TempDir()}
	if generated, err := ensureSandboxSecrets(&outside); err != nil || generated || outside.SessionKeys != nil {
		t.Error("keys were generated outside sandbox mode")
	}
}

func TestLoopbackAndListenAddresses(t *testing.T) {
	for _, tt := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 80}, "192.0.2.7:80"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 9}, "[::1]:9"},
	} {
		if got := loopbackAddr(tt.addr); got != tt.want {
			t.Errorf("loopbackAddr(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	for listen, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true,
		"0.0.0.0:8080": false, ":8080": false, "192.0.2.7:80": false,
	} {
		if got := isLoopbackListen(listen); got != want {
			t.Errorf("isLoopbackListen(%q) = %v", listen, got)
		}
	}
}
