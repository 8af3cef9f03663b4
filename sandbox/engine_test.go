package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/google/go-cmp/cmp"
)

// distinctValue is a value unique to field i that fits maxLen characters.
func distinctValue(i, maxLen int) string {
	v := fmt.Sprintf("V%03d", i)
	if maxLen > 0 && len(v) > maxLen {
		v = fmt.Sprintf("%0*d", maxLen, i)[:maxLen]
	}
	return v
}

func TestEngineFillsEverySampleFormField(t *testing.T) {
	path := engineFixture(t, "sample_form.pdf")
	fields, err := detectFields(engineReadContext(t, path, ""))
	if err != nil {
		t.Fatalf("detectFields: %v", err)
	}
	var lines []string
	want := map[string]any{}
	for i, f := range fields {
		var value string
		switch {
		case f.Kind == kindText && f.Date:
			value = fmt.Sprintf("%02d/15/1990", i%12+1)
			want[f.Name] = value
		case f.Kind == kindText:
			value = distinctValue(i, f.MaxLen)
			want[f.Name] = value
		case f.Kind == kindCheckbox:
			// Flip every box, so unchecking is proven too.
			checked := f.Value == ""
			value = fmt.Sprint(checked)
			want[f.Name] = checked
		case f.Kind == kindRadio:
			value = "female" // normalized match of "FEMALE"
			want[f.Name] = "FEMALE"
		default:
			continue // the push button and the signature take no value
		}
		lines = append(lines, f.Name+": "+value)
	}
	if len(want) != 27 {
		t.Fatalf("planned %d values, want 27 (17 text, 9 checkboxes, 1 radio group)", len(want))
	}

	out := filepath.Join(t.TempDir(), "edited.pdf")
	res, err := NewEngine(nil).Edit(context.Background(), EditJob{InputPath: path, OutputPath: out, Config: engineFieldsConfig(strings.Join(lines, "\n"))})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if len(res.FilledValues) != 27 {
		t.Errorf("filledValues has %d entries, want 27", len(res.FilledValues))
	}
	back := engineReadBack(t, out, "")
	for name, w := range want {
		if diff := cmp.Diff(w, back.values[name]); diff != "" {
			t.Errorf("%q read back (-want +got):\n%s", name, diff)
		}
	}
	m := res.Metrics
	if *m.FieldCount != 28 || *m.FieldsDetectedCount != 28 || *m.PageCount != 1 || *m.FieldFillingTimeMs <= 0 || *m.ProcessingTimeMs < *m.FieldFillingTimeMs {
		t.Errorf("metrics = %+v", m)
	}
}

// TestEngineFillsEveryXFAFormField fills the tax form through a given schema
// carrying extend_edit:value for every text field and checkbox (rule 1).
func TestEngineFillsEveryXFAFormField(t *testing.T) {
	path := engineFixture(t, "with_xfa_fields.pdf")
	engine := NewEngine(nil)
	detected, err := engine.Detect(context.Background(), path, "", nil)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	fields, err := detectFields(engineReadContext(t, path, ""))
	if err != nil {
		t.Fatalf("detectFields: %v", err)
	}
	s, err := parseEditSchema(detected.Response.Schema)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	values := map[string]json.RawMessage{}
	want := map[string]any{}
	for i, f := range fields {
		var v any
		switch f.Kind {
		case kindText:
			v = distinctValue(i, f.MaxLen)
		case kindCheckbox:
			v = i%2 == 0
		default:
			t.Fatalf("unexpected %s field %q", f.Kind, f.Name)
		}
		want[f.Name] = v
		p := s.Properties[targetIndexInSchema(s, f.Name)]
		obj, err := parseOrderedObject(p.raw)
		if err != nil {
			t.Fatalf("property: %v", err)
		}
		obj.setJSON("extend_edit:value", v)
		values[f.Name], _ = json.Marshal(obj)
	}
	schema, err := s.withProperties(values)
	if err != nil {
		t.Fatalf("schema: %v", err)
	}

	out := filepath.Join(t.TempDir(), "edited.pdf")
	res, err := engine.Edit(context.Background(), EditJob{InputPath: path, OutputPath: out, Config: withoutFlattening(extendapi.EditConfig{Schema: schema})})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if !bytes.Equal(res.Schema, schema) {
		t.Error("EditResult.Schema is not the given schema")
	}
	back := engineReadBack(t, out, "")
	if diff := cmp.Diff(want, back.values); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if _, hasXFA := engineReadContext(t, out, "").Form.Find("XFA"); hasXFA {
		t.Error("the stale XFA layer is still in the output; viewers preferring it would show an empty form")
	}
}

