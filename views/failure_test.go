package views

import (
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
)

func TestFailureExplanationCoversDocumentedReasons(t *testing.T) {
	if len(extendapi.FailureReasons) != 12 {
		t.Fatalf("extendapi lists %d reasons; the docs have 12", len(extendapi.FailureReasons))
	}
	unknownMeaning, _ := FailureExplanation("SOMETHING_NEW")
	seen := map[string]string{}
	for _, reason := range extendapi.FailureReasons {
		meaning, action := FailureExplanation(string(reason))
		if meaning == "" || action == "" {
			t.Errorf("%s: empty explanation", reason)
		}
		if strings.Contains(meaning, "does not know") || meaning == unknownMeaning {
			t.Errorf("%s falls back to the unknown-reason text", reason)
		}
		if other, dup := seen[meaning]; dup {
			t.Errorf("%s and %s share a meaning", reason, other)
		}
		seen[meaning] = string(reason)
	}
	if len(failureHelpByReason) != len(extendapi.FailureReasons) {
		t.Errorf("%d explanations for %d documented reasons", len(failureHelpByReason), len(extendapi.FailureReasons))
	}
}

func TestFailureExplanationUnknownAndEmpty(t *testing.T) {
	meaning, action := FailureExplanation("QUANTUM_FLUX")
	if !strings.Contains(meaning, "QUANTUM_FLUX") || action == "" {
		t.Errorf("unknown reason: meaning %q, action %q", meaning, action)
	}
	meaning, action = FailureExplanation("")
	if meaning == "" || action == "" || strings.Contains(meaning, "()") {
		t.Errorf("empty reason: meaning %q, action %q", meaning, action)
	}
}
