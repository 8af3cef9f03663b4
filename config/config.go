// Package config reads Editwatch's configuration once, from command-line
// flags and EDITWATCH_* environment variables, and validates it. Nothing in
// here is global: Load returns a value that main passes down.
package config

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// Command names.
const (
	CommandServe   = "serve"
	CommandSandbox = "sandbox"
	CommandMigrate = "migrate"
	CommandVersion = "version"
	CommandSeed    = "seed"
	CommandBackup  = "backup"
	CommandBench   = "bench"
)

// ErrHelp is returned when the user asked for help; main prints usage and
// exits 0.
var ErrHelp = errors.New("help requested")

// Config is everything one invocation needs.
type Config struct {
	Command string
	Serve   Serve
	Sandbox Sandbox
	Seed    Seed
	Backup  Backup
	Bench   Bench
}

// Serve configures the dashboard (and the migrate command, which uses the
// database settings only).
type Serve struct {
	Listen     string
	Sandbox    bool
	SandboxKey string
	// SandboxBehindProxy says the embedded sandbox is meant to be reached
	// through the SSO proxy too (--sandbox with identity settings).
	SandboxBehindProxy bool
	Region             string
	ExtendURL          string
	DataDir            string
	DB                 string
	BasePath           string
	PublicURL          string
	TrustedProxies     []netip.Prefix
	IdentityHeader     string
	GroupsHeader       string
	GroupsDelimiter    string
	AdminGroups        []string
	ViewerGroups       []string
	ProxyJWT           string // pomerium, iap or cloudflare: identity from the proxy's signed assertion
	ProxyJWTHeader     string
	ProxyJWTJWKSURL    string
	ProxyJWTAud        string
	ProxyJWTIssuer     string
	// SignOutURL is where "Sign out" sends the browser once the Editwatch
	// session has ended (the proxy's own sign-out); "" ends only that.
	SignOutURL string
	// LoginHeader names a header stable for one login at the proxy; a
	// changed value ends the Editwatch session.
	LoginHeader     string
	SessionKeys     [][]byte
	EncryptionKeys  [][]byte
	SessionIdle     time.Duration
	SessionMax      time.Duration
	ReadOnly        bool
	FrameAncestors  string
	MetricsListen   string
	Retention       time.Duration
	UpstreamTimeout time.Duration
	// StreamsPerSession and StreamsPerIdentity cap the live-update event
	// streams one session and one proxy identity hold open.
	StreamsPerSession  int
	StreamsPerIdentity int
	Alerts             Alerts
	LogFormat          string
	LogLevel           string
}

// Sandbox configures `editwatch sandbox`, the Extend-compatible server alone.
type Sandbox struct {
	Listen           string
	APIKeys          map[string]string // key -> workspace, "*" for an organization key
	FirstWorkspace   string            // the first --api-key's workspace: where --seed puts demo history
	DataDir          string
	Seed             bool
	MaxUpload        int64
	AllowPrivateURLs bool
	Credits          float64 // 0 = unlimited
	RateLimit        float64 // 0 = unlimited
	FaultLatency     time.Duration
	Fault5xx         float64
	Fault429         float64
	FaultFail        float64
	FaultFailReason  string
	FaultStuck       float64
	FaultWebhook     float64
	// FaultProcessingTime keeps each new run PROCESSING for that long.
	FaultProcessingTime time.Duration
	LogFormat           string
	LogLevel            string
}

