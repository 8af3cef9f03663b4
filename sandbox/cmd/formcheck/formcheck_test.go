package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/internal/pdfreadback"
	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/google/go-cmp/cmp"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

func TestPickValues(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","properties":{
		"a_text":{"extend_edit:field_type":"text","maxLength":3},
		"b_text":{"extend_edit:field_type":"text"},
		"c_text":{"extend_edit:field_type":"text"},
		"d_locked":{"extend_edit:field_type":"text"},
		"e_box":{"extend_edit:field_type":"checkbox"},
		"f_radio":{"extend_edit:field_type":"radio","enum":["Yes","No",null]},
		"g_drop":{"extend_edit:field_type":"dropdown","enum":[null,"","Red","Blue"]},
		"h_list":{"extend_edit:field_type":"optionList","enum":[]},
		"i_sig":{"extend_edit:field_type":"signature"},
		"j_unknown":{"extend_edit:field_type":"unknown"}
	}}`)
	current := &pdfreadback.Document{Fields: []pdfreadback.Field{
		{Name: "d_locked", ReadOnly: true},
		{Name: "e_box", Value: "Yes"},   // on: the check unticks it
		{Name: "f_radio", Value: "Yes"}, // the check picks another option
	}}
	got, err := pickValues(schema, current)
	if err != nil {
		t.Fatal(err)
	}
	want := []pick{
		{name: "a_text", fieldType: "text", text: "ck1"}, // the last maxLength characters
		{name: "e_box", fieldType: "checkbox", checked: false},
		{name: "f_radio", fieldType: "radio", text: "No"},
		{name: "g_drop", fieldType: "dropdown", text: "Red"},
		{name: "b_text", fieldType: "text", text: "FormCheck5"}, // the option list has no option to pick
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(pick{})); diff != "" {
		t.Errorf("picks (-want +got):\n%s", diff)
	}

	filled, err := withValues(schema, got)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(filled, &back); err != nil {
		t.Fatal(err)
	}
	if v := back.Properties["e_box"]["extend_edit:value"]; v != false {
		t.Errorf("e_box extend_edit:value = %#v, want false", v)
	}
	if _, set := back.Properties["c_text"]["extend_edit:value"]; set {
		t.Error("c_text was not picked but has a value")
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		in   []time.Duration
		p    int
		want time.Duration
	}{
		{ms(7), 50, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 100, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("p%d of %v = %v, want %v", tt.p, tt.in, got, tt.want)
		}
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"a", "b"}, {"-mode", "carrier-pigeon", "."}, {"-nope", "."}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (usage)", args, code)
		}
	}
}

// TestRunOverAFolder checks a folder holding each kind of file: a form
// (the sandbox's two-page tax return: text, checkboxes, radio groups),
// the same form encrypted, a letter with no form, and a damaged file.
// Each gets its verdict and the run exits 0 with a summary and timings.
func TestRunOverAFolder(t *testing.T) {
	testenv.PDFReaders(t)
	forms, err := sandbox.DemoForms()
	if err != nil {
		t.Fatal(err)
	}
	var tax []byte
	for _, f := range forms {
		if f.Name == "tax-return.pdf" {
			tax = f.PDF
		}
	}
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("tax-return.pdf", tax)
	var enc bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(tax), &enc, model.NewAESConfiguration("user-pw", "owner-pw", 256)); err != nil {
		t.Fatal(err)
	}
	write("nested/encrypted.PDF", enc.Bytes())
	var letter bytes.Buffer
	desc := `{"paper":"A4P","origin":"LowerLeft","pages":{"1":{"content":{"text":[{"value":"Just a letter.","pos":[50,700],"font":{"name":"Helvetica","size":12}}]}}}}`
	if err := api.Create(nil, strings.NewReader(desc), &letter, model.NewDefaultConfiguration()); err != nil {
		t.Fatal(err)
	}
	write("letter.pdf", letter.Bytes())
	write("damaged.pdf", []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\n%%EOF\n"))
	write("notes.txt", []byte("not a PDF, not looked at"))

	var out, errOut bytes.Buffer
	code := run([]string{dir}, &out, &errOut)
	t.Logf("formcheck output:\n%s%s", out.String(), errOut.String())
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	for _, want := range []string{
		`(?m)^ok +tax-return\.pdf: form, fields filled: 5, read back; text values on the flattened page: 2 \(http [\d.]+ ms, pipeline [\d.]+ ms\)$`,
		`(?m)^expected +nested/encrypted\.PDF: encrypted -> PASSWORD_PROTECTED_FILE`,
		`(?m)^expected +letter\.pdf: no form -> EMPTY_SCHEMA`,
		`(?m)^expected +damaged\.pdf: (unreadable|damaged, no form) -> (CORRUPT_FILE|EMPTY_SCHEMA)`,
		`(?m)^4 files: 1 filled and read back, 3 expected failures, 0 unexpected outcomes, 0 FAIL$`,
		`(?m)^time per filled form, detect \+ flattened edit, http: +p50 [\d.]+ ms, max [\d.]+ ms \(1 forms\)$`,
		`(?m)^time per filled form, detect \+ flattened edit, pipeline: +p50 [\d.]+ ms, max [\d.]+ ms \(1 forms\)$`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output does not match %s", want)
		}
	}
}
