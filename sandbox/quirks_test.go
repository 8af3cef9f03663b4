package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/google/go-cmp/cmp"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// TestQuirkFamilies: each family of real-world forms that broke the sandbox
// (issue 13, "What goes wrong today" 1-5), as a minimal PDF: the field is
// detected as what it is, filled, reported in filledValues, qpdf reads the
// value back from every widget, and a text value shows in the widget's
// appearance (pdftotext).
func TestQuirkFamilies(t *testing.T) {
	engine := NewEngine(nil)
	noFlatten := false
	for _, qc := range quirkCases(t) {
		t.Run(qc.name, func(t *testing.T) {
			in := engineWriteTemp(t, "quirk.pdf", qc.pdf)
			det, err := engine.Detect(context.Background(), in, "", nil)
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			_, props := engineSchemaProperties(t, det.Response.Schema)
			prop, found := props[qc.field]
			if qc.wantKind == kindPushButton {
				if found {
					t.Fatalf("push button %q is in the schema: %v", qc.field, prop)
				}
				return
			}
			if !found {
				t.Fatalf("field %q missing from the schema %s", qc.field, det.Response.Schema)
			}
			if prop["extend_edit:field_type"] != string(qc.wantKind) {
				t.Errorf("field type = %v, want %s", prop["extend_edit:field_type"], qc.wantKind)
			}
			var wantEnum []any
			for _, e := range qc.wantEnum {
				wantEnum = append(wantEnum, e)
			}
			if wantEnum == nil {
				if e, ok := prop["enum"]; ok {
					t.Errorf("enum = %v, want none", e)
				}
			} else if diff := cmp.Diff(append(wantEnum, nil), prop["enum"]); diff != "" {
				t.Errorf("enum (-want +got):\n%s", diff)
			}

			out := filepath.Join(t.TempDir(), "filled.pdf")
			res, err := engine.Edit(context.Background(), EditJob{InputPath: in, OutputPath: out, Config: withEditDefaults(extendapi.EditConfig{
				Instructions:    fmt.Sprintf("%s: %v", qc.field, qc.value),
				AdvancedOptions: &extendapi.EditAdvancedOptions{FlattenPDF: &noFlatten},
			})})
			if err != nil {
				t.Fatalf("Edit: %v", err)
			}
			want, _ := json.Marshal(qc.value)
			if got := string(res.FilledValues[qc.field]); got != string(want) {
				t.Errorf("filledValues[%q] = %s, want %s", qc.field, got, want)
			}
			readBack := qc.readBack
			if readBack == nil {
				readBack = qc.value
			}
			name := qc.field
			if qc.qpdfName != "" {
				name = qc.qpdfName
			}
			widgets := qpdfFields(t, out)[name]
			if len(widgets) == 0 {
				t.Fatalf("qpdf finds no field %q in the output", name)
			}
			shown := false
			for i, w := range widgets {
				if w.Value != readBack {
					t.Errorf("qpdf reads widget %d of %q as %v, want %v", i, name, w.Value, readBack)
				}
				shown = shown || w.State == readBack
				if qc.wantKind == kindOptionList && w.FieldFlags&1 == 0 {
					t.Errorf("the read-only flag of %q was dropped (flags %d)", name, w.FieldFlags)
				}
			}
			switch qc.wantKind {
			case kindRadio, kindCheckbox:
				if !shown {
					t.Errorf("no widget of %q shows the on state %v: %+v", name, readBack, widgets)
				}
				for i, w := range widgets {
					if !w.Appearances[w.State] || !w.Appearances["Off"] {
						t.Errorf("widget %d of %q: its state %q or Off has no appearance stream: %v", i, name, w.State, w.Appearances)
					}
				}
			default:
				if text := pdftotext(t, out); !strings.Contains(text, fmt.Sprint(qc.value)) {
					t.Errorf("the appearance of %q does not show %v; pdftotext finds %q", name, qc.value, text)
				}
			}
		})
	}
}

