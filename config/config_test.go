package config

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var key32 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadServeDefaultsInSandboxMode(t *testing.T) {
	cfg, err := Load([]string{"--sandbox"}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Serve
	if cfg.Command != CommandServe || s.Listen != "127.0.0.1:8080" || s.DB != filepath.Join("data", "editwatch.db") ||
		s.BasePath != "/" || s.SessionIdle != 12*time.Hour || s.SessionMax != 168*time.Hour ||
		s.Retention != 90*24*time.Hour || s.UpstreamTimeout != 30*time.Second || s.FrameAncestors != "'none'" {
		t.Errorf("unexpected defaults: %+v", s)
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	env := envOf(map[string]string{
		"EDITWATCH_LISTEN":          "0.0.0.0:9000",
		"EDITWATCH_REGION":          "eu",
		"EDITWATCH_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1",
		"EDITWATCH_SESSION_KEY":     key32 + "," + key32,
		"EDITWATCH_ENCRYPTION_KEY":  key32,
		"EDITWATCH_BASE_PATH":       "ew",
	})
	cfg, err := Load([]string{"serve", "--listen", "127.0.0.1:7000"}, env)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Serve
	if s.Listen != "127.0.0.1:7000" {
		t.Errorf("flag should win: listen = %s", s.Listen)
	}
	if s.Region != "eu1" {
		t.Errorf("eu should be accepted for eu1, got %s", s.Region)
	}
	if got := len(s.TrustedProxies); got != 2 || s.TrustedProxies[1].String() != "192.168.1.1/32" {
		t.Errorf("trusted proxies = %v", s.TrustedProxies)
	}
	if len(s.SessionKeys) != 2 || len(s.EncryptionKeys) != 1 {
		t.Errorf("keys: %d session, %d encryption", len(s.SessionKeys), len(s.EncryptionKeys))
	}
	if s.BasePath != "/ew/" {
		t.Errorf("base path = %q", s.BasePath)
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keys")
	if err := os.WriteFile(p, []byte(key32+"\n"+key32+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(nil, envOf(map[string]string{"EDITWATCH_SESSION_KEY_FILE": p, "EDITWATCH_ENCRYPTION_KEY_FILE": p}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Serve.SessionKeys) != 2 {
		t.Errorf("want 2 session keys from the file, got %d", len(cfg.Serve.SessionKeys))
	}
}

func TestServeErrorsNameTheFlag(t *testing.T) {
	keys := []string{"--session-key", key32, "--encryption-key", key32}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "nope"}, "--listen"},
		{[]string{"--region", "mars"}, "--region \"mars\": want us, us2 or eu1"},
		{[]string{"--identity-header", "X-Forwarded-Email"}, "--identity-header needs --trusted-proxies"},
		{[]string{"--trusted-proxies", "banana"}, "--trusted-proxies: \"banana\" is not a CIDR"},
		{[]string{"--session-idle", "forever"}, "--session-idle \"forever\""},
		{[]string{"--extend-url", "ftp://x"}, "--extend-url"},
		{[]string{"--log-format", "xml"}, "--log-format \"xml\""},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"--session-idle", "200h"}, "longer than --session-max"},
		{[]string{"--admin-groups", "ops"}, "need --identity-header"},
		{[]string{"--sandbox", "--trusted-proxies", "10.0.0.0/8", "--identity-header", "X-Forwarded-Email"},
			"--sandbox with --identity-header or --proxy-jwt puts the embedded sandbox"},
		{[]string{"--sandbox-behind-proxy"}, "--sandbox-behind-proxy only means something with --sandbox"},
		{[]string{"--streams-per-session", "0"}, "--streams-per-session \"0\": want a whole number"},
		{[]string{"--sign-out-url", "//evil.example/out"}, "--sign-out-url: \"//evil.example/out\" is neither a path"},
		{[]string{"--sign-out-url", "oauth2/sign_out"}, "--sign-out-url: \"oauth2/sign_out\" is neither a path"},
		{[]string{"--sign-out-url", "javascript:alert(1)"}, "--sign-out-url"},
		{[]string{"--login-header", "X-Login-Id"}, "--login-header needs --identity-header or --proxy-jwt"},
		{[]string{"--trusted-proxies", "10.0.0.0/8", "--identity-header", "X-Forwarded-Email", "--login-header", "x-forwarded-access-token"},
			"--login-header \"x-forwarded-access-token\" changes whenever the proxy refreshes the token"},
		{[]string{"--trusted-proxies", "10.0.0.0/8", "--identity-header", "X-Forwarded-Email", "--login-header", "Authorization"},
			"changes whenever the proxy refreshes the token"},
		{[]string{"--trusted-proxies", "10.0.0.0/8", "--identity-header", "X-Forwarded-Email", "--login-header", "x-forwarded-email"},
			"is the identity header"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := Load(append(append([]string{}, keys...), tt.args...), envOf(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSignOutURLAccepted(t *testing.T) {
	keys := []string{"--session-key", key32, "--encryption-key", key32}
	for _, v := range []string{"", "/oauth2/sign_out?rd=%2F", "https://sso.example.com/logout?post_logout_redirect_uri=https%3A%2F%2Fops.example.com%2F"} {
		cfg, err := Load(append(keys, "--sign-out-url", v), envOf(nil))
		if err != nil {
			t.Fatalf("--sign-out-url %q: %v", v, err)
		}
		if cfg.Serve.SignOutURL != v {
			t.Errorf("--sign-out-url %q read as %q", v, cfg.Serve.SignOutURL)
		}
	}
}

func TestSandboxBehindProxyIsExplicit(t *testing.T) {
	args := []string{"--sandbox", "--sandbox-behind-proxy", "--trusted-proxies", "10.0.0.0/8", "--identity-header", "X-Forwarded-Email"}
	cfg, err := Load(args, envOf(nil))
	if err != nil {
		t.Fatalf("--sandbox-behind-proxy with identity settings: %v", err)
	}
	if !cfg.Serve.SandboxBehindProxy || cfg.Serve.StreamsPerSession != 16 || cfg.Serve.StreamsPerIdentity != 64 {
		t.Errorf("serve config %+v", cfg.Serve)
	}
}

func TestKeysRequiredOutsideSandbox(t *testing.T) {
	_, err := Load(nil, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "--session-key is required") || !strings.Contains(err.Error(), "--encryption-key is required") {
		t.Fatalf("got %v", err)
	}
	_, err = Load([]string{"--session-key", base64.StdEncoding.EncodeToString([]byte("short"))}, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "decodes to 5 bytes") {
		t.Fatalf("got %v", err)
	}
}

func TestSandboxCommand(t *testing.T) {
	cfg, err := Load([]string{"sandbox", "--api-key", "sk_a=ws_a", "--fault-fail", "0.25:corrupt_file", "--max-upload", "10MiB"},
		envOf(map[string]string{"EDITWATCH_SANDBOX_API_KEY": "ignored=ws_x", "EDITWATCH_SANDBOX_RATE_LIMIT": "5"}))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Sandbox
	if diff := cmp.Diff(map[string]string{"sk_a": "ws_a"}, s.APIKeys); diff != "" {
		t.Errorf("api keys (-want +got):\n%s", diff)
	}
	if s.FaultFail != 0.25 || s.FaultFailReason != "CORRUPT_FILE" || s.MaxUpload != 10<<20 || s.RateLimit != 5 {
		t.Errorf("sandbox config: %+v", s)
	}
	cfg, err = Load([]string{"sandbox"}, envOf(map[string]string{"EDITWATCH_SANDBOX_API_KEY": "k1=ws_1,k2=*"}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"k1": "ws_1", "k2": "*"}, cfg.Sandbox.APIKeys); diff != "" {
		t.Errorf("api keys from env (-want +got):\n%s", diff)
	}
	for _, bad := range [][]string{{"--api-key", "nokey"}, {"--fault-5xx", "2"}, {"--max-upload", "lots"}, {"--credits", "-1"}, {"--fault-fail", "0.1:NOPE"}} {
		if _, err := Load(append([]string{"sandbox"}, bad...), envOf(nil)); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
}

func TestHelpAndUnknownCommand(t *testing.T) {
	if _, err := Load([]string{"--help"}, envOf(nil)); !errors.Is(err, ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	if _, err := Load([]string{"frobnicate"}, envOf(nil)); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"50MB": 50e6, "10MiB": 10 << 20, "1000": 1000, "1.5KB": 1500, "2 GiB": 2 << 30} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"ten", "NaN", "-1MB", "Inf"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q): want an error", bad)
		}
	}
}

// TestReadmeConfigurationIsCurrent keeps the README's configuration section
// identical to the flag definitions.
func TestReadmeConfigurationIsCurrent(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- config:begin -->\n", "<!-- config:end -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", strings.TrimSpace(begin), end)
	}
	if diff := cmp.Diff(Reference(), s[i+len(begin):j]); diff != "" {
		t.Errorf("README configuration is out of date; regenerate with scripts/update-readme-config.sh (-want +got):\n%s", diff)
	}
}

func TestProxyJWTFlags(t *testing.T) {
	keys := []string{"--session-key", key32, "--encryption-key", key32}
	ok := []string{"--proxy-jwt", "pomerium", "--proxy-jwt-jwks-url", "https://auth.example.com/.well-known/pomerium/jwks.json",
		"--proxy-jwt-audience", "editwatch.example.com", "--proxy-jwt-issuer", "auth.example.com", "--admin-groups", "ops"}
	cfg, err := Load(append(append([]string{}, keys...), ok...), envOf(nil))
	if err != nil {
		t.Fatalf("valid --proxy-jwt: %v", err)
	}
	if !cfg.Serve.HeaderMode() {
		t.Error("--proxy-jwt should count as proxy (header) mode")
	}
	if _, err := Load(append(append([]string{}, keys...), "--proxy-jwt", "iap", "--proxy-jwt-audience", "/projects/1/global/backendServices/2", "--proxy-jwt-issuer", "https://cloud.google.com/iap"), envOf(nil)); err != nil {
		t.Errorf("iap needs no JWKS URL: %v", err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--proxy-jwt", "okta"}, "want pomerium, iap or cloudflare"},
		{[]string{"--proxy-jwt", "cloudflare", "--proxy-jwt-jwks-url", "https://t.cloudflareaccess.com/cdn-cgi/access/certs"}, "needs --proxy-jwt-audience and --proxy-jwt-issuer"},
		{[]string{"--proxy-jwt", "pomerium", "--proxy-jwt-audience", "a", "--proxy-jwt-issuer", "i"}, "needs --proxy-jwt-jwks-url"},
		{append([]string{"--identity-header", "X-Email", "--trusted-proxies", "10.0.0.0/8"}, ok...), "replaces --identity-header"},
	} {
		_, err := Load(append(append([]string{}, keys...), tt.args...), envOf(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
}
