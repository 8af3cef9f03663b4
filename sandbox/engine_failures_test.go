package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// engineBrokenRadioPDF is the vendor form whose "Payment terms" buttons have
// lost their appearance streams: a readable PDF on which pdfcpu fails while
// reading the form's fields, and whose radio group has no option to select.
func engineBrokenRadioPDF(t testing.TB) []byte {
	_, form := engineDemoForm(t, "vendor-onboarding.pdf")
	return engineMutatePDF(t, form.PDF, func(ctx *model.Context, field func(string) types.Dict) {
		for _, kid := range field("paymentTerms").ArrayEntry("Kids") {
			kd, err := ctx.DereferenceDict(kid)
			if err != nil {
				t.Fatalf("kid: %v", err)
			}
			kd.Delete("AP")
		}
	})
}

// enginePanickingPDF is the vendor form whose "Legal business name" widget
// has a border width given as an indirect object: valid PDF (validation
// dereferences it) on which pdfcpu v0.15.0 panics with a failed type
// assertion while drawing the filled field.
func enginePanickingPDF(t testing.TB) []byte {
	_, form := engineDemoForm(t, "vendor-onboarding.pdf")
	return engineMutatePDF(t, form.PDF, func(ctx *model.Context, field func(string) types.Dict) {
		width, err := ctx.IndRefForNewObject(types.Integer(1))
		if err != nil {
			t.Fatalf("new object: %v", err)
		}
		d := field("legalName")
		d.Delete("BS")
		d["Border"] = types.Array{types.Integer(0), types.Integer(0), *width}
	})
}

// engineEncryptedDemo is the vendor form encrypted with a user password and
// an owner password; the user password allows printing only.
func engineEncryptedDemo(t testing.TB) string {
	_, form := engineDemoForm(t, "vendor-onboarding.pdf")
	var enc bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(form.PDF), &enc, model.NewAESConfiguration("user-pw", "owner-pw", 256)); err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	return engineWriteTemp(t, "encrypted.pdf", enc.Bytes())
}

func engineNoFormPDF(t testing.TB) string {
	var out bytes.Buffer
	desc := `{"paper":"A4P","origin":"LowerLeft","pages":{"1":{"content":{"text":[{"value":"Just a letter.","pos":[50,700],"font":{"name":"Helvetica","size":12}}]}}}}`
	if err := api.Create(nil, bytes.NewReader([]byte(desc)), &out, model.NewDefaultConfiguration()); err != nil {
		t.Fatalf("create: %v", err)
	}
	return engineWriteTemp(t, "letter.pdf", out.Bytes())
}

