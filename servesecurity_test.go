package main

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestHTTPSFollowsTheTrustedProxy checks serve's wiring: HSTS and Secure
// cookies (CSRF and session) when a trusted proxy says https, none when
// an untrusted peer says the same.
func TestHTTPSFollowsTheTrustedProxy(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		https bool
	}{
		{"trusted proxy", []string{"--trusted-proxies", "127.0.0.1/32"}, true},
		{"no trusted proxy", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, stop := startPlainServe(t, tt.args...)
			defer stop()
			client := &http.Client{Timeout: 10 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest(http.MethodGet, base+"connect", nil)
			req.Header.Set("X-Forwarded-Proto", "https")
			page, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page.Body.Close()
			var csrf *http.Cookie
			for _, c := range page.Cookies() {
				if c.Name == "editwatch_csrf" {
					csrf = c
				}
			}
			if csrf == nil {
				t.Fatal("no CSRF cookie")
			}
			form := url.Values{"_csrf": {csrf.Value}, "ws": {"ws_none"}}
			req, _ = http.NewRequest(http.MethodPost, base+"disconnect", bytes.NewBufferString(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-Proto", "https")
			req.AddCookie(&http.Cookie{Name: csrf.Name, Value: csrf.Value})
			saved, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			saved.Body.Close()
			if saved.StatusCode != http.StatusSeeOther {
				t.Fatalf("disconnect: %d", saved.StatusCode)
			}
			var session *http.Cookie
			for _, c := range saved.Cookies() {
				if c.Name == "editwatch_session" {
					session = c
				}
			}
			if session == nil {
				t.Fatal("no session cookie after a save")
			}
			for _, r := range []*http.Response{page, saved} {
				if got := r.Header.Get("Strict-Transport-Security") != ""; got != tt.https {
					t.Errorf("%s %s: HSTS %v, want %v", r.Request.Method, r.Request.URL.Path, got, tt.https)
				}
			}
			if csrf.Secure != tt.https || session.Secure != tt.https {
				t.Errorf("Secure: CSRF cookie %v, session cookie %v, want %v", csrf.Secure, session.Secure, tt.https)
			}
		})
	}
}
