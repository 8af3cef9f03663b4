package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/internal/pdfreadback"
)

// fileKind is what a file is, as qpdf sees it, independent of the sandbox.
type fileKind string

const (
	kindEncrypted     fileKind = "encrypted"
	kindUnreadable    fileKind = "unreadable"
	kindDamagedNoForm fileKind = "damaged, no form"
	kindNoForm        fileKind = "no form"
	kindForm          fileKind = "form"
)

// outcomeFilled is a run that processed; every other outcome is a failure
// reason.
const outcomeFilled = "filled"

// expectedOutcomes are the outcomes that count as a pass for each kind of
// file. A form must fill, and read back.
var expectedOutcomes = map[fileKind][]string{
	kindEncrypted:     {string(extendapi.ReasonPasswordProtectedFile)},
	kindUnreadable:    {string(extendapi.ReasonCorruptFile)},
	kindDamagedNoForm: {string(extendapi.ReasonCorruptFile), string(extendapi.ReasonEmptySchema)},
	kindNoForm:        {string(extendapi.ReasonEmptySchema)},
	kindForm:          {outcomeFilled},
}

// classify says what the file is and, when qpdf can read it, returns its
// form as qpdf reads it (the current values the picks avoid, and which
// fields are read-only).
func classify(ctx context.Context, path string) (fileKind, *pdfreadback.Document, error) {
	encrypted, err := pdfreadback.Encrypted(ctx, path)
	if err != nil {
		return "", nil, err
	}
	if encrypted {
		return kindEncrypted, nil, nil
	}
	doc, err := pdfreadback.ReadForm(ctx, path)
	if err != nil {
		return kindUnreadable, nil, nil
	}
	if len(doc.Fields) > 0 {
		return kindForm, doc, nil
	}
	damaged, err := pdfreadback.Damaged(ctx, path)
	if err != nil {
		return "", nil, err
	}
	if damaged {
		return kindDamagedNoForm, doc, nil
	}
	return kindNoForm, doc, nil
}

// maxPicks is how many fields a form check fills.
const maxPicks = 5

// pick is one field the check fills, and the value.
type pick struct {
	name      string
	fieldType string
	text      string // for every type but checkbox
	checked   bool   // for a checkbox
}

func (p pick) value() any {
	if p.fieldType == "checkbox" {
		return p.checked
	}
	return p.text
}

func (p pick) String() string { return fmt.Sprintf("%q=%v", p.name, p.value()) }

// shownAsText: a flattened page shows these values as text; a checkbox or
// radio button shows a mark, a list box every option.
func (p pick) shownAsText() bool { return p.fieldType == "text" || p.fieldType == "dropdown" }

// schemaProperty is what the check reads of a detected property.
type schemaProperty struct {
	FieldType string    `json:"extend_edit:field_type"`
	Enum      []*string `json:"enum"`
	MaxLength int       `json:"maxLength"`
}

// pickOrder takes one field of each type in turn, so a form with every
// kind of field has every kind filled.
var pickOrder = []string{"text", "checkbox", "radio", "dropdown", "optionList"}

// pickValues chooses up to maxPicks properties of a detected schema and a
// value for each that fits: within maxLength, one of the enum, different
// from the current value (as qpdf reads it) so the write is seen. Read-only
// fields and types that take no value are left alone.
func pickValues(schema json.RawMessage, current *pdfreadback.Document) ([]pick, error) {
	var root struct {
		Properties map[string]schemaProperty `json:"properties"`
	}
	if err := json.Unmarshal(schema, &root); err != nil {
		return nil, fmt.Errorf("detected schema: %w", err)
	}
	byType := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(root.Properties)) {
		t := root.Properties[name].FieldType
		if f, ok := currentField(current, name); ok && f.ReadOnly {
			continue
		}
		byType[t] = append(byType[t], name)
	}
	var picks []pick
	for round := 0; len(picks) < maxPicks; round++ {
		added := false
		for _, t := range pickOrder {
			if round >= len(byType[t]) || len(picks) == maxPicks {
				continue
			}
			name := byType[t][round]
			if p, ok := valueFor(name, root.Properties[name], len(picks)+1, current); ok {
				picks = append(picks, p)
			}
			added = true
		}
		if !added {
			break
		}
	}
	return picks, nil
}

func valueFor(name string, prop schemaProperty, n int, current *pdfreadback.Document) (pick, bool) {
	p := pick{name: name, fieldType: prop.FieldType}
	now, _ := currentField(current, name)
	switch prop.FieldType {
	case "text":
		p.text = fmt.Sprintf("FormCheck%d", n)
		if prop.MaxLength > 0 && len(p.text) > prop.MaxLength {
			p.text = p.text[len(p.text)-prop.MaxLength:] // keep the distinguishing digit
		}
		return p, true
	case "checkbox":
		p.checked = !isOn(now)
		return p, true
	default:
		for _, o := range prop.Enum {
			if o != nil && *o != "" && *o != now.Value {
				p.text = *o
				return p, true
			}
		}
		return p, false
	}
}

func currentField(doc *pdfreadback.Document, name string) (pdfreadback.Field, bool) {
	if doc == nil {
		return pdfreadback.Field{}, false
	}
	return doc.Field(name)
}

func isOn(f pdfreadback.Field) bool { return f.Value != "" && f.Value != "Off" }

// withValues is the detected schema with each pick's extend_edit:value set.
func withValues(schema json.RawMessage, picks []pick) (json.RawMessage, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(schema, &root); err != nil {
		return nil, err
	}
	var props map[string]map[string]any
	if err := json.Unmarshal(root["properties"], &props); err != nil {
		return nil, err
	}
	for _, p := range picks {
		props[p.name]["extend_edit:value"] = p.value()
	}
	var err error
	if root["properties"], err = json.Marshal(props); err != nil {
		return nil, err
	}
	return json.Marshal(root)
}

