package middleware

import (
	"errors"
	"net/http"
	"testing"
)

func TestRefusalErrorAndUnwrap(t *testing.T) {
	cause := errors.New("token mismatch")
	tests := []struct {
		name      string
		refusal   *Refusal
		wantText  string
		wantCause error
	}{
		{"without a cause", &Refusal{Status: http.StatusForbidden, Heading: "Form expired or forged"}, "403 Form expired or forged", nil},
		{"with a cause", &Refusal{Status: http.StatusRequestEntityTooLarge, Heading: "Too large", Err: cause}, "413 Too large: token mismatch", cause},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.refusal.Error(); got != tt.wantText {
				t.Errorf("Error() = %q, want %q", got, tt.wantText)
			}
			if got := tt.refusal.Unwrap(); got != tt.wantCause {
				t.Errorf("Unwrap() = %v, want %v", got, tt.wantCause)
			}
			if tt.wantCause != nil && !errors.Is(tt.refusal, tt.wantCause) {
				t.Errorf("errors.Is does not find the cause through the refusal")
			}
			var wrapped error = tt.refusal
			if refusalOf(wrapped) != tt.refusal {
				t.Errorf("errors.As does not find the refusal itself")
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"},
		{1, "1 byte"},
		{999_949, "999.9 KB"},
		{999_999, "1.0 MB"},
		{999, "999 bytes"},
		{1000, "1.0 KB"},
		{1536, "1.5 KB"},
		{64 << 10, "65.5 KB"},
		{1_000_000, "1.0 MB"},
		{DefaultFormLimit, "1.0 MB"},
		{1_500_000, "1.5 MB"},
		{25 << 20, "26.2 MB"},
	}
	for _, tt := range tests {
		if got := FormatSize(tt.n); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