// Load parses args (without the program name) for the command they name and
// validates the result. getenv is os.Getenv in production.
func Load(args []string, getenv func(string) string) (Config, error) {
	cmd := CommandServe
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var cfg Config
	cfg.Command = cmd
	switch cmd {
	case CommandServe, CommandMigrate:
		raw := &serveRaw{}
		fs := raw.flags()
		if err := parse(fs, args, getenv); err != nil {
			return cfg, err
		}
		s, err := raw.build()
		if err != nil {
			return cfg, err
		}
		cfg.Serve = s
		if cmd == CommandServe {
			return cfg, cfg.Serve.Validate()
		}
		return cfg, nil
	case CommandSandbox:
		raw := &sandboxRaw{}
		fs := raw.flags()
		if err := parse(fs, args, getenv); err != nil {
			return cfg, err
		}
		s, err := raw.build()
		cfg.Sandbox = s
		return cfg, err
	case CommandSeed:
		raw := &seedRaw{}
		if err := parse(raw.flags(), args, getenv); err != nil {
			return cfg, err
		}
		s, err := raw.build()
		cfg.Seed = s
		return cfg, err
	case CommandBackup:
		raw := &backupRaw{}
		if err := parse(raw.flags(), args, getenv); err != nil {
			return cfg, err
		}
		b, err := raw.build()
		cfg.Backup = b
		return cfg, err
	case CommandBench:
		raw := &benchRaw{}
		if err := parse(raw.flags(), args, getenv); err != nil {
			return cfg, err
		}
		b, err := raw.build()
		cfg.Bench = b
		return cfg, err
	case CommandVersion:
		return cfg, nil
	case "help", "-h", "--help":
		return cfg, ErrHelp
	default:
		return cfg, fmt.Errorf("unknown command %q: use serve (the default), sandbox, migrate, seed, backup, bench or version", cmd)
	}
}

func parse(fs *flagSet, args []string, getenv func(string) string) error {
	err := fs.parse(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return ErrHelp
	}
	return err
}

type serveRaw struct {
	Serve
	trustedProxies              []string
	adminGroups, viewerGroups   []string
	sessionKeys, encryptionKeys []string
	sessionIdle, sessionMax     string
	retention, upstreamTimeout  string
	streamsPerSession           string
	streamsPerIdentity          string
	alerts                      alertsRaw
}

