package middleware

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const issuedToken = "0123456789abcdef0123456789abcdef0123456789abcdef"

func TestMaskCSRFTokenDiffersEveryTimeAndUnmasks(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		masked := MaskCSRFToken(issuedToken)
		if seen[masked] {
			t.Fatalf("mask %q came twice", masked)
		}
		seen[masked] = true
		if strings.Contains(masked, issuedToken[:8]) {
			t.Errorf("masked %q shows the token", masked)
		}
		if got, ok := UnmaskCSRFToken(masked); !ok || got != issuedToken {
			t.Errorf("UnmaskCSRFToken(%q) = %q, %v; want the token", masked, got, ok)
		}
		if url.QueryEscape(masked) != masked {
			t.Errorf("masked %q needs escaping in a form or header", masked)
		}
	}
	if got := MaskCSRFToken(""); got != "" {
		t.Errorf("MaskCSRFToken(\"\") = %q, want \"\"", got)
	}
}

func TestUnmaskCSRFTokenRefusesWhatIsNotAMask(t *testing.T) {
	for _, in := range []string{"", "a", "not base64!", "YWJj" /* odd length: "abc" */, "%%%"} {
		if got, ok := UnmaskCSRFToken(in); ok {
			t.Errorf("UnmaskCSRFToken(%q) = %q, true; want false", in, got)
		}
	}
}

func TestCSRFTokenMatches(t *testing.T) {
	other := MaskCSRFToken("fedcba9876543210fedcba9876543210fedcba9876543210")
	masked := MaskCSRFToken(issuedToken)
	tampered := []byte(masked)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name         string
		issued, sent string
		want         bool
	}{
		{"masked", issuedToken, masked, true},
		{"another mask", issuedToken, MaskCSRFToken(issuedToken), true},
		{"plain, as before masking", issuedToken, issuedToken, true},
		{"mask of another token", issuedToken, other, false},
		{"tampered mask", issuedToken, string(tampered), false},
		{"a prefix", issuedToken, issuedToken[:10], false},
		{"empty sent", issuedToken, "", false},
		{"empty issued", "", masked, false},
		{"both empty", "", "", false},
		{"mask of empty issued", "", MaskCSRFToken(""), false},
	}
	for _, tt := range tests {
		if got := CSRFTokenMatches(tt.issued, tt.sent); got != tt.want {
			t.Errorf("%s: CSRFTokenMatches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestUnmaskSubmittedCSRF(t *testing.T) {
	masked := MaskCSRFToken(issuedToken)
	forged := MaskCSRFToken("someone else's token, same len.................")
	tests := []struct {
		name       string
		form       url.Values
		header     string
		wantForm   []string
		wantHeader string
	}{
		{"masked form field", url.Values{"_csrf": {masked}}, "", []string{issuedToken}, ""},
		{"masked header", nil, masked, nil, issuedToken},
		{"plain stays", url.Values{"_csrf": {issuedToken}}, issuedToken, []string{issuedToken}, issuedToken},
		{"forged stays for the check to refuse", url.Values{"_csrf": {forged}}, forged, []string{forged}, forged},
		{"only matching values change", url.Values{"_csrf": {forged, masked}}, "", []string{forged, issuedToken}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/runs/edr_1/rerun", strings.NewReader(tt.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.header != "" {
				r.Header.Set("X-CSRF-Token", tt.header)
			}
			UnmaskSubmittedCSRF(r, issuedToken, "_csrf", "X-CSRF-Token")
			if diff := cmp.Diff(tt.wantForm, r.Form["_csrf"]); diff != "" {
				t.Errorf("form (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantForm, r.PostForm["_csrf"]); diff != "" {
				t.Errorf("post form (-want +got):\n%s", diff)
			}
			if got := r.Header.Get("X-CSRF-Token"); got != tt.wantHeader {
				t.Errorf("header = %q, want %q", got, tt.wantHeader)
			}
		})
	}
}
