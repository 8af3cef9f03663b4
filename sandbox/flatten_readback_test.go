package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/internal/pdfreadback"
	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// requireFlattened checks a flattened output with other projects' readers:
// qpdf finds no form and no widget left, and pdftotext finds every one of
// texts on the pages (whitespace ignored: a comb field spaces its letters).
func requireFlattened(t testing.TB, path string, texts []string) {
	t.Helper()
	testenv.PDFReaders(t)
	ctx := context.Background()
	doc, err := pdfreadback.ReadForm(ctx, path)
	if err != nil {
		t.Fatalf("qpdf: %v", err)
	}
	if doc.HasAcroForm || len(doc.Fields) != 0 || doc.Widgets != 0 {
		t.Errorf("flattened output: AcroForm %v, %d fields, %d widgets; want none", doc.HasAcroForm, len(doc.Fields), doc.Widgets)
	}
	text, err := pdfreadback.Text(ctx, path)
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	page := strings.Join(strings.Fields(text), "")
	for _, want := range texts {
		if !strings.Contains(page, strings.Join(strings.Fields(want), "")) {
			t.Errorf("pdftotext does not find %q on the flattened pages", want)
		}
	}
}

// shownTexts are the filled values a flattened page shows as text: those
// of text fields and dropdowns (a checkbox or radio button shows a mark).
// filled is keyed by field name, as for a detected schema.
func shownTexts(t testing.TB, filled map[string]json.RawMessage, fields []*formField) []string {
	t.Helper()
	kinds := map[string]fieldKind{}
	for _, f := range fields {
		kinds[f.Name] = f.Kind
	}
	var texts []string
	for name, raw := range filled {
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			continue
		}
		if kinds[name] == kindText || kinds[name] == kindDropdown {
			texts = append(texts, s)
		}
	}
	if len(texts) == 0 {
		t.Fatalf("no text values among %d filled values: nothing to look for", len(filled))
	}
	return texts
}

// fieldsOf detects the fields of a PDF held in memory.
func fieldsOf(t testing.TB, pdf []byte) []*formField {
	t.Helper()
	conf := model.NewDefaultConfiguration()
	conf.Cmd = model.VALIDATE
	ctx, err := api.ReadValidateAndOptimize(bytes.NewReader(pdf), conf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	fields, err := detectFields(ctx)
	if err != nil {
		t.Fatalf("detect fields: %v", err)
	}
	return fields
}