func (r *serveRaw) flags() *flagSet {
	f := newFlagSet("serve", "EDITWATCH_")
	f.str(&r.Listen, "listen", "127.0.0.1:8080", "where the dashboard listens")
	f.boolean(&r.Serve.Sandbox, "sandbox", "embed the Extend sandbox (under <base-path>/_sandbox/, data in <data-dir>/sandbox), point the dashboard at it, seed demo runs")
	f.str(&r.SandboxKey, "sandbox-key", "sk_sandbox_demo", "the embedded sandbox's demo key, for workspace ws_demo")
	f.boolean(&r.SandboxBehindProxy, "sandbox-behind-proxy", "allow --sandbox with --identity-header or --proxy-jwt: the embedded sandbox then needs an identity, and a role that may act for changes and faults")
	f.str(&r.Region, "region", "us", "Extend deployment: us, us2, eu1 (eu accepted)")
	f.str(&r.ExtendURL, "extend-url", "", "explicit Extend base URL; overrides --region")
	f.str(&r.DataDir, "data-dir", "./data", "where the SQLite file and sandbox data live")
	f.str(&r.DB, "db", "", "a SQLite file path or a postgres:// URL (default <data-dir>/editwatch.db)")
	f.str(&r.BasePath, "base-path", "/", "mount everything under a sub-path")
	f.str(&r.PublicURL, "public-url", "", "how Extend reaches this dashboard, for webhook registration")
	f.list(&r.trustedProxies, "trusted-proxies", "", "CIDRs whose identity headers are believed (repeatable)")
	f.str(&r.IdentityHeader, "identity-header", "", "header naming the user, e.g. X-Forwarded-Email; needs --trusted-proxies")
	f.str(&r.GroupsHeader, "groups-header", "", "header listing the user's groups, for roles")
	f.str(&r.GroupsDelimiter, "groups-delimiter", ",", "separator of the groups header")
	f.list(&r.adminGroups, "admin-groups", "", "groups whose members may act (repeatable)")
	f.list(&r.viewerGroups, "viewer-groups", "", "groups whose members are read-only (repeatable)")
	f.str(&r.ProxyJWT, "proxy-jwt", "", "take the identity from the proxy's signed assertion instead of a header: pomerium, iap or cloudflare")
	f.str(&r.ProxyJWTHeader, "proxy-jwt-header", "", "header carrying the assertion (default per proxy: X-Pomerium-Jwt-Assertion, x-goog-iap-jwt-assertion, Cf-Access-Jwt-Assertion)")
	f.str(&r.ProxyJWTJWKSURL, "proxy-jwt-jwks-url", "", "where the proxy publishes its signing keys (JWKS; IAP's is the default for iap)")
	f.str(&r.ProxyJWTAud, "proxy-jwt-audience", "", "the exact audience the assertion must carry")
	f.str(&r.ProxyJWTIssuer, "proxy-jwt-issuer", "", "the exact issuer the assertion must carry")
	f.str(&r.SignOutURL, "sign-out-url", "", "where Sign out sends the browser after ending the Editwatch session: the proxy's sign-out, e.g. /oauth2/sign_out?rd=%2F (empty: Sign out ends only the Editwatch session)")
	f.str(&r.LoginHeader, "login-header", "", "header whose value stays the same for one login at the proxy (a session ID or the login time, never the access token, which the proxy refreshes); a changed value ends the Editwatch session")
	f.secretList(&r.sessionKeys, "session-key", "signs session cookies; repeatable, the first signs, all verify (base64, at least 32 bytes)")
	f.secretList(&r.encryptionKeys, "encryption-key", "encrypts API keys and webhook secrets at rest; repeatable like --session-key (base64, 32 bytes)")
	f.str(&r.sessionIdle, "session-idle", "12h", "idle timeout of a session")
	f.str(&r.sessionMax, "session-max", "168h", "absolute lifetime of a session")
	f.boolean(&r.ReadOnly, "read-only", "no create, delete or re-run for anyone")
	f.str(&r.FrameAncestors, "frame-ancestors", "'none'", "who may embed the pages (CSP frame-ancestors)")
	f.str(&r.MetricsListen, "metrics-listen", "", "separate address for Prometheus /metrics (use loopback or an internal address)")
	f.str(&r.retention, "retention", "90d", "how long history (with re-run lineage and dismissed stuck runs), webhook events, audit entries and alert history are kept")
	f.str(&r.upstreamTimeout, "upstream-timeout", "30s", "timeout of each call to Extend")
	f.str(&r.streamsPerSession, "streams-per-session", "16", "live-update streams one session keeps open (tabs); a new one closes the oldest")
	f.str(&r.streamsPerIdentity, "streams-per-identity", "64", "live-update streams one proxy identity keeps open; past it, 429")
	r.alerts.flags(f)
	f.logging(&r.LogFormat, &r.LogLevel)
	return f
}

func (r *serveRaw) build() (Serve, error) {
	s := r.Serve
	var err error
	for _, c := range r.trustedProxies {
		p, perr := parsePrefix(c)
		if perr != nil {
			return s, fmt.Errorf("--trusted-proxies: %q is not a CIDR or IP address (example: 10.0.0.0/8)", c)
		}
		s.TrustedProxies = append(s.TrustedProxies, p)
	}
	s.AdminGroups, s.ViewerGroups = r.adminGroups, r.viewerGroups
	if s.SessionKeys, err = decodeKeys("--session-key", r.sessionKeys, 32, 0); err != nil {
		return s, err
	}
	if s.EncryptionKeys, err = decodeKeys("--encryption-key", r.encryptionKeys, 32, 32); err != nil {
		return s, err
	}
	if s.SessionIdle, err = parseDuration("--session-idle", r.sessionIdle); err != nil {
		return s, err
	}
	if s.SessionMax, err = parseDuration("--session-max", r.sessionMax); err != nil {
		return s, err
	}
	if s.Retention, err = parseDuration("--retention", r.retention); err != nil {
		return s, err
	}
	if s.UpstreamTimeout, err = parseDuration("--upstream-timeout", r.upstreamTimeout); err != nil {
		return s, err
	}
	if s.StreamsPerSession, err = parseCount("--streams-per-session", r.streamsPerSession); err != nil {
		return s, err
	}
	if s.StreamsPerIdentity, err = parseCount("--streams-per-identity", r.streamsPerIdentity); err != nil {
		return s, err
	}
	if s.Alerts, err = r.alerts.build(); err != nil {
		return s, err
	}
	if s.DB == "" {
		s.DB = filepath.Join(s.DataDir, "editwatch.db")
	}
	s.BasePath = NormalizeBasePath(s.BasePath)
	s.Region = normalizeRegion(s.Region)
	return s, nil
}

