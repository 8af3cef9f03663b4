package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/form"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// engineFixture returns the path of a real-world form from the shared
// fixtures (EDITWATCH_FIXTURES, else ../shared/fixtures/forms next to the
// module root), skipping the test when the folder is absent.
func engineFixture(t testing.TB, name string) string {
	t.Helper()
	return testenv.Fixture(t, name)
}

// engineDemoForm writes the named demo form to a temp file.
func engineDemoForm(t testing.TB, name string) (string, DemoForm) {
	t.Helper()
	forms, err := DemoForms()
	if err != nil {
		t.Fatalf("DemoForms: %v", err)
	}
	for _, f := range forms {
		if f.Name == name {
			return engineWriteTemp(t, f.Name, f.PDF), f
		}
	}
	t.Fatalf("no demo form %q", name)
	return "", DemoForm{}
}

func engineWriteTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

// readBack is what pdfcpu's own form export finds in a PDF: the value of
// every field by name (string, bool for checkboxes, []string for list
// boxes) and whether it is read-only (pdfcpu says "locked").
type readBack struct {
	values map[string]any
	locked map[string]bool
}

func engineReadBack(t testing.TB, path, password string) readBack {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open output: %v", err)
	}
	defer f.Close()
	conf := model.NewDefaultConfiguration()
	conf.UserPW, conf.OwnerPW = password, password
	var out bytes.Buffer
	if err := api.ExportFormJSON(f, &out, "output.pdf", conf); err != nil {
		t.Fatalf("export form of %s: %v", path, err)
	}
	var group form.FormGroup
	if err := json.Unmarshal(out.Bytes(), &group); err != nil {
		t.Fatalf("decode exported form: %v", err)
	}
	rb := readBack{values: map[string]any{}, locked: map[string]bool{}}
	for _, fm := range group.Forms {
		for _, x := range fm.TextFields {
			rb.values[x.Name], rb.locked[x.Name] = x.Value, x.Locked
		}
		for _, x := range fm.DateFields {
			rb.values[x.Name], rb.locked[x.Name] = x.Value, x.Locked
		}
		for _, x := range fm.CheckBoxes {
			rb.values[x.Name], rb.locked[x.Name] = x.Value, x.Locked
		}
		for _, x := range fm.RadioButtonGroups {
			rb.values[x.Name], rb.locked[x.Name] = x.Value, x.Locked
		}
		for _, x := range fm.ComboBoxes {
			rb.values[x.Name], rb.locked[x.Name] = x.Value, x.Locked
		}
		for _, x := range fm.ListBoxes {
			rb.values[x.Name], rb.locked[x.Name] = x.Values, x.Locked
		}
	}
	return rb
}

// engineReadContext parses a PDF the way a test inspects it below pdfcpu's
// form export.
func engineReadContext(t testing.TB, path, password string) *model.Context {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer f.Close()
	conf := model.NewDefaultConfiguration()
	conf.UserPW, conf.OwnerPW = password, password
	conf.Cmd = model.VALIDATE
	ctx, err := api.ReadValidateAndOptimize(f, conf)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return ctx
}

// engineMutatePDF rewrites a PDF after mutate has changed named field
// dictionaries: how the tests make real documents with real defects.
func engineMutatePDF(t testing.TB, src []byte, mutate func(ctx *model.Context, field func(name string) types.Dict)) []byte {
	t.Helper()
	conf := model.NewDefaultConfiguration()
	conf.Cmd = model.VALIDATE
	ctx, err := api.ReadValidateAndOptimize(bytes.NewReader(src), conf)
	if err != nil {
		t.Fatalf("read source: %v", err)
	}
	fields, err := detectFields(ctx)
	if err != nil {
		t.Fatalf("detect source fields: %v", err)
	}
	mutate(ctx, func(name string) types.Dict {
		for _, f := range fields {
			if f.Name == name {
				d, err := ctx.DereferenceDict(f.ref)
				if err != nil {
					t.Fatalf("field %q: %v", name, err)
				}
				return d
			}
		}
		t.Fatalf("no field %q", name)
		return nil
	})
	var out bytes.Buffer
	if err := api.WriteContext(ctx, &out); err != nil {
		t.Fatalf("write mutated PDF: %v", err)
	}
	return out.Bytes()
}

// engineSchemaProperties decodes a schema's properties, keeping their order.
func engineSchemaProperties(t testing.TB, raw json.RawMessage) ([]string, map[string]map[string]any) {
	t.Helper()
	s, err := parseEditSchema(raw)
	if err != nil {
		t.Fatalf("parse schema: %v\n%s", err, raw)
	}
	props := map[string]map[string]any{}
	for _, p := range s.Properties {
		var m map[string]any
		if err := json.Unmarshal(p.raw, &m); err != nil {
			t.Fatalf("property %q: %v", p.Name, err)
		}
		props[p.Name] = m
	}
	return s.props.keys, props
}

func engineConfig(instructions string) extendapi.EditConfig {
	return withEditDefaults(extendapi.EditConfig{Instructions: instructions})
}

// engineFieldsConfig is engineConfig with flattenPdf off, for the tests that
// read the written values back as field values; a flattened output has no
// fields left (requireFlattened checks those).
func engineFieldsConfig(instructions string) extendapi.EditConfig {
	return withoutFlattening(engineConfig(instructions))
}

func withoutFlattening(cfg extendapi.EditConfig) extendapi.EditConfig {
	cfg = withEditDefaults(cfg)
	opts := *cfg.AdvancedOptions
	opts.FlattenPDF = enginePtr(false)
	cfg.AdvancedOptions = &opts
	return cfg
}

func engineFailureReason(t testing.TB, err error) extendapi.FailureReason {
	t.Helper()
	var f *Failure
	if err == nil {
		return ""
	}
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T) is not a *Failure", err, err)
	}
	return f.Reason
}