func targetIndexInSchema(s *editSchema, name string) int {
	for i, p := range s.Properties {
		if p.Name == name {
			return i
		}
	}
	return -1
}

func TestEngineFancyFieldsFixture(t *testing.T) {
	path := engineFixture(t, "fancy_fields.pdf")
	instructions := strings.Join([]string{
		"first name: Ada",                       // normalized name, emoji dropped
		"LastName 🛩: Lovelace",                  // exact name
		"Are You A Fairy?: no",                  // unchecks a checked box
		"Is Your Power Level Over 9000? 💪: yes", // exact, with emoji
		"Will You Ever Let Me Down? ☕: never",   // no FE0F: still the same field, but not a checkbox word
		"Historical Figures: ada lovelace",      // option matched like a label
		"Choose A Gundam 🤖: Unicorn",            // a choice field pdfcpu exposes no options for
		"Play ▶️: now",                          // a push button: not a property, ignored
	}, "\n")
	engine := NewEngine(nil)
	_, err := engine.Edit(context.Background(), EditJob{InputPath: path, OutputPath: filepath.Join(t.TempDir(), "x.pdf"), Config: engineConfig(instructions)})
	if got := engineFailureReason(t, err); got != extendapi.ReasonSchemaValidationError || !strings.Contains(err.Error(), "Will You Ever Let Me Down? ☕️") {
		t.Fatalf("err = %v, want SCHEMA_VALIDATION_ERROR naming the checkbox by its exact name", err)
	}

	instructions = strings.Replace(instructions, "never", "no", 1)
	out := filepath.Join(t.TempDir(), "edited.pdf")
	res, err := engine.Edit(context.Background(), EditJob{InputPath: path, OutputPath: out, Config: engineFieldsConfig(instructions)})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	filled := map[string]any{}
	for k, v := range res.FilledValues {
		var x any
		json.Unmarshal(v, &x)
		filled[k] = x
	}
	want := map[string]any{
		"First Name 🚀":                     "Ada",
		"LastName 🛩":                       "Lovelace",
		"Are You A Fairy? 🌿":               false,
		"Is Your Power Level Over 9000? 💪": true,
		"Will You Ever Let Me Down? ☕️":    false,
		"Historical Figures 🐺":             "Ada Lovelace 💻",
		"Choose A Gundam 🤖":                "Unicorn",
	}
	if diff := cmp.Diff(want, filled); diff != "" {
		t.Errorf("filledValues (-want +got):\n%s", diff)
	}
	back := engineReadBack(t, out, "")
	for name, w := range want {
		if name == "Choose A Gundam 🤖" {
			continue // pdfcpu reads that value from the widgets, checked below
		}
		if diff := cmp.Diff(w, back.values[name]); diff != "" {
			t.Errorf("%q read back (-want +got):\n%s", name, diff)
		}
	}
	fields, err := detectFields(engineReadContext(t, out, ""))
	if err != nil {
		t.Fatalf("detect output: %v", err)
	}
	for _, f := range fields {
		if f.Name == "Choose A Gundam 🤖" && f.Value != "Unicorn" {
			t.Errorf("choice field value on the field dictionary = %q, want Unicorn", f.Value)
		}
	}
}

func TestEngineNormalFixture(t *testing.T) {
	path := engineFixture(t, "normal.pdf")
	out := filepath.Join(t.TempDir(), "edited.pdf")
	res, err := NewEngine(nil).Edit(context.Background(), EditJob{InputPath: path, OutputPath: out, Config: engineFieldsConfig("check here: X")})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if string(res.FilledValues["Check here"]) != "true" || *res.Metrics.PageCount != 2 {
		t.Errorf("filled %v pages %d", res.FilledValues, *res.Metrics.PageCount)
	}
	if got := engineReadBack(t, out, "").values["Check here"]; got != true {
		t.Errorf("Check here read back = %v, want true", got)
	}
}

