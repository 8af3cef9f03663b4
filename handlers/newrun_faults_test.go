package handlers

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/views"
)

// TestNewRunKeepsTheFormWhenExtendFails: with the sandbox answering every
// request with a 5xx (or a 429, or too slowly), Detect fields and Start
// run come back with the form as the person filled it, a clear error and
// the error's status, never an error page that loses their work.
func TestNewRunKeepsTheFormWhenExtendFails(t *testing.T) {
	const (
		schema       = `{"type": "object", "properties": {"name": {"type": "string"}}}`
		instructions = "Applicant: Jane Doe, born 1990-04-02"
	)
	env := newTestEnv(t, envOptions{noRetry: true, upstreamTimeout: time.Second})
	env.connect(demoKey, demoWS)
	form := demoForm(t)

	// An upload that succeeded before Extend started failing: its file ID
	// must survive the failure.
	ok := env.postMultipart("runs/new/detect?ws="+demoWS, newRunParts(form, "", ""), env.csrf(), nil)
	if ok.StatusCode != http.StatusOK {
		t.Fatalf("detect before the faults: %d %s", ok.StatusCode, errorText(ok))
	}
	fileID := ok.doc(t).Find(`input[name="file_id"]`).AttrOr("value", "")
	if fileID == "" {
		t.Fatal("no file ID after a successful upload")
	}
	uploaded := []formPart{
		{name: views.FieldInput, value: views.InputUpload}, {name: views.FieldFileID, value: fileID},
		{name: views.FieldFileName, value: form.Name}, {name: views.FieldSchema, value: schema},
		{name: views.FieldInstructions, value: instructions}, {name: "tableParsingEnabled", value: "true"},
	}
	fromURL := []formPart{
		{name: views.FieldInput, value: views.InputURL}, {name: views.FieldFileURL, value: "https://example.com/form.pdf"},
		{name: views.FieldSchema, value: schema}, {name: views.FieldInstructions, value: instructions},
	}

	tests := []struct {
		name       string
		faults     sandbox.Faults
		path       string
		parts      []formPart
		wantStatus int
		wantError  string
		keepsFile  bool
	}{
		{"5xx on start, uploaded file", sandbox.Faults{Rate5xx: 1}, "runs/new", uploaded, http.StatusBadGateway, "server error (500)", true},
		{"5xx on detect, uploaded file", sandbox.Faults{Rate5xx: 1}, "runs/new/detect", uploaded, http.StatusBadGateway, "server error (500)", true},
		{"5xx on start, file URL", sandbox.Faults{Rate5xx: 1}, "runs/new", fromURL, http.StatusBadGateway, "server error (500)", false},
		{"5xx on the upload itself", sandbox.Faults{Rate5xx: 1}, "runs/new",
			newRunParts(form, schema, instructions), http.StatusBadGateway, "server error (500)", false},
		{"5xx on detect, upload", sandbox.Faults{Rate5xx: 1}, "runs/new/detect",
			newRunParts(form, schema, instructions), http.StatusBadGateway, "server error (500)", false},
		{"429 on start", sandbox.Faults{Rate429: 1}, "runs/new", uploaded, http.StatusTooManyRequests, "rate limiting", true},
		{"timeout on start", sandbox.Faults{Latency: 5 * time.Second}, "runs/new", uploaded, http.StatusGatewayTimeout, "in time", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.sb.SetFaults(tt.faults)
			defer env.sb.SetFaults(sandbox.Faults{})
			r := env.postMultipart(tt.path+"?ws="+demoWS, tt.parts, env.csrf(), http.Header{"HX-Request": {"true"}})
			if r.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, tt.wantStatus, errorText(r))
			}
			if r.Header.Get(views.HeaderFormKept) != "true" {
				t.Error("the answer does not tell htmx it is the form")
			}
			d := r.doc(t)
			if got := testid(d, "schema-input").Text(); strings.TrimSpace(got) != schema {
				t.Errorf("schema came back as %q", got)
			}
			if got := testid(d, "instructions-input").Text(); got != instructions {
				t.Errorf("instructions came back as %q", got)
			}
			msg := testid(d, "form-error").Text()
			if !strings.Contains(msg, tt.wantError) || !strings.Contains(msg, "still here") {
				t.Errorf("form error %q, want it to mention %q", msg, tt.wantError)
			}
			if strings.Contains(msg, "INTERNAL_ERROR") {
				t.Errorf("an HTTP failure is labelled like a run failure: %q", msg)
			}
			gotFile := d.Find(`input[name="file_id"]`).AttrOr("value", "")
			if tt.keepsFile && gotFile != fileID {
				t.Errorf("the uploaded file's ID is lost: %q", gotFile)
			}
			if tt.parts[0].value == views.InputURL && d.Find(`#file-url`).AttrOr("value", "") != "https://example.com/form.pdf" {
				t.Error("the file URL is lost")
			}
			if d.Find(`input[name="tableParsingEnabled"]`).Is(":checked") != (tt.parts[len(tt.parts)-1].name == "tableParsingEnabled") {
				t.Error("the advanced options are not as entered")
			}
		})
	}
}