// TestEngineFailureReasons reaches every failure reason the engine owns with
// a real document or config, through Edit, and checks nothing is left at the
// output path.
func TestEngineFailureReasons(t *testing.T) {
	vendorPath, vendor := engineDemoForm(t, "vendor-onboarding.pdf")
	half := vendor.PDF[:len(vendor.PDF)/2]
	schemaWith := func(schema string, conditional bool) extendapi.EditConfig {
		cfg := withEditDefaults(extendapi.EditConfig{Schema: json.RawMessage(schema)})
		cfg.AdvancedOptions.ConditionalGenerationEnabled = &conditional
		return cfg
	}

	tests := []struct {
		name     string
		input    func(t testing.TB) string
		password string
		config   extendapi.EditConfig
		want     extendapi.FailureReason
	}{
		{"text file", func(t testing.TB) string { return engineWriteTemp(t, "form.pdf", []byte("Name: Ada\n")) }, "", engineConfig(""), extendapi.ReasonFileTypeNotSupported},
		{"PNG named .pdf", func(t testing.TB) string {
			return engineWriteTemp(t, "scan.pdf", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
		}, "", engineConfig(""), extendapi.ReasonFileTypeNotSupported},
		{"encrypted without a password", func(t testing.TB) string { return engineFixture(t, "encrypted_new.pdf") }, "", engineConfig(""), extendapi.ReasonPasswordProtectedFile},
		{"encrypted with a wrong password", func(t testing.TB) string { return engineFixture(t, "encrypted_new.pdf") }, "hunter2", engineConfig(""), extendapi.ReasonPasswordProtectedFile},
		{"user password without the right to fill", engineEncryptedDemo, "user-pw", engineConfig(""), extendapi.ReasonPasswordProtectedFile},
		{"truncated PDF", func(t testing.TB) string { return engineWriteTemp(t, "half.pdf", half) }, "", engineConfig(""), extendapi.ReasonCorruptFile},
		{"PDF header and garbage", func(t testing.TB) string {
			return engineWriteTemp(t, "junk.pdf", []byte("%PDF-1.7\nthis is not a PDF body\n%%EOF\n"))
		}, "", engineConfig(""), extendapi.ReasonCorruptFile},
		{"no form fields and no schema", engineNoFormPDF, "", engineConfig(""), extendapi.ReasonEmptySchema},
		{"schema with conditional generation", func(testing.TB) string { return vendorPath }, "",
			schemaWith(`{"type":"object","properties":{"taxId":{"type":["string","null"]}}}`, true), extendapi.ReasonInvalidOptions},
		{"schema of the wrong shape", func(testing.TB) string { return vendorPath }, "",
			schemaWith(`{"type":"object","properties":{"taxId":"string"}}`, false), extendapi.ReasonInvalidOptions},
		{"value that fits no option", func(testing.TB) string { return vendorPath }, "", engineConfig("Payment terms: Net 90"), extendapi.ReasonSchemaValidationError},
		{"required property without a value", func(testing.TB) string { return vendorPath }, "",
			schemaWith(`{"type":"object","properties":{"taxId":{"type":["string","null"]}},"required":["taxId"]}`, false), extendapi.ReasonSchemaValidationError},
	}
	engine := NewEngine(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "edited.pdf")
			res, err := engine.Edit(context.Background(), EditJob{InputPath: tt.input(t), Password: tt.password, Config: tt.config, OutputPath: out})
			if got := engineFailureReason(t, err); got != tt.want {
				t.Fatalf("reason = %q (%v), want %q", got, err, tt.want)
			}
			var f *Failure
			errors.As(err, &f)
			if f.Message == "" {
				t.Error("failure without a message")
			}
			if res.FilledValues != nil || res.Schema != nil || res.PageCount != 0 {
				t.Errorf("a failed edit returned a result: %+v", res)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("output left behind after a failure (stat: %v)", err)
			}
		})
	}
}

func TestEngineMissingEndobjFixtureFailsCleanly(t *testing.T) {
	path := engineFixture(t, "missing_endobj_keyword.pdf")
	engine := NewEngine(nil)
	_, err := engine.Edit(context.Background(), EditJob{InputPath: path, OutputPath: filepath.Join(t.TempDir(), "o.pdf"), Config: engineConfig("")})
	if got := engineFailureReason(t, err); got != extendapi.ReasonEmptySchema && got != extendapi.ReasonCorruptFile {
		t.Errorf("Edit: reason %q (%v), want EMPTY_SCHEMA or CORRUPT_FILE", got, err)
	}
	_, err = engine.Detect(context.Background(), path, "", nil)
	if got := engineFailureReason(t, err); got != extendapi.ReasonEmptySchema && got != extendapi.ReasonCorruptFile {
		t.Errorf("Detect: reason %q (%v), want EMPTY_SCHEMA or CORRUPT_FILE", got, err)
	}
}