// Validate checks the combination of settings; every message names the flag
// and says what is accepted.
func (s Serve) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: want host:port, for example 127.0.0.1:8080", s.Listen))
	}
	if err := checkRegion(s.Region); err != nil {
		errs = append(errs, err)
	}
	if s.ExtendURL != "" {
		if err := checkHTTPURL(s.ExtendURL); err != nil {
			errs = append(errs, fmt.Errorf("--extend-url: %w", err))
		}
	}
	if s.PublicURL != "" {
		if err := checkHTTPURL(s.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("--public-url: %w", err))
		}
	}
	if s.LoginHeader != "" {
		if err := checkLoginHeader(s); err != nil {
			errs = append(errs, err)
		}
	}
	if s.SignOutURL != "" {
		if err := checkSignOutURL(s.SignOutURL); err != nil {
			errs = append(errs, fmt.Errorf("--sign-out-url: %w", err))
		}
	}
	if s.Sandbox && s.HeaderMode() && !s.SandboxBehindProxy {
		errs = append(errs, errors.New("--sandbox with --identity-header or --proxy-jwt puts the embedded sandbox and its public demo key behind your SSO proxy: "+
			"add --sandbox-behind-proxy if that is meant (outside requests to it then need an identity, and changes a role that may act), or drop one of them"))
	}
	if s.SandboxBehindProxy && !s.Sandbox {
		errs = append(errs, errors.New("--sandbox-behind-proxy only means something with --sandbox"))
	}
	if s.IdentityHeader != "" && len(s.TrustedProxies) == 0 {
		errs = append(errs, errors.New("--identity-header needs --trusted-proxies: without them anyone could claim any identity"))
	}
	switch s.ProxyJWT {
	case "":
		if (s.GroupsHeader != "" || len(s.AdminGroups) > 0 || len(s.ViewerGroups) > 0) && s.IdentityHeader == "" {
			errs = append(errs, errors.New("--groups-header, --admin-groups and --viewer-groups need --identity-header and --trusted-proxies (or --proxy-jwt)"))
		}
		if (len(s.AdminGroups) > 0 || len(s.ViewerGroups) > 0) && s.GroupsHeader == "" && s.IdentityHeader != "" {
			errs = append(errs, errors.New("--admin-groups and --viewer-groups need --groups-header"))
		}
	case "pomerium", "iap", "cloudflare":
		if s.IdentityHeader != "" || s.GroupsHeader != "" {
			errs = append(errs, errors.New("--proxy-jwt replaces --identity-header and --groups-header (groups come from the assertion): set one or the other"))
		}
		if s.ProxyJWTAud == "" || s.ProxyJWTIssuer == "" {
			errs = append(errs, errors.New("--proxy-jwt needs --proxy-jwt-audience and --proxy-jwt-issuer, exactly as your proxy signs them"))
		}
		if s.ProxyJWTJWKSURL == "" && s.ProxyJWT != "iap" {
			errs = append(errs, fmt.Errorf("--proxy-jwt %s needs --proxy-jwt-jwks-url, where the proxy publishes its keys", s.ProxyJWT))
		}
	default:
		errs = append(errs, fmt.Errorf("--proxy-jwt %q: want pomerium, iap or cloudflare", s.ProxyJWT))
	}
	if !s.Sandbox && len(s.SessionKeys) == 0 {
		errs = append(errs, errors.New("--session-key is required (or EDITWATCH_SESSION_KEY / EDITWATCH_SESSION_KEY_FILE): generate one with `openssl rand -base64 32`; only --sandbox generates its own"))
	}
	if !s.Sandbox && len(s.EncryptionKeys) == 0 {
		errs = append(errs, errors.New("--encryption-key is required (or EDITWATCH_ENCRYPTION_KEY / EDITWATCH_ENCRYPTION_KEY_FILE): generate one with `openssl rand -base64 32`; only --sandbox generates its own"))
	}
	if s.SessionIdle <= 0 || s.SessionMax <= 0 {
		errs = append(errs, errors.New("--session-idle and --session-max must be positive durations, for example 12h"))
	} else if s.SessionIdle > s.SessionMax {
		errs = append(errs, fmt.Errorf("--session-idle (%s) is longer than --session-max (%s)", s.SessionIdle, s.SessionMax))
	}
	if s.UpstreamTimeout <= 0 {
		errs = append(errs, errors.New("--upstream-timeout must be positive, for example 30s"))
	}
	if s.Retention <= 0 {
		errs = append(errs, errors.New("--retention must be positive, for example 90d"))
	}
	if s.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(s.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-listen %q: want host:port, for example 127.0.0.1:9090", s.MetricsListen))
		}
	}
	if s.FrameAncestors == "" || strings.ContainsAny(s.FrameAncestors, ";,\r\n") {
		errs = append(errs, fmt.Errorf("--frame-ancestors %q: want CSP sources separated by spaces, for example 'none' or https://portal.example.com", s.FrameAncestors))
	}
	errs = append(errs, s.Alerts.validate()...)
	if err := checkLogging(s.LogFormat, s.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// IsPostgres reports whether the store is PostgreSQL rather than SQLite.
func (s Serve) IsPostgres() bool {
	return strings.HasPrefix(s.DB, "postgres://") || strings.HasPrefix(s.DB, "postgresql://")
}

// HeaderMode reports whether identities come from the SSO proxy, as a
// header from a trusted peer or a signed assertion.
func (s Serve) HeaderMode() bool { return s.IdentityHeader != "" || s.ProxyJWT != "" }

type sandboxRaw struct {
	Sandbox
	apiKeys                                                 []string
	maxUpload, credits, rateLimit, latency, processingTime  string
	fault5xx, fault429, faultFail, faultStuck, faultWebhook string
}

func (r *sandboxRaw) flags() *flagSet {
	f := newFlagSet("sandbox", "EDITWATCH_SANDBOX_")
	f.str(&r.Listen, "listen", "127.0.0.1:8081", "where the sandbox listens")
	f.secretList(&r.apiKeys, "api-key", "KEY=WORKSPACE, repeatable; KEY=* is an organization key (default sk_sandbox_demo=ws_demo)")
	f.str(&r.DataDir, "data-dir", "", "keep files and runs across restarts (default: in memory)")
	f.boolean(&r.Seed, "seed", "demo forms and a history of runs")
	f.str(&r.maxUpload, "max-upload", "50MB", "largest accepted upload or file.url download")
	f.boolean(&r.AllowPrivateURLs, "allow-private-urls", "let file.url reach private and loopback addresses")
	f.str(&r.credits, "credits", "unlimited", "credit budget per workspace")
	f.str(&r.rateLimit, "rate-limit", "unlimited", "requests per second per category and workspace")
	f.str(&r.latency, "fault-latency", "0s", "added latency on every API answer")
	f.str(&r.fault5xx, "fault-5xx", "0", "share of API answers replaced by a 500 (0 to 1)")
	f.str(&r.fault429, "fault-429", "0", "share of API answers replaced by a 429 (0 to 1)")
	f.str(&r.faultFail, "fault-fail", "0", "share of runs that fail, as SHARE or SHARE:REASON (default reason INTERNAL_ERROR)")
	f.str(&r.faultStuck, "fault-stuck", "0", "share of runs that stay PROCESSING for ever (0 to 1)")
	f.str(&r.faultWebhook, "fault-webhook", "0", "share of webhook deliveries that fail (0 to 1)")
	f.str(&r.processingTime, "fault-processing-time", "0s", "how long each new run stays PROCESSING before it finishes")
	f.logging(&r.LogFormat, &r.LogLevel)
	return f
}

func (r *sandboxRaw) build() (Sandbox, error) {
	s := r.Sandbox
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		add(fmt.Errorf("--listen %q: want host:port, for example 127.0.0.1:8081", s.Listen))
	}
	keys := r.apiKeys
	if len(keys) == 0 {
		keys = []string{"sk_sandbox_demo=ws_demo"}
	}
	s.APIKeys = map[string]string{}
	for _, kv := range keys {
		k, ws, ok := strings.Cut(kv, "=")
		k, ws = strings.TrimSpace(k), strings.TrimSpace(ws)
		if !ok || k == "" || ws == "" {
			add(fmt.Errorf("--api-key: want KEY=WORKSPACE (for example sk_test=ws_team) or KEY=* for an organization key; got an item without '='"))
			continue
		}
		if ws != "*" && !strings.HasPrefix(ws, "ws_") {
			add(fmt.Errorf("--api-key: workspace %q must start with ws_ (or be * for an organization key)", ws))
			continue
		}
		s.APIKeys[k] = ws
		if s.FirstWorkspace == "" && ws != "*" {
			s.FirstWorkspace = ws
		}
	}
	var err error
	if s.MaxUpload, err = ParseSize(r.maxUpload); err != nil || s.MaxUpload <= 0 {
		add(fmt.Errorf("--max-upload %q: want a size such as 50MB, 10MiB or 1000000", r.maxUpload))
	}
	if s.Credits, err = parseUnlimited(r.credits); err != nil {
		add(fmt.Errorf("--credits %q: want a positive number or unlimited", r.credits))
	}
	if s.RateLimit, err = parseUnlimited(r.rateLimit); err != nil {
		add(fmt.Errorf("--rate-limit %q: want requests per second (a positive number) or unlimited", r.rateLimit))
	}
	if s.FaultLatency, err = parseDuration("--fault-latency", r.latency); err != nil || s.FaultLatency < 0 {
		add(fmt.Errorf("--fault-latency %q: want a duration such as 500ms or 5s", r.latency))
	}
	share := func(name, v string) float64 {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			add(fmt.Errorf("--%s %q: want a share between 0 and 1, for example 0.1", name, v))
		}
		return f
	}
	s.Fault5xx = share("fault-5xx", r.fault5xx)
	s.Fault429 = share("fault-429", r.fault429)
	failShare, reason, _ := strings.Cut(r.faultFail, ":")
	s.FaultFail = share("fault-fail", failShare)
	s.FaultFailReason = strings.ToUpper(strings.TrimSpace(reason))
	if s.FaultFailReason != "" && !slices.Contains(extendapi.FailureReasons, extendapi.FailureReason(s.FaultFailReason)) {
		add(fmt.Errorf("--fault-fail: unknown failure reason %q; use one of %v", s.FaultFailReason, extendapi.FailureReasons))
	}
	s.FaultStuck = share("fault-stuck", r.faultStuck)
	s.FaultWebhook = share("fault-webhook", r.faultWebhook)
	if s.FaultProcessingTime, err = parseDuration("--fault-processing-time", r.processingTime); err != nil || s.FaultProcessingTime < 0 {
		add(fmt.Errorf("--fault-processing-time %q: want a duration such as 4s", r.processingTime))
	}
	add(checkLogging(s.LogFormat, s.LogLevel))
	return s, errors.Join(errs...)
}

