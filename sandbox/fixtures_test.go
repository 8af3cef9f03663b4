package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
)

// uploadFixture uploads a real-world form read in place.
func uploadFixture(t *testing.T, c *extendapi.Client, name string) *extendapi.File {
	t.Helper()
	data, err := os.ReadFile(fixturePath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return uploadFile(t, c, name, data, "")
}

// TestRealFormsEveryFieldFillable: every field of sample_form.pdf and
// with_xfa_fields.pdf is detected through the API, filled through the API
// from extend_edit:value, and reads back from the download with pdfcpu.
func TestRealFormsEveryFieldFillable(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	for _, name := range []string{"sample_form.pdf", "with_xfa_fields.pdf"} {
		t.Run(name, func(t *testing.T) {
			// Which fields a form has is the engine's business (its own
			// tests pin the counts); through HTTP the schema must be the
			// engine's, and every one of its fields must fill.
			local, err := NewEngine(nil).Detect(ctx, fixturePath(t, name), "", nil)
			if err != nil {
				t.Fatalf("in-process Detect: %v", err)
			}
			file := uploadFixture(t, c, name)
			det, err := c.DetectForm(ctx, &extendapi.DetectFormRequest{File: extendapi.FileRef{ID: file.ID}})
			if err != nil {
				t.Fatalf("DetectForm: %v", err)
			}
			var schema struct {
				Properties map[string]map[string]any `json:"properties"`
			}
			if err := json.Unmarshal(det.Output.Schema, &schema); err != nil {
				t.Fatal(err)
			}
			if string(det.Output.Schema) != string(local.Response.Schema) {
				t.Fatalf("the schema detected through HTTP differs from the engine's")
			}
			wantFields := len(schema.Properties)
			if wantFields < 28 {
				t.Fatalf("only %d properties detected", wantFields)
			}
			// A value for every property, written through extend_edit:value.
			want := map[string]any{}
			i := 0
			for _, prop := range slices.Sorted(maps.Keys(schema.Properties)) {
				p := schema.Properties[prop]
				i++
				switch p["extend_edit:field_type"] {
				case "signature":
					continue // signatures take no value (the engine's rule)
				case "checkbox":
					want[prop] = true
				case "radio", "dropdown":
					enum, _ := p["enum"].([]any)
					if len(enum) == 0 || enum[0] == nil {
						t.Fatalf("choice property %q without options", prop)
					}
					want[prop] = enum[0]
				default:
					v := fmt.Sprintf("%d", 100+i)
					if max, ok := p["maxLength"].(float64); ok && int(max) < len(v) {
						v = v[len(v)-int(max):]
					}
					want[prop] = v
				}
				p["extend_edit:value"] = want[prop]
			}
			withValues, _ := json.Marshal(map[string]any{"type": "object", "properties": schema.Properties})
			noFlatten := false // the values are read back as field values
			run, err := c.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}, Config: &extendapi.EditConfig{
				Schema: withValues, AdvancedOptions: &extendapi.EditAdvancedOptions{FlattenPDF: &noFlatten}}})
			if err != nil {
				t.Fatalf("Edit: %v", err)
			}
			for prop := range want {
				if _, ok := run.Output.FilledValues[prop]; !ok {
					t.Errorf("property %q (%v) was not filled", prop, schema.Properties[prop]["extend_edit:field_type"])
				}
			}
			if len(run.Output.FilledValues) != len(want) || *run.Metrics.FieldCount != wantFields {
				t.Fatalf("%d values filled of %d, fieldCount %d of %d", len(run.Output.FilledValues), len(want), *run.Metrics.FieldCount, wantFields)
			}
			status, pdf := ts.download(run.Output.EditedFile.PresignedURL)
			if status != 200 {
				t.Fatalf("download: %d", status)
			}
			out := filepath.Join(t.TempDir(), "filled.pdf")
			if err := os.WriteFile(out, pdf, 0o600); err != nil {
				t.Fatal(err)
			}
			got := readFormValues(t, out)
			for prop, v := range want {
				if !sameFormValue(got[prop], v) {
					t.Errorf("field %q reads back %#v, want %#v", prop, got[prop], v)
				}
			}
		})
	}
}

// TestRealFormsUnicodeNames: the emoji names of fancy_fields.pdf survive
// detection, instructions, filledValues and the list unchanged.
func TestRealFormsUnicodeNames(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	file := uploadFixture(t, c, "fancy_fields.pdf")
	run, err := c.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID},
		Config: &extendapi.EditConfig{Instructions: "First Name 🚀: Ada\nAre You A Fairy? 🌿: yes\nHistorical Figures 🐺: Ada Lovelace 💻\n"}})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	want := map[string]string{"First Name 🚀": `"Ada"`, "Are You A Fairy? 🌿": `true`, "Historical Figures 🐺": `"Ada Lovelace 💻"`}
	for k, v := range want {
		if got := string(run.Output.FilledValues[k]); got != v {
			t.Errorf("filledValues[%q] = %s, want %s", k, got, v)
		}
	}
	det, err := c.DetectForm(ctx, &extendapi.DetectFormRequest{File: extendapi.FileRef{ID: file.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	_ = json.Unmarshal(det.Output.Schema, &schema)
	for k := range want {
		if _, ok := schema.Properties[k]; !ok {
			t.Errorf("property %q missing from the detected schema", k)
		}
	}
}

// TestRealFormsFailures: the encrypted fixture needs its password; the
// damaged one fails cleanly and the server stays up.
func TestRealFormsFailures(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	enc := uploadFixture(t, c, "encrypted_new.pdf")
	created, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: enc.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if run := waitRun(t, c, created.ID); run.FailureReason != extendapi.ReasonPasswordProtectedFile {
		t.Fatalf("encrypted_new.pdf: %s %s", run.Status, run.FailureReason)
	}
	broken := uploadFixture(t, c, "missing_endobj_keyword.pdf")
	created, err = c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: broken.ID}})
	if err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, c, created.ID)
	if run.Status != extendapi.StatusFailed || (run.FailureReason != extendapi.ReasonCorruptFile && run.FailureReason != extendapi.ReasonEmptySchema) {
		t.Fatalf("missing_endobj_keyword.pdf: %s %s, want a clean CORRUPT_FILE or EMPTY_SCHEMA", run.Status, run.FailureReason)
	}
	if _, err := c.GetEditRun(ctx, run.ID); err != nil {
		t.Fatalf("the server did not survive: %v", err)
	}
}
