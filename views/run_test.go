package views

import (
	"sort"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
)

func TestRunViewMasksPersonalValues(t *testing.T) {
	page := fixtureRunPage()
	out, doc := render(t, RunView(page))

	for _, secret := range []string{secretValue, secretInstructions} {
		if strings.Contains(out, secret) || strings.Contains(out, html.EscapeString(secret)) {
			t.Errorf("masked value %q appears in the page", secret)
		}
	}
	values := testids(doc, "filled-value")
	if values.Length() != len(page.FilledValues) {
		t.Fatalf("filled values = %d, want %d", values.Length(), len(page.FilledValues))
	}
	// Masked values with a reveal key: 2 filled values, instructions, one
	// schema preset value.
	if n := testids(doc, "reveal-button").Length(); n != 4 {
		t.Errorf("reveal buttons = %d, want 4", n)
	}
	var fields []string
	testids(doc, "reveal-form").Each(func(_ int, f *goquery.Selection) {
		if strings.ToLower(f.AttrOr("method", "")) != "post" {
			t.Error("reveal is not a POST")
		}
		if want := RunRevealURL(testBasePath, testWS, page.ID); f.AttrOr("action", "") != want {
			t.Errorf("reveal action = %q, want %q", f.AttrOr("action", ""), want)
		}
		fields = append(fields, f.Find(`input[name="field"]`).AttrOr("value", ""))
	})
	sort.Strings(fields)
	wantFields := []string{"applicant_name", "config:instructions", "employment.status", "schema:applicant_name"}
	if diff := cmp.Diff(wantFields, fields); diff != "" {
		t.Errorf("reveal keys (-want +got):\n%s", diff)
	}
	revealed := testids(doc, "revealed-value")
	var texts []string
	revealed.Each(func(_ int, s *goquery.Selection) { texts = append(texts, s.Text()) })
	if diff := cmp.Diff([]string{"true", "Initech LLC"}, texts); diff != "" {
		t.Errorf("revealed values (-want +got):\n%s", diff)
	}

	// Once revealed, the value is shown and its button is gone.
	page.FilledValues[0].Value.Masked = false
	out, doc = render(t, RunView(page))
	if !strings.Contains(out, html.EscapeString(secretValue)) {
		t.Error("a revealed value is not shown")
	}
	if n := testids(doc, "reveal-button").Length(); n != 3 {
		t.Errorf("reveal buttons after one reveal = %d, want 3", n)
	}
}

func TestRunViewActions(t *testing.T) {
	tests := []struct {
		name      string
		readOnly  bool
		canAct    bool
		hasOutput bool
		want      []string
	}{
		// Whoever may download may view the PDFs.
		{"admin", false, true, true, []string{"action-delete", "action-download", "action-rerun", "action-view-edited", "action-view-input"}},
		{"read-only mode", true, true, true, []string{"action-download", "action-view-edited", "action-view-input"}},
		{"viewer role", false, false, true, []string{"action-download", "action-view-edited", "action-view-input"}},
		{"no output yet", false, true, false, []string{"action-delete", "action-rerun"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := fixtureRunPage()
			page.ReadOnly, page.CanAct, page.HasOutput = tt.readOnly, tt.canAct, tt.hasOutput
			out, doc := render(t, RunView(page))
			var got []string
			doc.Find(`[data-testid^="action-"]`).Each(func(_ int, s *goquery.Selection) {
				got = append(got, s.AttrOr("data-testid", ""))
			})
			sort.Strings(got)
			if diff := cmp.Diff(tt.want, got, cmpEmptyEqual); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if !page.MayAct() && (strings.Contains(out, "/rerun") || strings.Contains(out, "/delete")) {
				t.Error("an action URL is in the page although actions are not allowed")
			}
		})
	}
}

var cmpEmptyEqual = cmp.Transformer("nilToEmpty", func(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
})