// TestUnknownFieldsNeverFailTheDocument: a field the sandbox cannot
// understand is "unknown" in the schema (description from /TU, the reason in
// $comment), is never written, and the rest of the form fills; a form whose
// only field is unknown is EMPTY_SCHEMA.
func TestUnknownFieldsNeverFailTheDocument(t *testing.T) {
	// A radio group whose buttons have no appearances (so no on states) and
	// a field of a type that does not exist.
	odd := []string{
		"<< /FT /Btn /Ff 49152 /T (Shipping) /TU (Shipping speed) /Kids [7 0 R] >>",
		"<< /Parent 6 0 R " + quirkWidget("50 700 62 712") + " >>",
		"<< /FT /Xyz /T (Mystery) /TU (Mystery box) " + quirkWidget("50 650 250 670") + " >>",
	}
	in := engineWriteTemp(t, "odd.pdf", quirkForm("6 0 R 8 0 R", "7 0 R 8 0 R", odd...))
	engine := NewEngine(nil)
	det, err := engine.Detect(context.Background(), in, "", nil)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	_, props := engineSchemaProperties(t, det.Response.Schema)
	for name, desc := range map[string]string{"Shipping": "Shipping speed", "Mystery": "Mystery box"} {
		p := props[name]
		comment, _ := p["$comment"].(string)
		if p["extend_edit:field_type"] != "unknown" || p["description"] != desc || comment == "" {
			t.Errorf("%s: %v, want an unknown field described %q with a $comment", name, p, desc)
		}
	}
	res, err := engine.Edit(context.Background(), EditJob{InputPath: in, OutputPath: filepath.Join(t.TempDir(), "o.pdf"),
		Config: engineConfig("Plain: hello\nShipping: fast\nMystery: box")})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if diff := cmp.Diff(map[string]json.RawMessage{"Plain": json.RawMessage(`"hello"`)}, res.FilledValues); diff != "" {
		t.Errorf("filledValues (-want +got):\n%s", diff)
	}

	onlyOdd := rawPDF(
		"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [4 0 R] >>",
		"<< /FT /Xyz /T (Mystery) /Type /Annot /Subtype /Widget /Rect [50 650 250 670] /P 3 0 R >>")
	_, err = engine.Detect(context.Background(), engineWriteTemp(t, "only.pdf", onlyOdd), "", nil)
	if got := engineFailureReason(t, err); got != extendapi.ReasonEmptySchema {
		t.Errorf("a form of unknown fields only: %q (%v), want EMPTY_SCHEMA", got, err)
	}
}

// TestUnreadableDocumentsAreCorruptFile: documents found by fuzzing on which
// pdfcpu panics, would write hundreds of megabytes, or cannot write back
// what it read fail as CORRUPT_FILE with a message, quickly (detection,
// which writes nothing, succeeds on the last).
func TestUnreadableDocumentsAreCorruptFile(t *testing.T) {
	sparse := quirkForm("", "")
	// The catalog renumbered, and a cross-reference table pdfcpu cannot
	// use, so that it rebuilds one from the objects it finds.
	sparse = bytes.Replace(sparse, []byte("\n1 0 obj"), []byte("\n10000214 0 obj"), 1)
	sparse = bytes.Replace(sparse, []byte("\nxref\n"), []byte("\nxrex\n"), 1)
	unwritable, err := os.ReadFile(filepath.Join("testdata", "odd", "unwritable-page-tree.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, why string // why: what the failure message must say
		pdf       []byte
	}{
		// pdfcpu's validation indexes a fourth coordinate that is not there.
		{"a three-number Rect on a widget missing from its page", "pdfcpu panicked", rawPDF(
			"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
			"<< /FT /Tx /T (Plain) /DA (/Helv 0 Tf 0 g) /Type /Annot /Subtype /Widget /Rect [50 250 760] /P 3 0 R >>")},
		{"one object numbered 10000214 in a file of five", "numbers objects up to", sparse},
		// A fuzzed quirk form: pdfcpu reads it, but cannot write it back
		// even untouched (its page tree lost an object).
		{"a page tree pdfcpu cannot write back", "cannot be written back", unwritable},
	}
	engine := NewEngine(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := engineWriteTemp(t, "odd.pdf", tt.pdf)
			_, err := engine.Detect(context.Background(), in, "", nil)
			wantDetect := extendapi.ReasonCorruptFile
			if tt.why == "cannot be written back" {
				wantDetect = "" // detection writes nothing
			}
			if got := engineFailureReason(t, err); got != wantDetect {
				t.Errorf("Detect: %q (%v), want %q", got, err, wantDetect)
			}
			_, err = engine.Edit(context.Background(), EditJob{InputPath: in, OutputPath: filepath.Join(t.TempDir(), "o.pdf"), Config: engineConfig("Plain: x")})
			if got := engineFailureReason(t, err); got != extendapi.ReasonCorruptFile {
				t.Errorf("Edit: %q (%v), want CORRUPT_FILE", got, err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.why) {
				t.Errorf("Edit: %v, want a message saying %q", err, tt.why)
			}
		})
	}
}