// NormalizeBasePath turns "", "/", "ew", "/ew/" into "/" or "/ew/": always a
// leading and trailing slash, so joining is plain concatenation.
func NormalizeBasePath(p string) string {
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "" {
		return "/"
	}
	return "/" + p + "/"
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(strings.TrimSpace(s))
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func decodeKeys(flagName string, vals []string, minLen, exactLen int) ([][]byte, error) {
	var out [][]byte
	for i, v := range vals {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(v), "="))
		}
		if err != nil {
			return nil, fmt.Errorf("%s (value %d): not base64; generate one with `openssl rand -base64 32`", flagName, i+1)
		}
		if len(b) < minLen || (exactLen > 0 && len(b) != exactLen) {
			want := fmt.Sprintf("at least %d", minLen)
			if exactLen > 0 {
				want = fmt.Sprintf("exactly %d", exactLen)
			}
			return nil, fmt.Errorf("%s (value %d): decodes to %d bytes, want %s; generate one with `openssl rand -base64 32`", flagName, i+1, len(b), want)
		}
		out = append(out, b)
	}
	return out, nil
}

// parseDuration accepts Go durations plus a "d" suffix for days (90d).
func parseDuration(flagName, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err == nil {
			return time.Duration(n * float64(24*time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want a duration such as 30s, 12h or 90d", flagName, v)
	}
	return d, nil
}

// ParseSize reads a byte size: a plain number, or with a unit KB, MB, GB
// (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func ParseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || !(n >= 0) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("size %q: want a number with an optional unit (KB, MB, GB, KiB, MiB, GiB)", v)
	}
	return int64(n * float64(mult)), nil
}

