package middleware

import (
	"fmt"
	"time"
)

// Refusal is a request a layer turned away, in words a person can act on.
// The dashboard's error handler renders it as a page (or JSON) with the
// status; Err is for the log only.
type Refusal struct {
	Status      int
	Heading     string
	Explanation string
	// Category is a short machine-readable kind ("csrf", "rate limited").
	Category   string
	RetryAfter time.Duration
	Err        error
}

func (r *Refusal) Error() string {
	msg := fmt.Sprintf("%d %s", r.Status, r.Heading)
	if r.Err != nil {
		msg += ": " + r.Err.Error()
	}
	return msg
}

func (r *Refusal) Unwrap() error { return r.Err }

// FormatSize says a byte count the way the refusals do: "1.5 MB".
func FormatSize(n int64) string {
	switch {
	case n >= 999_950: // would round to "1000.0 KB"
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
