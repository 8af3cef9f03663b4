package extendapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRegionBaseURL(t *testing.T) {
	tests := []struct {
		region, want string
	}{
		{"us", "https://api.extend.ai"},
		{"us2", "https://api.us2.extend.app"},
		{"eu1", "https://api.eu1.extend.ai"},
		{"eu", "https://api.eu1.extend.ai"},
		{" EU1 ", "https://api.eu1.extend.ai"},
	}
	for _, tt := range tests {
		got, err := RegionBaseURL(tt.region)
		if err != nil || got != tt.want {
			t.Errorf("RegionBaseURL(%q) = %q, %v; want %q", tt.region, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "ap1", "us3"} {
		_, err := RegionBaseURL(bad)
		if !errors.Is(err, ErrUnknownRegion) || !strings.Contains(err.Error(), "us, us2, eu1") {
			t.Errorf("RegionBaseURL(%q) error = %v", bad, err)
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name           string
		opts           []Option
		wantBase       string
		wantDeployment string
		wantErr        error
	}{
		{name: "default is us", wantBase: "https://api.extend.ai", wantDeployment: "us"},
		{name: "region", opts: []Option{WithRegion("eu")}, wantBase: "https://api.eu1.extend.ai", wantDeployment: "eu1"},
		{name: "base URL wins over region, before it", opts: []Option{WithBaseURL("http://127.0.0.1:8080/_sandbox/"), WithRegion("us2")},
			wantBase: "http://127.0.0.1:8080/_sandbox", wantDeployment: "http://127.0.0.1:8080/_sandbox"},
		{name: "base URL wins over region, after it", opts: []Option{WithRegion("us2"), WithBaseURL("https://proxy.internal")},
			wantBase: "https://proxy.internal", wantDeployment: "https://proxy.internal"},
		{name: "unknown region", opts: []Option{WithRegion("mars")}, wantErr: ErrUnknownRegion},
		{name: "base URL without scheme", opts: []Option{WithBaseURL("api.extend.ai")}, wantErr: ErrInvalidBaseURL},
		{name: "base URL with credentials", opts: []Option{WithBaseURL("https://user:pw@api.extend.ai")}, wantErr: ErrInvalidBaseURL},
		{name: "base URL with query", opts: []Option{WithBaseURL("https://api.extend.ai/?x=1")}, wantErr: ErrInvalidBaseURL},
		{name: "workspace with newline", opts: []Option{WithWorkspace("ws_1\r\nX-Evil: 1")}, wantErr: ErrInvalidArgument},
		{name: "nil http client", opts: []Option{WithHTTPClient(nil)}, wantErr: ErrInvalidArgument},
		{name: "zero timeout", opts: []Option{WithTimeout(0)}, wantErr: ErrInvalidArgument},
		{name: "bad user agent", opts: []Option{WithUserAgent("x\ny")}, wantErr: ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(testKey, tt.opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "pw@") {
					t.Errorf("error repeats credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.BaseURL() != tt.wantBase || c.Deployment() != tt.wantDeployment {
				t.Errorf("BaseURL %q Deployment %q, want %q %q", c.BaseURL(), c.Deployment(), tt.wantBase, tt.wantDeployment)
			}
		})
	}
}

func TestNewRejectsBadKeysWithoutEchoingThem(t *testing.T) {
	if _, err := New(""); !errors.Is(err, ErrMissingAPIKey) {
		t.Errorf("empty key: %v", err)
	}
	bad := APIKey("sk_live_secret\nInjected: yes")
	_, err := New(bad)
	if !errors.Is(err, ErrInvalidAPIKey) || strings.Contains(err.Error(), "sk_live_secret") {
		t.Errorf("bad key: %v", err)
	}
}

func TestBasePathPrefixAndWorkspaceCopies(t *testing.T) {
	api := newFakeAPI(t, nil, reply{Body: bodyRunOK})
	c, err := New(testKey, WithBaseURL(api.srv.URL+"/_sandbox/"), WithLimiter(NewUnlimitedLimiter()), WithUserAgent("Editwatch/1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ws := c.WithWorkspace("ws_a")
	for _, cl := range []*Client{c, ws} {
		if _, err := cl.GetEditRun(ctx, "edr_1"); err != nil {
			t.Fatal(err)
		}
	}
	reqs := api.Requests()
	if reqs[0].Path != "/_sandbox/edit_runs/edr_1" {
		t.Errorf("path = %q", reqs[0].Path)
	}
	if _, sent := reqs[0].Header[http.CanonicalHeaderKey(HeaderWorkspaceID)]; sent {
		t.Errorf("no workspace set, but the header was sent")
	}
	if got := reqs[1].Header.Get(HeaderWorkspaceID); got != "ws_a" {
		t.Errorf("workspace header = %q", got)
	}
	if got := reqs[0].Header.Get("User-Agent"); got != "Editwatch/1.2.3" {
		t.Errorf("User-Agent = %q", got)
	}
	bad := c.WithWorkspace("ws\n")
	if _, err := bad.GetEditRun(ctx, "edr_1"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad workspace: %v", err)
	}
	if len(api.Requests()) != 2 {
		t.Errorf("a bad workspace must not be sent")
	}
}

func TestDefaultUserAgent(t *testing.T) {
	if ua := DefaultUserAgent(); !strings.HasPrefix(ua, "Editwatch/") || len(ua) <= len("Editwatch/") {
		t.Errorf("DefaultUserAgent() = %q", ua)
	}
}

func TestSyncCallsUseTheLongTimeout(t *testing.T) {
	// The answer comes after 150 ms: past the ordinary timeout (50 ms) but
	// within the sync one, so /edit succeeds where a GET times out.
	slow := reply{Do: func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(150 * time.Millisecond):
			_, _ = w.Write([]byte(bodyRunOK))
		case <-r.Context().Done():
		}
	}}
	api := newFakeAPI(t, newFakeClock(), slow)
	c := newTestClient(t, api, WithTimeout(50*time.Millisecond), WithSyncTimeout(5*time.Second), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if _, err := c.Edit(context.Background(), &CreateEditRunRequest{File: &FileRef{ID: "file_1"}}); err != nil {
		t.Errorf("Edit: %v", err)
	}
	if _, err := c.GetEditRun(context.Background(), "edr_1"); !errors.Is(err, ErrTimeout) {
		t.Errorf("GetEditRun: %v, want ErrTimeout", err)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	api := newFakeAPI(t, nil, reply{Status: http.StatusFound, Header: map[string]string{"Location": "https://sso.example.com/login", "Content-Type": "text/html"}, Body: "<a href=...>Found</a>"})
	c, err := New(testKey, WithBaseURL(api.srv.URL), WithLimiter(NewUnlimitedLimiter()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetEditRun(context.Background(), "edr_1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusFound {
		t.Fatalf("err = %v, want the 302 as an APIError", err)
	}
}
