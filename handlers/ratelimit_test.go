package handlers

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

func TestRateLimitPerIdentity(t *testing.T) {
	clock := newFakeClock()
	limits := middleware.RateLimits{
		Pages:   middleware.RateLimit{Rate: 1, Burst: 3},
		Actions: middleware.RateLimit{Rate: 1, Burst: 2},
		Connect: middleware.RateLimit{Rate: rate.Every(6 * time.Second), Burst: 2},
	}
	env := newTestEnv(t, envOptions{})
	single := env.withOptions(func(a *Options) { a.Now, a.RateLimits = clock.Now, limits })

	t.Run("pages, with Retry-After and a page in the person's terms", func(t *testing.T) {
		single.get("connect") // a session cookie
		single.post("disconnect", url.Values{views.ParamWorkspace: {"ws_none"}})
		if currentSessionID(t, single) == "" {
			t.Fatal("no session to be counted by")
		}
		for i := range 3 {
			if r := single.get("connect"); r.StatusCode != http.StatusOK {
				t.Fatalf("page %d: %d", i+1, r.StatusCode)
			}
		}
		r := single.get("connect")
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" {
			t.Fatalf("past the burst: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
		}
		d := r.doc(t)
		if got := testid(d, "error-explanation").Text(); !strings.Contains(got, "1 a second") || !strings.Contains(got, "Nothing was lost") {
			t.Errorf("explanation %q", got)
		}
		if testid(d, "retry-after").Length() != 1 {
			t.Error("the page does not say when to try again")
		}
		// API clients get the same in JSON.
		req, _ := http.NewRequest(http.MethodGet, single.url("runs"), nil)
		req.Header.Set("Accept", "application/json")
		var body errorJSON
		if r := single.do(req); r.StatusCode != http.StatusTooManyRequests || json.Unmarshal([]byte(r.body), &body) != nil ||
			body.Error.RetryAfterSeconds != 1 || body.Error.Code != "rate limited" {
			t.Errorf("JSON 429: %d %s", r.StatusCode, r.body)
		}
	})

	t.Run("exempt: probes, assets, webhooks", func(t *testing.T) {
		for _, p := range []string{"healthz", "readyz", "static/nothing.css", "webhooks/extend/ewh_abcdefgh"} {
			for range 10 {
				if r := single.get(p); r.StatusCode == http.StatusTooManyRequests {
					t.Fatalf("%s was rate limited", p)
				}
			}
		}
	})

	t.Run("a new identity is not a spoofed header away", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, single.url("connect"), nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		req.Header.Set("X-Real-Ip", "203.0.113.9")
		if r := single.do(req); r.StatusCode != http.StatusTooManyRequests {
			t.Errorf("X-Forwarded-For bought a new bucket: %d", r.StatusCode)
		}
	})

	t.Run("the bucket refills with time", func(t *testing.T) {
		clock.Advance(time.Second)
		if r := single.get("connect"); r.StatusCode != http.StatusOK {
			t.Errorf("after a second: %d", r.StatusCode)
		}
	})

	t.Run("connect is limited per peer, whatever the session", func(t *testing.T) {
		env := newTestEnv(t, envOptions{})
		v := env.withOptions(func(a *Options) { a.Now, a.RateLimits = clock.Now, limits })
		attempt := func() response {
			// No cookies at all, so a fresh session each time: no way
			// around the limit. Sec-Fetch-Site stands in for the token.
			form := url.Values{views.FieldAPIKey: {"sk_guess_0123456789"}, views.FieldWorkspaceID: {demoWS}}
			req, _ := http.NewRequest(http.MethodPost, v.url("connect"), strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return response{resp, string(b)}
		}
		for i := range 2 {
			if r := attempt(); r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("attempt %d: %d %s", i+1, r.StatusCode, errorText(r))
			}
		}
		r := attempt()
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "6" ||
			!strings.Contains(errorText(r), "Too many connection attempts") || !strings.Contains(errorText(r), "10 a minute") {
			t.Errorf("third attempt: %d, Retry-After %q: %s", r.StatusCode, r.Header.Get("Retry-After"), errorText(r))
		}
		// Pages of the same person are not affected.
		if r := v.get("connect"); r.StatusCode != http.StatusOK {
			t.Errorf("a page after the connect limit: %d", r.StatusCode)
		}
	})

	t.Run("header mode counts the proxy's identity", func(t *testing.T) {
		env := newTestEnv(t, envOptions{identity: middleware.IdentityConfig{
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
			IdentityHeader: "X-Forwarded-Email",
		}})
		v := env.withOptions(func(a *Options) { a.Now, a.RateLimits = clock.Now, limits })
		as := func(user, forwardedFor string) int {
			req, _ := http.NewRequest(http.MethodGet, v.url("connect"), nil)
			req.Header.Set("X-Forwarded-Email", user)
			req.Header.Set("X-Forwarded-For", forwardedFor)
			return v.do(req).StatusCode
		}
		for i := range 3 {
			if code := as("ana@example.com", fmt.Sprintf("198.51.100.%d", i)); code != http.StatusOK {
				t.Fatalf("ana's page %d: %d", i+1, code)
			}
		}
		if code := as("ana@example.com", "198.51.100.200"); code != http.StatusTooManyRequests {
			t.Errorf("ana past her burst from another forwarded address: %d", code)
		}
		if code := as("bo@example.com", "198.51.100.1"); code != http.StatusOK {
			t.Errorf("bo is limited by ana's requests: %d", code)
		}
	})
}

func TestPageBurstCoversTheLargestRunsPage(t *testing.T) {
	// The runs page polls up to 100 rows at once.
	if middleware.DefaultRateLimits.Pages.Burst < views.PageSizes[len(views.PageSizes)-1] {
		t.Errorf("page burst %d is below the largest runs page", middleware.DefaultRateLimits.Pages.Burst)
	}
}

// fakeClock is an injected clock that only moves when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
