package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"strings"
	"time"
	"unicode"
)

// Defaults of the sandbox's options.
const (
	DefaultAPIKey    = "sk_sandbox_demo"
	DefaultWorkspace = "ws_demo"
	// OrganizationScope is the workspace value of an organization key: it may
	// reach any workspace but must name one in x-extend-workspace-id.
	OrganizationScope = "*"
	DefaultMaxUpload  = 50 * 1000 * 1000
)

// ErrInvalidOption is wrapped by every error New returns for bad options.
var ErrInvalidOption = errors.New("sandbox: invalid option")

// Options configure a Server. The zero value is a working in-memory sandbox
// with the default demo key.
type Options struct {
	// APIKeys maps an API key to the workspace it reaches; OrganizationScope
	// ("*") makes it an organization key. Empty means the default demo key.
	APIKeys map[string]string
	// DataDir keeps files and runs across restarts; "" keeps them in memory
	// (files in a temporary directory removed by Close).
	DataDir string
	// Seed adds demo files and a week of run history to SeedWorkspace.
	Seed bool
	// SeedWorkspace receives the seed; "" means DefaultWorkspace when a key
	// reaches it, else the alphabetically first workspace of APIKeys.
	SeedWorkspace string
	// MaxUpload bounds uploads and file.url downloads, in bytes (default 50 MB).
	MaxUpload int64
	// AllowPrivateURLs lets file.url reach loopback, private and link-local
	// addresses (refused by default: no SSRF through the sandbox).
	AllowPrivateURLs bool
	// Credits is each workspace's credit budget; 0 means unlimited.
	Credits float64
	// RateLimit is the requests per second allowed per category (GET, WRITE,
	// RUN) and workspace; 0 means unlimited.
	RateLimit float64
	// Faults is the initial fault injection (changeable with SetFaults or
	// POST /_sandbox/faults).
	Faults Faults
	// PublicURL is the absolute URL at which this handler's root is reached
	// from outside, prefix included (e.g. "http://127.0.0.1:8080/_sandbox").
	// Presigned URLs are built on it. Empty: "http://" + the request's Host +
	// BasePath.
	PublicURL string
	// BasePath is the prefix the handler is mounted under (the caller strips
	// it before ServeHTTP), e.g. "/_sandbox". Used only when PublicURL is empty.
	BasePath string
	// Embedded serves the sandbox's own routes (faults, health, blobs,
	// webhook payloads and deliveries, templates) beside the API instead of
	// under /_sandbox/: for a host that mounts the whole sandbox under a
	// _sandbox/ prefix already (the dashboard's --sandbox).
	Embedded bool
	// TemplatesDir holds extra edit templates as JSON files (see templates.go).
	TemplatesDir string
	// Clock is the time source of every timestamp; default time.Now.
	Clock func() time.Time
	// Logger receives the sandbox's logs; default discards.
	Logger *slog.Logger
	// Workers is the size of the processing pool; default 2*GOMAXPROCS.
	Workers int

	// Tests shorten these.
	retrySchedule []time.Duration // webhook redelivery delays
	syncTimeout   time.Duration   // cap of POST /edit and POST /detect_form
}

// withDefaults validates the options and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if len(o.APIKeys) == 0 {
		o.APIKeys = map[string]string{DefaultAPIKey: DefaultWorkspace}
	}
	for key, ws := range o.APIKeys {
		if err := validateKeyPair(key, ws); err != nil {
			return o, err
		}
	}
	if o.MaxUpload == 0 {
		o.MaxUpload = DefaultMaxUpload
	}
	if o.MaxUpload < 0 {
		return o, fmt.Errorf("%w: max upload %d is negative", ErrInvalidOption, o.MaxUpload)
	}
	if o.Credits < 0 || math.IsNaN(o.Credits) || math.IsInf(o.Credits, 0) {
		return o, fmt.Errorf("%w: credits %v must be a non-negative number", ErrInvalidOption, o.Credits)
	}
	if o.RateLimit < 0 || math.IsNaN(o.RateLimit) || math.IsInf(o.RateLimit, 0) {
		return o, fmt.Errorf("%w: rate limit %v must be a non-negative number", ErrInvalidOption, o.RateLimit)
	}
	if err := o.Faults.Validate(); err != nil {
		return o, err
	}
	if o.BasePath != "" {
		o.BasePath = "/" + strings.Trim(o.BasePath, "/")
		if o.BasePath == "/" {
			o.BasePath = ""
		}
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.PublicURL != "" && !strings.HasPrefix(o.PublicURL, "http://") && !strings.HasPrefix(o.PublicURL, "https://") {
		return o, fmt.Errorf("%w: public URL %q must start with http:// or https://", ErrInvalidOption, o.PublicURL)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Workers <= 0 {
		o.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if o.SeedWorkspace == "" {
		o.SeedWorkspace = defaultSeedWorkspace(o.APIKeys)
	} else if !validWorkspaceID(o.SeedWorkspace) {
		return o, fmt.Errorf("%w: seed workspace %q", ErrInvalidOption, o.SeedWorkspace)
	}
	return o, nil
}

// defaultSeedWorkspace prefers the demo workspace, else the first workspace
// a key names in alphabetical order.
func defaultSeedWorkspace(keys map[string]string) string {
	first := ""
	for _, ws := range keys {
		if ws == DefaultWorkspace {
			return ws
		}
		if ws != OrganizationScope && (first == "" || ws < first) {
			first = ws
		}
	}
	if first == "" {
		return DefaultWorkspace
	}
	return first
}

func validateKeyPair(key, ws string) error {
	if key == "" {
		return fmt.Errorf("%w: empty API key", ErrInvalidOption)
	}
	for _, r := range key {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: API key holds a space or a non-printable or non-ASCII character", ErrInvalidOption)
		}
	}
	if ws == OrganizationScope {
		return nil
	}
	if !validWorkspaceID(ws) {
		return fmt.Errorf("%w: workspace %q: want letters, digits, '_' or '-' (e.g. ws_demo), or * for an organization key", ErrInvalidOption, ws)
	}
	return nil
}

// validWorkspaceID accepts the IDs the sandbox can keep: short, and made of
// letters, digits, '_' and '-'.
func validWorkspaceID(ws string) bool {
	if ws == "" || len(ws) > 100 {
		return false
	}
	for _, r := range ws {
		if !(r == '_' || r == '-' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// publicBase is the absolute URL of the handler's root as the caller of r
// sees it, used for presigned URLs.
func (o Options) publicBase(r *http.Request) string {
	if o.PublicURL != "" {
		return o.PublicURL
	}
	scheme := "http"
	if r != nil && r.TLS != nil {
		scheme = "https"
	}
	host := "localhost"
	if r != nil && r.Host != "" {
		host = r.Host
	}
	return scheme + "://" + host + o.BasePath
}