func TestEngineDetectFailureReasons(t *testing.T) {
	vendorPath, _ := engineDemoForm(t, "vendor-onboarding.pdf")
	conditional := true
	tests := []struct {
		name     string
		input    func(t testing.TB) string
		password string
		config   *extendapi.EditSchemaGenerationConfig
		want     extendapi.FailureReason
	}{
		{"not a PDF", func(t testing.TB) string { return engineWriteTemp(t, "a.pdf", []byte("<html></html>")) }, "", nil, extendapi.ReasonFileTypeNotSupported},
		{"encrypted", func(t testing.TB) string { return engineFixture(t, "encrypted_new.pdf") }, "", nil, extendapi.ReasonPasswordProtectedFile},
		{"corrupt", func(t testing.TB) string { return engineWriteTemp(t, "j.pdf", []byte("%PDF-1.4\n1 0 obj\n")) }, "", nil, extendapi.ReasonCorruptFile},
		{"no fields", engineNoFormPDF, "", nil, extendapi.ReasonEmptySchema},
		{"input schema with conditional generation", func(testing.TB) string { return vendorPath }, "", &extendapi.EditSchemaGenerationConfig{
			InputSchema:     json.RawMessage(`{"type":"object","properties":{}}`),
			AdvancedOptions: &extendapi.EditSchemaGenerationAdvancedOptions{ConditionalGenerationEnabled: &conditional},
		}, extendapi.ReasonInvalidOptions},
		{"input schema of the wrong shape", func(testing.TB) string { return vendorPath }, "", &extendapi.EditSchemaGenerationConfig{
			InputSchema: json.RawMessage(`{"type":"object","properties":{"a":{"enum":1}}}`),
		}, extendapi.ReasonInvalidOptions},
	}
	engine := NewEngine(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := engine.Detect(context.Background(), tt.input(t), tt.password, tt.config)
			if got := engineFailureReason(t, err); got != tt.want {
				t.Fatalf("reason = %q (%v), want %q", got, err, tt.want)
			}
			if res.Response.Schema != nil {
				t.Error("a failed detection returned a schema")
			}
		})
	}
}

func TestEngineDetectWithUserPassword(t *testing.T) {
	// Reading fields needs no more than the user password allows.
	res, err := NewEngine(nil).Detect(context.Background(), engineEncryptedDemo(t), "user-pw", nil)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if *res.Metrics.FieldCount != 17 {
		t.Errorf("fieldCount = %d, want 17", *res.Metrics.FieldCount)
	}
}

func TestEngineEditWithOwnerPassword(t *testing.T) {
	in := engineEncryptedDemo(t)
	_, form := engineDemoForm(t, "vendor-onboarding.pdf")
	out := filepath.Join(t.TempDir(), "edited.pdf")
	res, err := NewEngine(nil).Edit(context.Background(), EditJob{InputPath: in, Password: "owner-pw", OutputPath: out, Config: engineFieldsConfig(form.Instructions)})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if len(res.FilledValues) != 17 {
		t.Errorf("filled %d fields, want 17", len(res.FilledValues))
	}
	// The edited file keeps the input's protection and opens with the same
	// user password.
	if got := engineFailureReason(t, func() error {
		_, err := NewEngine(nil).Detect(context.Background(), out, "", nil)
		return err
	}()); got != extendapi.ReasonPasswordProtectedFile {
		t.Errorf("edited file without a password: %q, want PASSWORD_PROTECTED_FILE", got)
	}
	if _, err := NewEngine(nil).Detect(context.Background(), out, "user-pw", nil); err != nil {
		t.Errorf("edited file with the user password: %v", err)
	}
	if got := engineReadBack(t, out, "owner-pw").values["legalName"]; got != "Acme Widgets LLC" {
		t.Errorf("legalName read back = %v", got)
	}
}

func TestEngineContextCanceled(t *testing.T) {
	path, _ := engineDemoForm(t, "vendor-onboarding.pdf")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	engine := NewEngine(nil)
	_, err := engine.Edit(ctx, EditJob{InputPath: path, OutputPath: filepath.Join(t.TempDir(), "o.pdf"), Config: engineConfig("")})
	var f *Failure
	if !errors.Is(err, context.Canceled) || errors.As(err, &f) {
		t.Errorf("Edit with a canceled context = %v, want context.Canceled and no *Failure", err)
	}
	if _, err := engine.Detect(ctx, path, "", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Detect with a canceled context = %v, want context.Canceled", err)
	}
}

func TestEngineMissingInputIsNotADocumentFailure(t *testing.T) {
	_, err := NewEngine(nil).Edit(context.Background(), EditJob{InputPath: filepath.Join(t.TempDir(), "gone.pdf"), OutputPath: filepath.Join(t.TempDir(), "o.pdf"), Config: engineConfig("")})
	var f *Failure
	if err == nil || errors.As(err, &f) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Edit of a missing input = %v, want a plain not-exist error", err)
	}
}
