package sandbox

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDemoFormsGenerated(t *testing.T) {
	forms, err := DemoForms()
	if err != nil {
		t.Fatalf("DemoForms: %v", err)
	}
	var names []string
	for _, f := range forms {
		names = append(names, f.Name)
		if len(f.PDF) == 0 || f.Instructions == "" || f.Title == "" {
			t.Errorf("%s: empty PDF, title or instructions", f.Name)
		}
	}
	if diff := cmp.Diff([]string{"vendor-onboarding.pdf", "insurance-claim.pdf", "tax-return.pdf"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	again, _ := DemoForms()
	if &again[0].PDF[0] != &forms[0].PDF[0] {
		t.Error("DemoForms regenerated the PDFs; want them cached")
	}
	again[0].Name = "changed"
	if third, _ := DemoForms(); third[0].Name != "vendor-onboarding.pdf" {
		t.Error("changing the returned slice changed the cache")
	}
}

// TestDemoFormsFilledByTheirInstructions edits every demo form with its own
// instructions. Without flattening, pdfcpu reads every field back with
// exactly the value filledValues reports; flattened (the default), no field
// is left and the text values are on the page.
func TestDemoFormsFilledByTheirInstructions(t *testing.T) {
	forms, err := DemoForms()
	if err != nil {
		t.Fatalf("DemoForms: %v", err)
	}
	engine := NewEngine(nil)
	for _, form := range forms {
		t.Run(form.Name, func(t *testing.T) {
			in := engineWriteTemp(t, form.Name, form.PDF)
			out := filepath.Join(t.TempDir(), "edited.pdf")
			res, err := engine.Edit(context.Background(), EditJob{InputPath: in, OutputPath: out, Config: engineFieldsConfig(form.Instructions)})
			if err != nil {
				t.Fatalf("Edit: %v", err)
			}
			order, _ := engineSchemaProperties(t, res.Schema)
			if len(res.FilledValues) != len(order) {
				t.Errorf("filled %d of %d fields; the instructions must fill them all", len(res.FilledValues), len(order))
			}
			back := engineReadBack(t, out, "")
			want := map[string]any{}
			for name, raw := range res.FilledValues {
				var v any
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatalf("filled value %q: %v", name, err)
				}
				want[name] = v
			}
			if diff := cmp.Diff(want, back.values); diff != "" {
				t.Errorf("read back with pdfcpu (-filledValues +pdf):\n%s", diff)
			}

			flat := filepath.Join(t.TempDir(), "flattened.pdf")
			flatRes, err := engine.Edit(context.Background(), EditJob{InputPath: in, OutputPath: flat, Config: engineConfig(form.Instructions)})
			if err != nil {
				t.Fatalf("Edit, flattened: %v", err)
			}
			if diff := cmp.Diff(res.FilledValues, flatRes.FilledValues); diff != "" {
				t.Errorf("filledValues differ with flattening (-fields +flattened):\n%s", diff)
			}
			requireFlattened(t, flat, shownTexts(t, flatRes.FilledValues, fieldsOf(t, form.PDF)))
		})
	}
}

func TestDemoFormsExpectedValues(t *testing.T) {
	path, form := engineDemoForm(t, "tax-return.pdf")
	out := filepath.Join(t.TempDir(), "edited.pdf")
	if _, err := NewEngine(nil).Edit(context.Background(), EditJob{InputPath: path, OutputPath: out, Config: engineFieldsConfig(form.Instructions)}); err != nil {
		t.Fatalf("Edit: %v", err)
	}
	back := engineReadBack(t, out, "")
	want := map[string]any{
		"filingStatus":   "Married filing jointly", // "married filing jointly" in the instructions
		"ssn":            "123-45-6789",            // labelled by the field's own name
		"campaignYou":    true,
		"campaignSpouse": false,
		"blind":          false, // "off"
		"digitalAssets":  "No",
		"refundMethod":   "Direct deposit",
		"accountType":    "Checking",
		"signDate":       "04/10/2026",
	}
	for name, w := range want {
		if diff := cmp.Diff(w, back.values[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
