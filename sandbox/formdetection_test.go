package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
)

// TestFormDetection: async runs, the sync endpoint, and the deprecated
// generate endpoint, whose schema feeds an edit run.
func TestFormDetection(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	form := demoForm(t, "")
	file := uploadFile(t, c, form.Name, form.PDF, "")
	req := &extendapi.DetectFormRequest{File: extendapi.FileRef{ID: file.ID}}

	created, err := c.CreateFormDetectionRun(ctx, req)
	if err != nil {
		t.Fatalf("CreateFormDetectionRun: %v", err)
	}
	if created.Status != extendapi.StatusProcessing || created.Config == nil || created.Config.AdvancedOptions == nil {
		t.Fatalf("created = %+v, want PROCESSING with the effective config", created)
	}
	var run *extendapi.FormDetectionRun
	for run = created; !run.Status.Terminal(); {
		if run, err = c.GetFormDetectionRun(ctx, created.ID); err != nil {
			t.Fatalf("GetFormDetectionRun: %v", err)
		}
	}
	if run.Status != extendapi.StatusProcessed || run.Output == nil || run.Metrics == nil || run.Metrics.FieldCount == nil || run.Usage == nil {
		t.Fatalf("detection run = %+v", run)
	}
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(run.Output.Schema, &schema); err != nil || len(schema.Properties) != *run.Metrics.FieldCount {
		t.Fatalf("schema with %d properties (%v), metrics say %d fields", len(schema.Properties), err, *run.Metrics.FieldCount)
	}

	sync, err := c.DetectForm(ctx, req)
	if err != nil || sync.Status != extendapi.StatusProcessed || string(sync.Output.Schema) != string(run.Output.Schema) {
		t.Fatalf("DetectForm = %+v, %v; want the same schema", sync, err)
	}

	generated, err := c.GenerateEditSchema(ctx, req)
	if err != nil || string(generated.Schema) != string(run.Output.Schema) {
		t.Fatalf("GenerateEditSchema = %+v, %v", generated, err)
	}
	// The schema goes straight into an edit (§2.8).
	edited, err := c.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID},
		Config: &extendapi.EditConfig{Schema: generated.Schema, Instructions: form.Instructions}})
	if err != nil || len(edited.Output.FilledValues) == 0 {
		t.Fatalf("edit with the detected schema: %+v, %v", edited, err)
	}

	text := uploadFile(t, c, "notes.txt", []byte("just text"), "")
	_, err = c.DetectForm(ctx, &extendapi.DetectFormRequest{File: extendapi.FileRef{ID: text.ID}})
	if ae := asAPIError(t, err); ae.StatusCode != http.StatusUnprocessableEntity || ae.Code != string(extendapi.ReasonFileTypeNotSupported) {
		t.Fatalf("DetectForm on text: %d %s", ae.StatusCode, ae.Code)
	}
	if _, err := c.GetFormDetectionRun(ctx, "sgr_unknown"); !errors.Is(err, extendapi.ErrNotFound) {
		t.Fatalf("unknown detection run: %v", err)
	}
	headers := authHeaders(testKeyA)
	for _, body := range []string{`{}`, `{"file":{"id":"file_nope"}}`, `{"file":{"id":"` + file.ID + `"},"config":{"inputSchema":"x"}}`} {
		resp, data := ts.raw(http.MethodPost, "/form_detection_runs", headers, []byte(body))
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d %s, want 400 or 404", body, resp.StatusCode, data)
		}
	}
}