// TestFilledValuesAreReadBack: filledValues is what the filled document
// holds, not the plan: a planned value the document does not take (here a
// field of a type that does not exist, which the writer refuses) is left
// out and logged with the field's name; the others are reported.
func TestFilledValuesAreReadBack(t *testing.T) {
	pdf := quirkForm("6 0 R", "6 0 R", "<< /FT /Xyz /T (Mystery) "+quirkWidget("50 650 250 670")+" >>")
	conf := model.NewDefaultConfiguration()
	conf.Cmd = model.FILLFORMFIELDS
	doc, err := api.ReadValidateAndOptimize(bytes.NewReader(pdf), conf)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := detectFields(doc)
	if err != nil {
		t.Fatal(err)
	}
	plan := fillPlan{}
	for _, f := range fields {
		plan.values = append(plan.values, plannedValue{property: f.Name + "Prop", field: f, text: "v-" + f.Name})
	}
	if len(plan.values) != 2 {
		t.Fatalf("planned %d values, want 2 (Plain, Mystery)", len(plan.values))
	}
	var logs bytes.Buffer
	filled, err := writeValues(slog.New(slog.NewTextHandler(&logs, nil)), doc, fields, plan)
	if err != nil {
		t.Fatalf("writeValues: %v", err)
	}
	if diff := cmp.Diff(map[string]json.RawMessage{"PlainProp": json.RawMessage(`"v-Plain"`)}, filled); diff != "" {
		t.Errorf("filledValues (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), "field=Mystery") {
		t.Errorf("the value that did not land is not logged with its field:\n%s", logs.String())
	}
}

// TestRealWorldQuirkyForms: the three forms from tools that broke the
// sandbox (realworld/ in the shared fixtures) are detected, every field that
// takes a value is filled, filledValues holds them all, and qpdf reads the
// values back and pdftotext finds the text values in the widgets'
// appearances.
func TestRealWorldQuirkyForms(t *testing.T) {
	engine := NewEngine(nil)
	noFlatten := false
	for _, name := range []string{"160F-2019.pdf", "FormTestFromOo.pdf", "libreoffice-form.pdf"} {
		t.Run(name, func(t *testing.T) {
			in := engineFixture(t, filepath.Join("realworld", name))
			det, err := engine.Detect(context.Background(), in, "", nil)
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			keys, props := engineSchemaProperties(t, det.Response.Schema)
			type wanted struct {
				value any
				kind  string
			}
			want := map[string]wanted{}
			for i, k := range keys {
				p := props[k]
				kind, _ := p["extend_edit:field_type"].(string)
				var v any
				switch kind {
				case "text":
					v = fmt.Sprintf("Val%03d", i)
					if max, ok := p["maxLength"].(float64); ok && int(max) < len(v.(string)) {
						v = v.(string)[:int(max)]
					}
				case "checkbox":
					v = true
				case "radio", "dropdown", "optionList":
					enum, _ := p["enum"].([]any)
					if len(enum) < 2 {
						t.Fatalf("%s %q has no options: %v", kind, k, p)
					}
					v = enum[len(enum)-2] // the last option: not the default
				default:
					continue
				}
				p["extend_edit:value"] = v
				want[k] = wanted{v, kind}
			}
			if len(want) < 3 {
				t.Fatalf("only %d fillable fields detected: %s", len(want), det.Response.Schema)
			}
			schema, err := json.Marshal(map[string]any{"type": "object", "properties": props})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "filled.pdf")
			res, err := engine.Edit(context.Background(), EditJob{InputPath: in, OutputPath: out, Config: withEditDefaults(extendapi.EditConfig{
				Schema: schema, AdvancedOptions: &extendapi.EditAdvancedOptions{FlattenPDF: &noFlatten},
			})})
			if err != nil {
				t.Fatalf("Edit: %v", err)
			}
			if len(res.FilledValues) != len(want) {
				t.Errorf("filledValues has %d values, want %d", len(res.FilledValues), len(want))
			}
			fields := qpdfFields(t, out)
			text := pdftotext(t, out)
			for _, k := range slices.Sorted(maps.Keys(want)) {
				w := want[k]
				widgets := fields[k]
				if len(widgets) == 0 {
					t.Errorf("qpdf finds no field %q", k)
					continue
				}
				visible, on := false, false
				for _, got := range widgets {
					visible = visible || !got.Hidden
					on = on || (got.State != "" && got.State != "Off" && got.State == got.Value)
					switch w.kind {
					case "checkbox", "radio":
						if got.Value == nil || got.Value == "Off" {
							t.Errorf("%s %q reads back as %v, want it set", w.kind, k, got.Value)
						}
					default:
						if got.Value != w.value {
							t.Errorf("%s %q reads back as %v, want %v", w.kind, k, got.Value, w.value)
						}
					}
				}
				if (w.kind == "checkbox" || w.kind == "radio") && !on {
					t.Errorf("no widget of %s %q shows its on state: %+v", w.kind, k, widgets)
				}
				if s, ok := w.value.(string); ok && visible && w.kind == "text" && len(s) == len("Val000") && !strings.Contains(text, s) {
					t.Errorf("the appearance of %q does not show %q", k, s)
				}
			}
			t.Logf("%s: %d fields filled and read back by qpdf", name, len(want))
		})
	}
}

