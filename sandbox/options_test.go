package sandbox

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAPIKeys(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    map[string]string
		wantErr string
	}{
		{"default", nil, map[string]string{DefaultAPIKey: DefaultWorkspace}, ""},
		{"repeated flags", []string{"sk_a=ws_a", "sk_org=*"}, map[string]string{"sk_a": "ws_a", "sk_org": "*"}, ""},
		{"comma list from the environment", []string{"sk_a=ws_a, sk_b=ws_b"}, map[string]string{"sk_a": "ws_a", "sk_b": "ws_b"}, ""},
		{"same pair twice", []string{"sk_a=ws_a", "sk_a=ws_a"}, map[string]string{"sk_a": "ws_a"}, ""},
		{"no equals", []string{"sk_secret_value"}, nil, `#1: missing "="`},
		{"empty key", []string{"=ws_a"}, nil, "empty API key"},
		{"bad workspace", []string{"sk_a=ws a"}, nil, "workspace"},
		{"key with a space", []string{"sk a=ws_a"}, nil, "space"},
		{"conflict", []string{"sk_a=ws_a", "sk_a=ws_b"}, nil, "#2: the same key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAPIKeys(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidOption) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "sk_secret_value") {
					t.Fatalf("the error prints the key: %v", err)
				}
				return
			}
			if err != nil || !cmp.Equal(got, tt.want) {
				t.Fatalf("ParseAPIKeys = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1000", 1000, true}, {"50MB", 50_000_000, true}, {"50mb", 50_000_000, true}, {"10MiB", 10 << 20, true},
		{"1.5GB", 1_500_000_000, true}, {"64 KiB", 64 << 10, true}, {"200k", 200_000, true}, {"12B", 12, true},
		{"", 0, false}, {"0", 0, false}, {"-5MB", 0, false}, {"MB", 0, false}, {"10XB", 0, false}, {"NaN", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestOptionsValidation(t *testing.T) {
	for name, opts := range map[string]Options{
		"negative credits":   {Credits: -1},
		"negative rate":      {RateLimit: -2},
		"fault rate above 1": {Faults: Faults{Rate5xx: 1.5}},
		"bad public URL":     {PublicURL: "ftp://x"},
		"bad workspace key":  {APIKeys: map[string]string{"k": "ws one"}},
		"bad seed workspace": {SeedWorkspace: "a/b"},
	} {
		if srv, err := New(opts); !errors.Is(err, ErrInvalidOption) {
			if srv != nil {
				srv.Close()
			}
			t.Errorf("%s: New = %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestPublicAddress(t *testing.T) {
	for addr, public := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1:248:1893:25c8:1946": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "0.0.0.0": false, "::": false,
		"100.64.0.1": false, "224.0.0.1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
		"64:ff9b::a00:1": false, "255.255.255.255": false,
	} {
		if got := publicAddress(netip.MustParseAddr(addr)); got != public {
			t.Errorf("publicAddress(%s) = %v, want %v", addr, got, public)
		}
	}
}

// TestRouting: unknown paths are 404 and known paths with another method
// 405, both with the error body; the mount prefix shapes presigned URLs.
func TestRouting(t *testing.T) {
	ts := startSandbox(t, Options{BasePath: "/_sandbox/"})
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/nope", 404},
		{http.MethodPut, "/edit_runs", 405},
		{http.MethodPatch, "/webhook_endpoints/wh_1", 405},
		{http.MethodGet, "/_sandbox/health", 200},
	} {
		resp, body := ts.raw(tt.method, tt.path, authHeaders(testKeyA), nil)
		if resp.StatusCode != tt.want || (tt.want != 200 && !strings.Contains(string(body), `"requestId":"req_`)) {
			t.Errorf("%s %s: %d %s, want %d with an error body", tt.method, tt.path, resp.StatusCode, body, tt.want)
		}
	}
	c := ts.api(testKeyA, "")
	f := uploadFile(t, c, "a.pdf", demoForm(t, "").PDF, "")
	got, err := c.GetFile(t.Context(), f.ID)
	if err != nil || !strings.HasPrefix(got.PresignedURL, ts.http.URL+"/_sandbox/_sandbox/blobs/") {
		t.Fatalf("presigned URL under BasePath: %q, %v", got.PresignedURL, err)
	}
	mounted := http.StripPrefix("/_sandbox", ts.srv)
	req, _ := http.NewRequest(http.MethodGet, "/_sandbox"+strings.TrimPrefix(got.PresignedURL, ts.http.URL+"/_sandbox"), nil)
	rec := httptest.NewRecorder()
	mounted.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("the presigned URL through the mount prefix: %d", rec.Code)
	}
}
