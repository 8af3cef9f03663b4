package extendapi

import (
	"fmt"
	"log/slog"
	"strings"
	"unicode"
)

// APIKey is an Extend API key. Every way the standard library has of
// printing a value (fmt verbs including %#v and %x, slog, encoding/json) shows
// a redacted placeholder instead of the key, so a key that slips into a log
// line, an error or a view model leaks nothing. Use string(k) only where the
// raw value is genuinely needed (the Authorization header, encryption at
// rest).
//
// APIKey deliberately has no MarshalText/MarshalBinary: gob (used by session
// stores) would then silently store the placeholder instead of the key.
type APIKey string

const redactedKey = "[redacted API key]"

// String returns a placeholder, never the key.
func (k APIKey) String() string { return redactedKey }

// GoString returns a placeholder for %#v, never the key.
func (k APIKey) GoString() string { return "extendapi.APIKey(" + redactedKey + ")" }

// Format makes every fmt verb print the placeholder. Without it, verbs such
// as %d or %x on a string type would print the raw value.
func (k APIKey) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(k.GoString()))
		return
	}
	_, _ = f.Write([]byte(redactedKey))
}

// LogValue keeps the key out of structured logs.
func (k APIKey) LogValue() slog.Value { return slog.StringValue(redactedKey) }

// MarshalJSON keeps the key out of JSON (an accidental json.Marshal of a
// view model must not ship it to a browser).
func (k APIKey) MarshalJSON() ([]byte, error) { return []byte(`"` + redactedKey + `"`), nil }

// Last4 returns the key's last four characters, for telling keys apart in a
// settings page ("…a1b2"). Keys shorter than 12 characters give "", so that
// the hint never reveals a meaningful share of a short secret.
func (k APIKey) Last4() string {
	if len(k) < 12 {
		return ""
	}
	return string(k[len(k)-4:])
}

// IsZero reports whether no key is set.
func (k APIKey) IsZero() bool { return k == "" }

// validate checks that the key can travel in an HTTP header. The error never
// contains the key.
func (k APIKey) validate() error {
	if k == "" {
		return ErrMissingAPIKey
	}
	if strings.IndexFunc(string(k), func(r rune) bool {
		return r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r)
	}) >= 0 {
		return fmt.Errorf("%w: it contains whitespace, control or non-ASCII characters", ErrInvalidAPIKey)
	}
	return nil
}

// redactFrom removes the key from text that came from elsewhere (a server
// message, a body excerpt) before it is kept in an error or a log.
func (k APIKey) redactFrom(s string) string {
	if len(k) < 4 || !strings.Contains(s, string(k)) {
		return s
	}
	return strings.ReplaceAll(s, string(k), redactedKey)
}