func TestDeleteFormConfirmsNamingTheRun(t *testing.T) {
	page := fixtureRunPage()
	_, doc := render(t, RunView(page))
	form := testids(doc, "delete-form")
	if msg := form.AttrOr("data-confirm", ""); !strings.Contains(msg, page.ID) || !strings.Contains(msg, "permanently") {
		t.Errorf("delete confirmation = %q, want it to name the run and say permanent", msg)
	}
	if !hasAttr(form.Find(`input[name="confirmed"]`), "value") {
		t.Error("delete form lacks the confirmed field")
	}
	if form.Find(`input[name="confirmed"]`).AttrOr("value", "x") != "" {
		t.Error("delete form is pre-confirmed")
	}
}

func TestRunViewFailure(t *testing.T) {
	page := fixtureFailedRunPage()
	_, doc := render(t, RunView(page))
	panel := testids(doc, "failure-panel")
	if panel.Length() != 1 {
		t.Fatal("no failure panel")
	}
	meaning, action := FailureExplanation(page.FailureReason)
	got := map[string]string{
		"code":    strings.TrimSpace(testids(doc, "failure-code").Text()),
		"message": testids(doc, "failure-message").Text(),
		"meaning": testids(doc, "failure-meaning").Text(),
		"action":  testids(doc, "failure-action").Text(),
	}
	want := map[string]string{"code": page.FailureReason, "message": page.FailureMessage, "meaning": meaning, "action": action}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failure panel (-want +got):\n%s", diff)
	}

	// The handler may override the texts.
	page.FailureMeaning, page.FailureAction = "custom meaning", "custom action"
	_, doc = render(t, RunView(page))
	if testids(doc, "failure-meaning").Text() != "custom meaning" || testids(doc, "failure-action").Text() != "custom action" {
		t.Error("handler-provided failure texts are ignored")
	}
}

func TestRunStatusPanelPolling(t *testing.T) {
	tests := []struct {
		page  RunPage
		polls bool
	}{
		{fixtureProcessingRunPage(), true},
		{fixtureRunPage(), false},
		{fixtureFailedRunPage(), false},
	}
	for _, tt := range tests {
		t.Run(tt.page.Status, func(t *testing.T) {
			_, doc := render(t, RunStatusPanel(tt.page))
			panel := testids(doc, "run-status-panel")
			hxGet, has := panel.Attr("hx-get")
			if has != tt.polls {
				t.Fatalf("polling = %v, want %v", has, tt.polls)
			}
			if tt.polls {
				if want := RunStatusURL(testBasePath, testWS, tt.page.ID); hxGet != want {
					t.Errorf("hx-get = %q, want %q", hxGet, want)
				}
				if !hasAttr(panel, "data-poll") {
					t.Error("polling panel is not pausable (data-poll)")
				}
			}
		})
	}
}

func TestRunViewDetails(t *testing.T) {
	page := fixtureRunPage()
	_, doc := render(t, RunView(page))
	if n := testids(doc, "schema-field").Length(); n != 5 {
		t.Errorf("schema fields = %d, want 5 (3 top-level, 2 nested)", n)
	}
	if n := testids(doc, "stage-bar").Length(); n != 4 {
		t.Errorf("stage bars = %d, want 4", n)
	}
	svg := testids(doc, "stage-chart-svg")
	if svg.Find("title").Text() == "" || svg.AttrOr("role", "") != "img" {
		t.Error("stage chart is not an accessible image")
	}
	if got := testids(doc, "credits-total").Text(); got != "4" {
		t.Errorf("credits = %q", got)
	}
	if got := testids(doc, "engine-version").Text(); got != "1.0.0" {
		t.Errorf("engine version = %q", got)
	}
	if dl := testids(doc, "action-download").AttrOr("href", ""); dl != RunDownloadURL(testBasePath, testWS, page.ID) {
		t.Errorf("download link = %q", dl)
	}
	raw := testids(doc, "raw-json")
	if !strings.Contains(raw.Find("pre").Text(), `"object": "edit_run"`) {
		t.Error("raw JSON missing")
	}
	if raw.Find(`[data-copy-target="raw-json-text"]`).Length() != 1 {
		t.Error("raw JSON is not copyable")
	}
}
