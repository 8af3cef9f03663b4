package handlers

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
)

// sandboxProxyEnv is --sandbox --sandbox-behind-proxy: the dashboard and
// its embedded sandbox behind an SSO proxy on loopback, with roles.
func sandboxProxyEnv(t *testing.T, readOnly bool) *testEnv {
	t.Helper()
	return newTestEnv(t, envOptions{sandboxMode: true, identity: middleware.IdentityConfig{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		IdentityHeader: "X-Forwarded-Email", GroupsHeader: "X-Forwarded-Groups",
		AdminGroups: []string{"ops"}, ViewerGroups: []string{"audit"}, ReadOnly: readOnly,
	}})
}

func TestEmbeddedSandboxGuard(t *testing.T) {
	env := sandboxProxyEnv(t, false)
	viewer := http.Header{"X-Forwarded-Email": {"vic@example.com"}, "X-Forwarded-Groups": {"audit"}}
	admin := http.Header{"X-Forwarded-Email": {"ada@example.com"}, "X-Forwarded-Groups": {"ops"}}
	bearer := "Bearer " + demoKey
	tests := []struct {
		name         string
		method, path string
		headers      http.Header
		body         string
		want         int
	}{
		{"no identity", http.MethodGet, "_sandbox/edit_runs", http.Header{"Authorization": {bearer}}, "", http.StatusUnauthorized},
		{"viewer reads", http.MethodGet, "_sandbox/edit_runs", with(viewer, "Authorization", bearer), "", http.StatusOK},
		{"viewer health", http.MethodGet, "_sandbox/health", viewer, "", http.StatusOK},
		{"viewer reads faults", http.MethodGet, "_sandbox/faults", viewer, "", http.StatusForbidden},
		{"viewer sets faults", http.MethodPost, "_sandbox/faults", viewer, `{"rate5xx":1}`, http.StatusForbidden},
		{"viewer deletes a run", http.MethodDelete, "_sandbox/edit_runs/edr_nothing", with(viewer, "Authorization", bearer), "", http.StatusForbidden},
		{"admin sets faults", http.MethodPost, "_sandbox/faults", admin, `{}`, http.StatusOK},
		{"admin, cross-site page", http.MethodPost, "_sandbox/faults", with(admin, "Sec-Fetch-Site", "cross-site"), `{}`, http.StatusForbidden},
		{"admin, other origin", http.MethodPost, "_sandbox/faults", with(admin, "Origin", "http://evil.example"), `{}`, http.StatusForbidden},
		{"forged internal mark", http.MethodPost, "_sandbox/faults",
			with(viewer, HeaderSandboxInternal, "guess"), `{}`, http.StatusForbidden},
		{"the one layout", http.MethodGet, "_sandbox/_sandbox/health", viewer, "", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, env.url(tt.path), strings.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header[k] = v
			}
			req.Header.Set(extendapi.HeaderAPIVersion, extendapi.APIVersion)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		})
	}
	// The dashboard's own calls carry the internal mark and pass: an admin
	// connects and sees the runs the embedded sandbox holds.
	env.headers = admin
	env.connect(demoKey, demoWS)
	if r := env.get("runs?ws=" + demoWS); r.StatusCode != http.StatusOK {
		t.Fatalf("runs page through the guarded sandbox: %d", r.StatusCode)
	}
}

func TestEmbeddedSandboxReadOnly(t *testing.T) {
	env := sandboxProxyEnv(t, true)
	admin := http.Header{"X-Forwarded-Email": {"ada@example.com"}, "X-Forwarded-Groups": {"ops"}, "Authorization": {"Bearer " + demoKey}}
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "_sandbox/edit_runs", http.StatusOK},
		{http.MethodDelete, "_sandbox/edit_runs/edr_nothing", http.StatusForbidden},
		{http.MethodPost, "_sandbox/faults", http.StatusForbidden},
	} {
		req, _ := http.NewRequest(tt.method, env.url(tt.path), strings.NewReader(`{}`))
		req.Header = admin.Clone()
		req.Header.Set(extendapi.HeaderAPIVersion, extendapi.APIVersion)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("read-only: %s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
	}
}

// with returns a copy of h with one more header.
func with(h http.Header, key, value string) http.Header {
	c := h.Clone()
	c.Set(key, value)
	return c
}