// FuzzEngineOnOddForms: whatever the bytes, detecting and filling ends in a
// result or a *Failure whose reason is the document's, never a panic and
// never INTERNAL_ERROR. The seeds are the quirk families.
func FuzzEngineOnOddForms(f *testing.F) {
	for _, qc := range quirkCases(f) {
		f.Add(qc.pdf)
	}
	engine := NewEngine(nil)
	f.Fuzz(func(t *testing.T, pdf []byte) {
		dir := t.TempDir()
		in := filepath.Join(dir, "in.pdf")
		if err := os.WriteFile(in, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		check := func(op string, err error) {
			var failure *Failure
			if err != nil && (!errors.As(err, &failure) || failure.Reason == extendapi.ReasonInternalError) {
				t.Fatalf("%s: %v", op, err)
			}
		}
		_, err := engine.Detect(context.Background(), in, "", nil)
		check("Detect", err)
		for _, flatten := range []bool{false, true} {
			_, err = engine.Edit(context.Background(), EditJob{InputPath: in, OutputPath: filepath.Join(dir, "out.pdf"),
				Config: withEditDefaults(extendapi.EditConfig{Instructions: "Plain: x\nCountry: España\nAgree: yes\nColor: Blue",
					AdvancedOptions: &extendapi.EditAdvancedOptions{FlattenPDF: &flatten}})})
			check(fmt.Sprintf("Edit (flattenPdf %v)", flatten), err)
		}
	})
}