// TestEngineNothingToFillStillWritesTheForm: with nothing to write the
// output is still the form, flattened by default (no field left, the
// printed labels still there) and left empty and editable without
// flattening.
func TestEngineNothingToFillStillWritesTheForm(t *testing.T) {
	path, _ := engineDemoForm(t, "insurance-claim.pdf")
	for _, flatten := range []bool{true, false} {
		cfg := engineConfig("")
		if !flatten {
			cfg = engineFieldsConfig("")
		}
		out := filepath.Join(t.TempDir(), "edited.pdf")
		res, err := NewEngine(nil).Edit(context.Background(), EditJob{InputPath: path, OutputPath: out, Config: cfg})
		if err != nil {
			t.Fatalf("Edit (flattenPdf %v): %v", flatten, err)
		}
		if res.FilledValues != nil {
			t.Errorf("filledValues = %v, want nil (absent)", res.FilledValues)
		}
		if flatten {
			requireFlattened(t, out, []string{"Policy number"})
			continue
		}
		back := engineReadBack(t, out, "")
		if v, ok := back.values["policyNumber"]; !ok || v != "" || back.locked["policyNumber"] {
			t.Errorf("policyNumber = %q (present %v) locked %v, want empty and editable", v, ok, back.locked["policyNumber"])
		}
	}
}

func TestEngineFlattenFalseLeavesFieldsEditable(t *testing.T) {
	path, form := engineDemoForm(t, "vendor-onboarding.pdf")
	cfg := engineConfig(form.Instructions)
	no := false
	cfg.AdvancedOptions.FlattenPDF = &no
	out := filepath.Join(t.TempDir(), "edited.pdf")
	if _, err := NewEngine(nil).Edit(context.Background(), EditJob{InputPath: path, OutputPath: out, Config: cfg}); err != nil {
		t.Fatalf("Edit: %v", err)
	}
	back := engineReadBack(t, out, "")
	for name, locked := range back.locked {
		if locked {
			t.Errorf("%q locked although flattenPdf is false", name)
		}
	}
	if back.values["legalName"] != "Acme Widgets LLC" {
		t.Errorf("legalName = %v", back.values["legalName"])
	}
}

func TestEngineGivenSchemaMapsByLabel(t *testing.T) {
	path, _ := engineDemoForm(t, "insurance-claim.pdf")
	schema := json.RawMessage(`{"type":"object","properties":{
		"policy_number":{"type":["string","null"],"extend_edit:value":"P-1"},
		"Claimant name":{"type":["string","null"]},
		"internal_note":{"type":["string","null"],"extend_edit:value":"not on the form"},
		"injured":{"type":["boolean","null"],"description":"Anyone injured","extend_edit:value":"yes"}
	},"required":["internal_note"],"additionalProperties":false}`)
	out := filepath.Join(t.TempDir(), "edited.pdf")
	res, err := NewEngine(nil).Edit(context.Background(), EditJob{
		InputPath: path, OutputPath: out,
		Config: withoutFlattening(extendapi.EditConfig{Schema: schema, Instructions: "Claimant name: Jordan Alvarez"}),
	})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	got := map[string]string{}
	for k, v := range res.FilledValues {
		got[k] = string(v)
	}
	want := map[string]string{"policy_number": `"P-1"`, "Claimant name": `"Jordan Alvarez"`, "injured": `true`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("filledValues, keyed by the given property names (-want +got):\n%s", diff)
	}
	back := engineReadBack(t, out, "")
	if back.values["policyNumber"] != "P-1" || back.values["claimantName"] != "Jordan Alvarez" || back.values["injuries"] != true {
		t.Errorf("read back: %v %v %v", back.values["policyNumber"], back.values["claimantName"], back.values["injuries"])
	}
	if *res.Metrics.FieldCount != 4 || *res.Metrics.FieldsDetectedCount != 15 {
		t.Errorf("fieldCount %d detected %d, want 4 (the given schema) and 15", *res.Metrics.FieldCount, *res.Metrics.FieldsDetectedCount)
	}
}

