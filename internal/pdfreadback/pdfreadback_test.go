package pdfreadback

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeValue(t *testing.T) {
	tests := []struct {
		raw        string
		want       string
		wantValues []string
	}{
		{`"u:Ada Lovelace"`, "Ada Lovelace", []string{"Ada Lovelace"}},
		{`"/Yes"`, "Yes", []string{"Yes"}},
		{`"/Off"`, "Off", []string{"Off"}},
		{`"/Choice#20One"`, "Choice One", []string{"Choice One"}},
		{`"b:feff"`, "b:feff", []string{"b:feff"}},
		{`["u:Red","u:Blue"]`, "Red, Blue", []string{"Red", "Blue"}},
		{`null`, "", nil},
	}
	for _, tt := range tests {
		got, values := decodeValue(json.RawMessage(tt.raw))
		if got != tt.want || !cmp.Equal(values, tt.wantValues) {
			t.Errorf("decodeValue(%s) = %q %q, want %q %q", tt.raw, got, values, tt.want, tt.wantValues)
		}
	}
}

// TestButtonExportValue: a radio state is an index into /Opt, found on the
// field or up its /Parent chain; without /Opt the state is the value.
func TestButtonExportValue(t *testing.T) {
	objects := map[string]string{
		"10 0 R": `{"/Parent":"11 0 R","/AS":"/1"}`,
		"11 0 R": `{"/Parent":"12 0 R"}`,
		"12 0 R": `{"/Opt":["u:Marcus Aurelius","u:Ada Lovelace"]}`,
		"20 0 R": `{"/AS":"/Yes"}`,
		"30 0 R": `{"/Parent":"30 0 R"}`, // a loop: the walk is bounded
	}
	resolve := func(v json.RawMessage) json.RawMessage {
		var ref string
		if json.Unmarshal(v, &ref) == nil {
			if o, ok := objects[ref]; ok {
				return json.RawMessage(o)
			}
		}
		return v
	}
	tests := []struct{ object, state, want string }{
		{"10 0 R", "1", "Ada Lovelace"},
		{"10 0 R", "0", "Marcus Aurelius"},
		{"10 0 R", "7", "7"}, // past the end of /Opt
		{"10 0 R", "Off", "Off"},
		{"20 0 R", "1", "1"},
		{"30 0 R", "0", "0"},
	}
	for _, tt := range tests {
		if got := buttonExportValue(resolve, tt.object, tt.state); got != tt.want {
			t.Errorf("buttonExportValue(%s, %q) = %q, want %q", tt.object, tt.state, got, tt.want)
		}
	}
}
