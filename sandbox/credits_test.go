package sandbox

import "testing"

func TestEngineCreditsForPages(t *testing.T) {
	for _, tt := range []struct {
		pages int
		want  float64
	}{{-1, 0}, {0, 0}, {1, 1}, {2, 2}, {37, 37}} {
		if got := CreditsForPages(tt.pages); got != tt.want {
			t.Errorf("CreditsForPages(%d) = %v, want %v", tt.pages, got, tt.want)
		}
	}
}