func TestEngineConcurrentEdits(t *testing.T) {
	forms, err := DemoForms()
	if err != nil {
		t.Fatalf("DemoForms: %v", err)
	}
	var logs bytes.Buffer
	engine := NewEngine(slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)))
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(forms))
	for round := 0; round < 2; round++ {
		for _, form := range forms {
			in := engineWriteTemp(t, form.Name, form.PDF)
			out := filepath.Join(t.TempDir(), "edited.pdf")
			wg.Go(func() {
				res, err := engine.Edit(context.Background(), EditJob{InputPath: in, OutputPath: out, Config: engineConfig(form.Instructions)})
				if err == nil && len(res.FilledValues) == 0 {
					err = fmt.Errorf("%s: nothing filled", form.Name)
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// syncWriter serialises writes from concurrent loggers.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestEngineSurvivesPDFCPUPanic: pdfcpu panics drawing one field; the panic
// is logged, the sandbox writes the values itself, and they read back.
func TestEngineSurvivesPDFCPUPanic(t *testing.T) {
	var logs bytes.Buffer
	engine := NewEngine(slog.New(slog.NewTextHandler(&logs, nil)))
	in := engineWriteTemp(t, "panic.pdf", enginePanickingPDF(t))
	out := filepath.Join(t.TempDir(), "o.pdf")
	res, err := engine.Edit(context.Background(), EditJob{InputPath: in, OutputPath: out,
		Config: withoutFlattening(engineConfig("Legal business name: Acme\nCity: Springfield"))})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if string(res.FilledValues["legalName"]) != `"Acme"` || string(res.FilledValues["city"]) != `"Springfield"` {
		t.Errorf("filledValues = %s", res.FilledValues)
	}
	if !strings.Contains(logs.String(), "pdfcpu panicked") {
		t.Errorf("the panic was not logged:\n%s", logs.String())
	}
	back := engineReadBack(t, out, "")
	if back.values["legalName"] != "Acme" || back.values["city"] != "Springfield" {
		t.Errorf("read back legalName %v, city %v", back.values["legalName"], back.values["city"])
	}
}

// TestEngineFillsAroundAFieldPDFCPUCannotRead: pdfcpu cannot read the form's
// fields (a radio group lost its appearances); the group is "unknown" with
// the reason, and every other field fills.
func TestEngineFillsAroundAFieldPDFCPUCannotRead(t *testing.T) {
	in := engineWriteTemp(t, "noap.pdf", engineBrokenRadioPDF(t))
	engine := NewEngine(nil)
	det, err := engine.Detect(context.Background(), in, "", nil)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	_, props := engineSchemaProperties(t, det.Response.Schema)
	if p := props["paymentTerms"]; p["extend_edit:field_type"] != "unknown" || p["description"] != "Payment terms" || p["$comment"] == nil {
		t.Errorf("paymentTerms = %v, want unknown, described, with a $comment", p)
	}
	_, form := engineDemoForm(t, "vendor-onboarding.pdf")
	out := filepath.Join(t.TempDir(), "o.pdf")
	res, err := engine.Edit(context.Background(), EditJob{InputPath: in, OutputPath: out, Config: engineConfig(form.Instructions)})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if _, ok := res.FilledValues["paymentTerms"]; ok || len(res.FilledValues) != 16 {
		t.Errorf("filled %d values (%s), want the 16 other than paymentTerms", len(res.FilledValues), res.FilledValues)
	}
}

func TestEngineFillsUnicodeValues(t *testing.T) {
	path, _ := engineDemoForm(t, "vendor-onboarding.pdf")
	values := map[string]string{
		"legalName":   "Société Générale — Zürich",
		"dbaName":     "Ромашка",
		"contactName": "株式会社 Ada 🚀",
	}
	var lines []string
	for k, v := range values {
		lines = append(lines, k+": "+v)
	}
	out := filepath.Join(t.TempDir(), "edited.pdf")
	if _, err := NewEngine(nil).Edit(context.Background(), EditJob{InputPath: path, OutputPath: out, Config: engineFieldsConfig(strings.Join(lines, "\n"))}); err != nil {
		t.Fatalf("Edit: %v", err)
	}
	back := engineReadBack(t, out, "")
	for k, v := range values {
		if back.values[k] != v {
			t.Errorf("%s read back = %q, want %q", k, back.values[k], v)
		}
	}
}
