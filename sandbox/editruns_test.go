package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/google/go-cmp/cmp"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/form"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// TestEditRunLifecycle drives one run through the client: upload, create,
// poll, read the full run, download the really filled PDF, delete.
func TestEditRunLifecycle(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	form := demoForm(t, "")
	file := uploadFile(t, c, form.Name, form.PDF, "")
	if file.Type != FileTypePDF || file.PresignedURL != "" || !strings.HasPrefix(file.ID, "file_") {
		t.Fatalf("uploaded file = %+v, want a PDF file_ without presigned URL", file)
	}

	created, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{
		File:   &extendapi.FileRef{ID: file.ID},
		Config: &extendapi.EditConfig{Instructions: form.Instructions},
	})
	if err != nil {
		t.Fatalf("CreateEditRun: %v", err)
	}
	if created.Status != extendapi.StatusProcessing || !strings.HasPrefix(created.ID, "edr_") || created.Output != nil {
		t.Fatalf("created run = %+v, want PROCESSING edr_ without output", created)
	}
	opts := created.Config.AdvancedOptions
	if opts == nil || opts.FlattenPDF == nil || !*opts.FlattenPDF || opts.RadioEnumsEnabled == nil || *opts.RadioEnumsEnabled {
		t.Fatalf("effective config %+v: want flattenPdf true and the other defaults set", created.Config)
	}
	if created.CreatedAt == nil || created.UpdatedAt == nil || created.Source != "" {
		t.Fatalf("full run: createdAt %v updatedAt %v source %q; want timestamps and no source", created.CreatedAt, created.UpdatedAt, created.Source)
	}

	run := waitRun(t, c, created.ID)
	if run.Status != extendapi.StatusProcessed {
		t.Fatalf("run ended %s (%s: %s)", run.Status, run.FailureReason, run.FailureMessage)
	}
	if run.Output == nil || run.Output.EditedFile.PresignedURL == "" || len(run.Output.FilledValues) == 0 {
		t.Fatalf("output = %+v, want an edited file with a presigned URL and filled values", run.Output)
	}
	m := run.Metrics
	if m == nil || m.PageCount == nil || *m.PageCount < 1 || m.ProcessingTimeMs == nil || *m.ProcessingTimeMs <= 0 ||
		m.FieldCount == nil || *m.FieldCount == 0 || m.FieldFillingTimeMs == nil {
		t.Fatalf("metrics = %+v, want measured values", m)
	}
	wantCredits := CreditsForPages(*m.PageCount)
	if run.Usage == nil || run.Usage.Credits != wantCredits || len(run.Usage.Breakdown) != 1 ||
		run.Usage.Breakdown[0].ID != run.ID || run.Usage.Breakdown[0].Charges[0].Credits != wantCredits {
		t.Fatalf("usage = %+v, want %g credits attributed to the run", run.Usage, wantCredits)
	}

	status, pdf := ts.download(run.Output.EditedFile.PresignedURL)
	if status != http.StatusOK || !strings.HasPrefix(string(pdf), "%PDF") {
		t.Fatalf("download: %d, %d bytes", status, len(pdf))
	}
	out := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(out, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	// Flattened, as flattenPdf defaults to: the text values are on the page.
	requireFlattened(t, out, shownTexts(t, run.Output.FilledValues, fieldsOf(t, form.PDF)))

	edited, err := c.GetFile(ctx, run.Output.EditedFile.ID)
	if err != nil || edited.Metadata == nil || edited.Metadata.PageCount == nil {
		t.Fatalf("GetFile(edited) = %+v, %v; want the output file with its page count", edited, err)
	}

	if err := c.DeleteEditRun(ctx, run.ID); err != nil {
		t.Fatalf("DeleteEditRun: %v", err)
	}
	if _, err := c.GetEditRun(ctx, run.ID); !errors.Is(err, extendapi.ErrNotFound) {
		t.Fatalf("GetEditRun after delete: %v, want not found", err)
	}
	if _, err := c.GetFile(ctx, run.Output.EditedFile.ID); !errors.Is(err, extendapi.ErrNotFound) {
		t.Fatalf("the edited file survived its run's deletion: %v", err)
	}
	if _, err := c.GetFile(ctx, file.ID); err != nil {
		t.Fatalf("the uploaded input went with the run: %v", err)
	}
	if err := c.DeleteEditRun(ctx, run.ID); !errors.Is(err, extendapi.ErrNotFound) {
		t.Fatalf("second delete: %v, want not found", err)
	}
}

// sameFormValue compares what pdfcpu reads back with a filled value.
func sameFormValue(got, want any) bool {
	if w, ok := want.(string); ok {
		if g, ok := got.(string); ok {
			return g == w
		}
	}
	return cmp.Equal(got, want)
}

// readFormValues is every field's value as pdfcpu's own form export reads
// it: strings for text, dates, radio groups and combo boxes, bools for
// checkboxes, string lists for list boxes.
func readFormValues(t testing.TB, path string) map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if err := api.ExportFormJSON(f, &buf, filepath.Base(path), model.NewDefaultConfiguration()); err != nil {
		t.Fatalf("export form of %s: %v", path, err)
	}
	var group form.FormGroup
	if err := json.Unmarshal(buf.Bytes(), &group); err != nil {
		t.Fatalf("decode exported form: %v", err)
	}
	values := map[string]any{}
	for _, fm := range group.Forms {
		for _, x := range fm.TextFields {
			values[x.Name] = x.Value
		}
		for _, x := range fm.DateFields {
			values[x.Name] = x.Value
		}
		for _, x := range fm.CheckBoxes {
			values[x.Name] = x.Value
		}
		for _, x := range fm.RadioButtonGroups {
			values[x.Name] = x.Value
		}
		for _, x := range fm.ComboBoxes {
			values[x.Name] = x.Value
		}
		for _, x := range fm.ListBoxes {
			values[x.Name] = x.Values
		}
	}
	return values
}