func parseUnlimited(v string) (float64, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "unlimited" || v == "0" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return 0, errors.New("want a positive number or unlimited")
	}
	return f, nil
}

func checkHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL, for example https://api.extend.ai", v)
	}
	return nil
}

// checkLoginHeader refuses a login header without a proxy, the headers
// that change within one login (the proxy refreshes the access token and
// re-signs its assertions) and the identity header itself.
func checkLoginHeader(s Serve) error {
	if !s.HeaderMode() {
		return errors.New("--login-header needs --identity-header or --proxy-jwt: without a proxy there is no login to follow")
	}
	h := http.CanonicalHeaderKey(s.LoginHeader)
	switch {
	case h == "Authorization" || h == "X-Forwarded-Access-Token" || h == "X-Auth-Request-Access-Token" || strings.HasSuffix(h, "-Jwt-Assertion"):
		return fmt.Errorf("--login-header %q changes whenever the proxy refreshes the token: name a header that stays the same for one login (a session ID)", s.LoginHeader)
	case s.IdentityHeader != "" && h == http.CanonicalHeaderKey(s.IdentityHeader):
		return fmt.Errorf("--login-header %q is the identity header: the session is bound to the identity already", s.LoginHeader)
	}
	return nil
}

// checkSignOutURL accepts a path on the proxy's host (/oauth2/sign_out?...)
// or an http(s) URL (a provider's end-session endpoint); a
// protocol-relative "//host" is refused, as it reads like a path but leaves
// the host.
func checkSignOutURL(v string) error {
	if strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//") && !strings.HasPrefix(v, "/\\") {
		if _, err := url.Parse(v); err != nil {
			return fmt.Errorf("%q is not a valid path", v)
		}
		return nil
	}
	if err := checkHTTPURL(v); err != nil {
		return fmt.Errorf("%q is neither a path on this host (/oauth2/sign_out?rd=%%2F) nor an http(s) URL", v)
	}
	return nil
}

// normalizeRegion accepts "eu" for "eu1", as Extend's CLI does.
func normalizeRegion(region string) string {
	if region == "eu" {
		return "eu1"
	}
	return region
}

func checkRegion(region string) error {
	switch region {
	case "us", "us2", "eu1":
		return nil
	}
	return fmt.Errorf("--region %q: want us, us2 or eu1 (eu is accepted for eu1)", region)
}

func checkLogging(format, level string) error {
	var errs []error
	if format != "text" && format != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", format))
	}
	switch strings.ToLower(level) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", level))
	}
	return errors.Join(errs...)
}

// parseCount reads a positive whole number given to flag.
func parseCount(flag, v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s %q: want a whole number of at least 1, for example 16", flag, v)
	}
	return n, nil
}
