package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/editwatch/editwatch/store"
)

// The shipped oauth2-proxy configuration; the SSO test runs it as it is.
const oauth2ProxyConfig = "deploy/oauth2-proxy.cfg"

// TestBehindOAuth2Proxy runs Editwatch behind a real oauth2-proxy, started
// with deploy/oauth2-proxy.cfg, with mockoidc as the OIDC provider, and
// drives it in headless Chromium: an admin (whose admin group is not the
// first of its groups) signs in through the provider, sees their e-mail
// and starts a run; Sign out ends the Editwatch session and the next visit
// goes back through the provider, where a viewer signs in and cannot start
// a run, even when its browser sends the admin group itself (the proxy
// replaces such headers). Around the browser: a direct client from
// 127.0.0.2 with the proxy's headers is refused, a signed webhook delivered
// through the proxy passes, and nothing else passes without a login.
// Screenshots of the admin's and the viewer's pages go into
// EDITWATCH_SCREENSHOTS when set (docs/screenshots/sso-*.png).
func TestBehindOAuth2Proxy(t *testing.T) {
	chromium := testenv.Chromium(t)
	proxyBinary := testenv.OAuth2Proxy(t)
	form := testenv.Fixture(t, "sample_form.pdf")
	shots := os.Getenv("EDITWATCH_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The provider, counting the sign-ins it is asked for.
	var authorizations atomic.Int64
	provider := startMockOIDC(t, &authorizations)

	// Editwatch, trusting only the proxy's address. The store is opened
	// first, as the fault tests do, to register a webhook endpoint.
	key := faultKey(t)
	dbPath := filepath.Join(t.TempDir(), "editwatch.db")
	st := openFaultStore(t, dbPath, key)
	endpoint, secret := addFaultEndpoint(t, st)
	proxyPort := freeLoopbackPort(t)
	proxyBase := fmt.Sprintf("http://127.0.0.1:%d/", proxyPort)
	editwatchBase, _ := startServeArgs(t, "--sandbox", "--sandbox-behind-proxy", "--db", dbPath, "--data-dir", t.TempDir(),
		"--listen", "127.0.0.1:0", "--session-key", key, "--encryption-key", key, "--log-level", "warn",
		"--trusted-proxies", "127.0.0.1/32", "--identity-header", "X-Forwarded-Email",
		"--groups-header", "X-Forwarded-Groups", "--admin-groups", "ops-admins", "--viewer-groups", "ops",
		"--sign-out-url", "/oauth2/sign_out?rd=%2F")
	startOAuth2Proxy(t, proxyBinary, proxyPort, editwatchBase, provider)

	t.Run("direct client from another address is refused", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			local  string
			wantOK bool
		}{
			{"from 127.0.0.2", "127.0.0.2", false},
			{"from the proxy's address", "127.0.0.1", true}, // the same request passes from the trusted address
		} {
			client := clientFrom(t, tt.local)
			req, _ := http.NewRequest(http.MethodGet, editwatchBase+"connect", nil)
			req.Header.Set("X-Forwarded-Email", "ada@example.com")
			req.Header.Set("X-Forwarded-Groups", "ops-admins")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			resp.Body.Close()
			if got := resp.StatusCode == http.StatusOK; got != tt.wantOK || (!tt.wantOK && resp.StatusCode != http.StatusUnauthorized) {
				t.Errorf("%s with the proxy's headers: %d, want OK %v (else 401)", tt.name, resp.StatusCode, tt.wantOK)
			}
		}
	})

	t.Run("only the webhook passes without a login", func(t *testing.T) {
		events := faultEvents("sso", 1, nil)
		for i, wantDuplicate := range []bool{false, true} {
			d := deliverEvent(context.Background(), noRedirects(), proxyBase, endpoint, secret, events[0])
			if d.err != nil || d.status != http.StatusOK || d.duplicate != wantDuplicate {
				t.Fatalf("delivery %d through the proxy: %d duplicate %v err %v, want 200 duplicate %v", i+1, d.status, d.duplicate, d.err, wantDuplicate)
			}
		}
		for _, tt := range []struct{ method, path string }{
			{http.MethodGet, ""},
			{http.MethodGet, "runs?ws=ws_demo"},
			{http.MethodGet, "webhooks/extend/" + endpoint},
			{http.MethodPost, "connect"},
			{http.MethodPost, "runs/new"},
			{http.MethodGet, "_sandbox/v1/edit_runs"},
		} {
			req, _ := http.NewRequest(tt.method, proxyBase+tt.path, strings.NewReader(""))
			resp, err := noRedirects().Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.path, err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			toSignIn := resp.StatusCode == http.StatusFound && (strings.HasPrefix(loc, provider.Addr()) || strings.Contains(loc, "/oauth2/"))
			if !toSignIn && resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s without a login: %d (Location %q); want the proxy's sign-in or refusal", tt.method, tt.path, resp.StatusCode, loc)
			}
		}
	})

	b := newSSOBrowser(t, chromium, shots)
	admin := &mockoidc.MockUser{Subject: "ada", Email: "ada@example.com", EmailVerified: true,
		PreferredUsername: "ada", Groups: []string{"ops", "ops-admins"}}
	viewer := &mockoidc.MockUser{Subject: "bob", Email: "bob@example.com", EmailVerified: true,
		PreferredUsername: "bob", Groups: []string{"ops"}}

	// The admin signs in through the provider and connects the demo
	// workspace.
	provider.QueueUser(admin)
	before := authorizations.Load()
	b.do("open Editwatch through the proxy", chromedp.Navigate(proxyBase))
	b.waitFor("signed in as the admin", `document.querySelector('[data-testid=user]')?.textContent.trim() === 'ada@example.com'`, 30*time.Second)
	if got := authorizations.Load() - before; got != 1 {
		t.Fatalf("the provider was asked %d times to sign the admin in, want 1", got)
	}
	b.do("connect", chromedp.Click(chromedp.CSS(`[data-testid=connect-submit]`)))
	b.waitFor("runs table", `document.querySelectorAll('[data-testid=run-row]').length > 0`, 30*time.Second)

	// The admin starts a run.
	b.do("new run page", chromedp.Navigate(proxyBase+"runs/new?ws=ws_demo"))
	b.waitFor("new run form", `!!document.querySelector('[data-testid=file-input]') && !document.querySelector('[data-testid=start-run]').disabled`, 20*time.Second)
	b.do("start a run",
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=file-input]`), []string{form}),
		chromedp.SetValue(chromedp.CSS(`[data-testid=instructions-input]`), "Name_First: Ada"),
		chromedp.Click(chromedp.CSS(`[data-testid=start-run]`)))
	b.waitFor("the new run's page", `!!document.querySelector('[data-testid=run-header]')`, 30*time.Second)
	b.waitFor("the run to finish, with the admin's act buttons", `Array.from(document.querySelectorAll('[data-testid=status-badge]')).some(s => s.textContent.trim() === 'Processed') && !!document.querySelector('[data-testid=action-delete]')`, 60*time.Second)
	b.screenshot("sso-admin")

	// Sign out: the Editwatch session ends, the proxy's sign-out clears
	// its cookie, and the next visit goes back through the provider, which
	// now signs the viewer in.
	provider.QueueUser(viewer)
	before = authorizations.Load()
	b.do("sign out", chromedp.Click(chromedp.CSS(`[data-testid=sign-out]`)))
	b.waitFor("signed in again as the viewer", `document.querySelector('[data-testid=user]')?.textContent.trim() === 'bob@example.com'`, 30*time.Second)
	if got := authorizations.Load() - before; got != 1 {
		t.Fatalf("after Sign out the provider was asked %d times, want 1 (the next visit goes through it)", got)
	}
	if b.eval(`String(!!document.querySelector('[data-testid=connect-submit]') && !document.querySelector('[data-testid=disconnect-form]'))`) != "true" {
		t.Fatalf("after Sign out the workspace is still connected: %s", b.eval(`location.href`))
	}
	// The admin's key went with the Editwatch session, as Disconnect
	// deletes one.
	entries, _, err := st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditDisconnect})
	if err != nil || len(entries) != 1 || entries[0].Actor != admin.Email || !strings.Contains(entries[0].Detail, "sign-out") {
		t.Fatalf("audit of the keys deleted at sign-out: %+v %v", entries, err)
	}

	// The viewer sees the runs but cannot act.
	b.do("connect as the viewer", chromedp.Click(chromedp.CSS(`[data-testid=connect-submit]`)))
	b.waitFor("runs table", `document.querySelectorAll('[data-testid=run-row] [data-testid=run-link]').length > 0`, 30*time.Second)
	b.do("open a run", chromedp.Click(chromedp.CSS(`[data-testid=run-row] [data-testid=run-link]`)))
	b.waitFor("run page", `!!document.querySelector('[data-testid=run-header]') && document.readyState === 'complete'`, 30*time.Second)
	if got := b.eval(`['action-delete', 'action-rerun'].filter(id => document.querySelector('[data-testid=' + id + ']')).join(',')`); got != "" {
		t.Errorf("the viewer is offered %s", got)
	}
	b.screenshot("sso-viewer")
	// The proxy replaces identity headers a browser sends itself: a viewer
	// claiming another e-mail and the admin group is still the viewer.
	claimed := b.eval(`fetch('/runs/new?ws=ws_demo', {headers: {'X-Forwarded-Email': 'eve@example.com', 'X-Forwarded-Groups': 'ops-admins'}})`+
		`.then(async r => { const d = new DOMParser().parseFromString(await r.text(), 'text/html');`+
		` return r.status + ' ' + d.querySelector('[data-testid=user]')?.textContent.trim() + ' disabled=' + d.querySelector('[data-testid=start-run]')?.disabled })`,
		chromedp.EvalAwaitPromise)
	if want := "200 bob@example.com disabled=true"; claimed != want {
		t.Errorf("the viewer's own identity headers through the proxy: %q, want %q", claimed, want)
	}
	b.do("new run page as the viewer", chromedp.Navigate(proxyBase+"runs/new?ws=ws_demo"))
	b.waitFor("new run form, start disabled", `!!document.querySelector('[data-testid=start-run]') && document.querySelector('[data-testid=start-run]').disabled`, 20*time.Second)
	// The button is only a hint: the server refuses the viewer's upload.
	b.do("force the form",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=start-run]').disabled = false`),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=file-input]`), []string{form}),
		chromedp.SetValue(chromedp.CSS(`[data-testid=instructions-input]`), "Name_First: Bob"),
		chromedp.Click(chromedp.CSS(`[data-testid=start-run]`)))
	b.waitFor("the server's refusal", `!!document.querySelector('[data-testid=error-page]') && /viewer/i.test(document.body.innerText)`, 30*time.Second)
	b.noScriptErrors()
	t.Logf("screenshots in %s", shots)
}

// startMockOIDC starts the provider on loopback, counting authorization
// requests into authorizations.
func startMockOIDC(t *testing.T, authorizations *atomic.Int64) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint {
				authorizations.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// startOAuth2Proxy runs oauth2-proxy with the shipped configuration file;
// flags override only the provider's addresses, the credentials, the ports
// and cookie_secure (the test speaks plain http). It returns once the proxy
// answers its /ping.
func startOAuth2Proxy(t *testing.T, binary string, port int, upstream string, provider *mockoidc.MockOIDC) {
	t.Helper()
	cookieSecret := make([]byte, 32)
	if _, err := rand.Read(cookieSecret); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary,
		"--config", oauth2ProxyConfig,
		"--http-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--upstream", upstream,
		"--oidc-issuer-url", provider.Issuer(),
		"--redirect-url", base+"/oauth2/callback",
		"--client-id", provider.ClientID,
		"--client-secret", provider.ClientSecret,
		"--cookie-secret", base64.RawURLEncoding.EncodeToString(cookieSecret),
		"--cookie-secure=false")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start oauth2-proxy: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("oauth2-proxy output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("oauth2-proxy exited (%v):\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("oauth2-proxy does not answer on %s/ping: %v\n%s", base, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeLoopbackPort returns a port free a moment ago: oauth2-proxy must
// know its own address (the redirect URL) before it listens.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// clientFrom is a client whose connections leave from local (a loopback
// address), following no redirects.
func clientFrom(t *testing.T, local string) *http.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	return &http.Client{
		Transport:     &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true},
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// noRedirects is a client without cookies that shows redirects as they are.
func noRedirects() *http.Client {
	return &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// ssoBrowser drives one headless Chromium through the proxy.
type ssoBrowser struct {
	t        *testing.T
	ctx      context.Context
	cancel   context.CancelFunc
	shots    string
	messages iter.Seq2[chromedp.ConsoleMessage, error]
}

func newSSOBrowser(t *testing.T, chromium, shots string) *ssoBrowser {
	t.Helper()
	ctx, cancel := testenv.StartBrowser(t, chromium, 1360, 900)
	return &ssoBrowser{t: t, ctx: ctx, cancel: cancel, shots: shots, messages: chromedp.Console(ctx)}
}

// noScriptErrors fails on any CSP violation or script error the pages
// reported, through the proxy too. It ends the browser: cancelling its
// context after a moment ends the stream of messages.
func (b *ssoBrowser) noScriptErrors() {
	b.t.Helper()
	collected, stop := context.WithTimeout(context.Background(), time.Second)
	defer stop()
	go func() { <-collected.Done(); b.cancel() }()
	for m, err := range b.messages {
		if err != nil {
			break
		}
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
			b.t.Errorf("browser console: %s", m.Text)
		}
	}
}

func (b *ssoBrowser) do(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", name, err, b.page())
	}
}

func (b *ssoBrowser) eval(expr string, opts ...chromedp.EvaluateOption) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, opts...))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// page is where the browser is and what it shows, for failure messages.
func (b *ssoBrowser) page() string {
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 1500)`))
	return s
}

// waitFor polls expr; it survives page loads, which end a chromedp.Poll.
func (b *ssoBrowser) waitFor(what, expr string, limit time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("still false")
			}
			b.t.Fatalf("waiting for %s (%s): %v\npage: %s", what, expr, err, b.page())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *ssoBrowser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
