package views

import (
	"strings"
	"testing"
)

// TestFailedRunPageNeverSaysProcessing: a failed run without timings or
// credits says they are not reported for failed runs, never that it is
// still processing, and links to the other runs with the same reason.
func TestFailedRunPageNeverSaysProcessing(t *testing.T) {
	page := fixtureRunPage()
	page.Status, page.FailureReason = StatusFailed, "CORRUPT_FILE"
	page.Timings, page.Usage, page.FilledValues = StageTimings{ForFailedRun: true}, nil, nil
	out, doc := render(t, RunView(page))
	if strings.Contains(strings.ToLower(out), "still processing") {
		t.Error("a failed run's page says it is still processing")
	}
	if got := testids(doc, "timings-missing").Text(); !strings.Contains(got, "not reported for failed runs") {
		t.Errorf("timings say %q", got)
	}
	if got := testids(doc, "credits-missing").Text(); !strings.Contains(got, "not reported for failed runs") {
		t.Errorf("credits say %q", got)
	}
	link := testids(doc, "failure-same-reason")
	if href := link.AttrOr("href", ""); !strings.Contains(href, "reason=CORRUPT_FILE") || !strings.Contains(href, "status=FAILED") {
		t.Errorf("same-reason link %q", href)
	}
}