// modeResult is one form checked through one backend.
type modeResult struct {
	outcome  string        // outcomeFilled or the failure reason
	elapsed  time.Duration // detect plus the default (flattened) edit
	problems []string      // what makes the form FAIL
	picks    []pick
	onPage   int // values found on the flattened page
}

// checkForm detects, fills the picks twice (flattened, as by default, and
// with flattenPdf false) and reads both outputs back with qpdf and
// pdftotext.
func checkForm(ctx context.Context, b backend, path string, current *pdfreadback.Document, tmp string) (res modeResult) {
	defer func() {
		if r := recover(); r != nil {
			res.problems = append(res.problems, fmt.Sprintf("panic: %v", r))
		}
	}()
	start := time.Now()
	schema, reason, err := b.detect(ctx, path)
	if err != nil {
		res.problems = append(res.problems, err.Error())
		return res
	}
	if reason != "" {
		res.outcome, res.elapsed = reason, time.Since(start)
		return res
	}
	if res.picks, err = pickValues(schema, current); err != nil {
		res.problems = append(res.problems, err.Error())
		return res
	}
	filledSchema, err := withValues(schema, res.picks)
	if err != nil {
		res.problems = append(res.problems, "schema: "+err.Error())
		return res
	}

	flat := filepath.Join(tmp, b.name()+"-flattened.pdf")
	filled, reason, err := b.edit(ctx, path, extendapi.EditConfig{Schema: filledSchema}, flat)
	res.elapsed = time.Since(start)
	if err != nil || reason != "" {
		res.outcome = reason
		if err != nil {
			res.problems = append(res.problems, err.Error())
		}
		return res
	}
	res.outcome = outcomeFilled
	res.problems = append(res.problems, checkFilledValues("flattened", filled, res.picks)...)
	res.onPage, err = checkFlattened(ctx, flat, res.picks)
	if err != nil {
		res.problems = append(res.problems, err.Error())
	}

	fields := filepath.Join(tmp, b.name()+"-fields.pdf")
	noFlatten := false
	filled, reason, err = b.edit(ctx, path, extendapi.EditConfig{Schema: filledSchema,
		AdvancedOptions: &extendapi.EditAdvancedOptions{FlattenPDF: &noFlatten}}, fields)
	if err != nil || reason != "" {
		res.problems = append(res.problems, fmt.Sprintf("with flattenPdf false: %s%v", reason, err))
		return res
	}
	res.problems = append(res.problems, checkFilledValues("flattenPdf false", filled, res.picks)...)
	if err := checkFields(ctx, fields, res.picks); err != nil {
		res.problems = append(res.problems, err.Error())
	}
	return res
}

// checkFilledValues: the run reports every value asked for, as asked.
func checkFilledValues(run string, filled map[string]json.RawMessage, picks []pick) []string {
	var problems []string
	for _, p := range picks {
		raw, ok := filled[p.name]
		var got any
		if ok && json.Unmarshal(raw, &got) == nil && got == p.value() {
			continue
		}
		problems = append(problems, fmt.Sprintf("%s: filledValues has %s for %q, asked %v", run, orNothing(raw), p.name, p.value()))
	}
	return problems
}

func orNothing(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	return string(raw)
}

// checkFields reads the unflattened output with qpdf: every value asked
// for is the field's value.
func checkFields(ctx context.Context, path string, picks []pick) error {
	doc, err := pdfreadback.ReadForm(ctx, path)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	var wrong []string
	for _, p := range picks {
		f, ok := doc.Field(p.name)
		switch {
		case !ok:
			wrong = append(wrong, fmt.Sprintf("%q is not a field", p.name))
		case p.fieldType == "checkbox" && isOn(f) != p.checked:
			wrong = append(wrong, fmt.Sprintf("%q reads %q, asked %v", p.name, f.Value, p.checked))
		case p.fieldType != "checkbox" && f.Value != p.text && !slices.Contains(f.Values, p.text):
			wrong = append(wrong, fmt.Sprintf("%q reads %q, asked %q", p.name, f.Value, p.text))
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("qpdf reads back: %s", strings.Join(wrong, "; "))
	}
	return nil
}

// checkFlattened reads the flattened output: no form or widget is left
// (qpdf) and the text values are on the page (pdftotext; whitespace is
// ignored, since a comb field spaces its letters out).
func checkFlattened(ctx context.Context, path string, picks []pick) (int, error) {
	doc, err := pdfreadback.ReadForm(ctx, path)
	if err != nil {
		return 0, fmt.Errorf("read flattened: %w", err)
	}
	if doc.HasAcroForm || len(doc.Fields) > 0 || doc.Widgets > 0 {
		return 0, fmt.Errorf("flattened output still has a form (AcroForm %v, %d fields, %d widgets)", doc.HasAcroForm, len(doc.Fields), doc.Widgets)
	}
	text, err := pdfreadback.Text(ctx, path)
	if err != nil {
		return 0, err
	}
	page := strings.Join(strings.Fields(text), "")
	found := 0
	var missing []string
	for _, p := range picks {
		if !p.shownAsText() {
			continue
		}
		if strings.Contains(page, strings.Join(strings.Fields(p.text), "")) {
			found++
		} else {
			missing = append(missing, fmt.Sprintf("%q (%s %q)", p.text, p.fieldType, p.name))
		}
	}
	if len(missing) > 0 {
		return found, fmt.Errorf("pdftotext does not find on the flattened page: %s", strings.Join(missing, ", "))
	}
	return found, nil
}
