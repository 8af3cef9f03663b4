package handlers

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// Asset names of the document view's scripts in static/js.
const (
	docViewModule = "docview.js"
	docViewLoader = "docviewopen.js"
)

// docViewModel is the document view of a run's page, or nil when the run
// has nothing to show: only a PROCESSED run with its edited PDF, or a
// FAILED run with an input file, has one.
func (a *dashboard) docViewModel(run extendapi.EditRun, ws string) *views.DocView {
	var d views.DocView
	switch {
	case run.Status == extendapi.StatusProcessed && run.Output != nil && run.Output.EditedFile.ID != "":
		d.EditedURL = views.RunFileURL(a.BasePath, ws, run.ID, views.FileEdited)
		if run.File.ID != "" {
			d.InputURL = views.RunFileURL(a.BasePath, ws, run.ID, views.FileInput)
		}
	case run.Status == extendapi.StatusFailed && run.File.ID != "":
		d.InputURL = views.RunFileURL(a.BasePath, ws, run.ID, views.FileInput)
		d.Failed = true
	default:
		return nil
	}
	d.PDFJSBase = a.Assets.PDFJSURL("")
	d.ModuleURL = a.Assets.URL(docViewModule)
	d.LoaderURL = a.Assets.URL(docViewLoader)
	var schema json.RawMessage
	if run.Config != nil {
		schema = run.Config.Schema
	}
	var filled map[string]json.RawMessage
	if run.Output != nil {
		filled = run.Output.FilledValues
	}
	failureMessage := ""
	if d.Failed {
		failureMessage = run.FailureMessage
	}
	d.Fields = docFields(schema, filled, failureMessage)
	return &d
}

// schemaProperty is what the document view reads of a schema property.
type schemaProperty struct {
	Description string          `json:"description"`
	FieldType   string          `json:"extend_edit:field_type"`
	PageIndex   *int            `json:"extend_edit:page_index"`
	BBox        *views.DocBox   `json:"extend_edit:bbox"`
	BBoxes      []views.DocBox  `json:"extend_edit:bboxes"`
	Value       json.RawMessage `json:"extend_edit:value"`
}

// docFields lists the schema's properties in order, then the filled
// values the schema does not name, each with its outcome. A schema this
// cannot read gives no positions: the view then finds the fields among
// the input's widgets, as for a run started from instructions.
func docFields(schema json.RawMessage, filled map[string]json.RawMessage, failureMessage string) []views.DocField {
	fields := []views.DocField{} // never null in the JSON
	seen := map[string]bool{}
	if root, err := parseJSONTree(schema); err == nil && len(strings.TrimSpace(string(schema))) > 0 {
		var required []string
		if r := root.get("required"); r != nil {
			required = r.strings()
		}
		var parsed struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		_ = json.Unmarshal(schema, &parsed) // parseJSONTree accepted it
		if props := root.get("properties"); props != nil {
			for _, m := range props.members {
				// A property of the wrong shape is still a field, only
				// without its position: the view then looks for it among
				// the input's widgets.
				var p schemaProperty
				if err := json.Unmarshal(parsed.Properties[m.key], &p); err != nil {
					p = schemaProperty{}
				}
				f := views.DocField{Name: m.key, Description: p.Description, FieldType: p.FieldType, Page: p.PageIndex,
					Required: slices.Contains(required, m.key)}
				if p.BBox != nil {
					f.Boxes = append(f.Boxes, *p.BBox)
				}
				f.Boxes = append(f.Boxes, p.BBoxes...)
				fields = append(fields, f)
				seen[m.key] = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(filled)) {
		if !seen[name] {
			fields = append(fields, views.DocField{Name: name})
		}
	}
	for i := range fields {
		fields[i].Outcome = fieldOutcome(fields[i].Name, filled, failureMessage)
	}
	return fields
}

// fieldOutcome: a FAILED run's message naming the field verbatim wins
// (best effort: Extend's messages quote property names); else a value
// other than null or "" is filled.
func fieldOutcome(name string, filled map[string]json.RawMessage, failureMessage string) string {
	if failureMessage != "" && strings.Contains(failureMessage, name) {
		return views.OutcomeFailed
	}
	v := strings.TrimSpace(string(filled[name]))
	if v == "" || v == "null" || v == `""` {
		return views.OutcomeEmpty
	}
	return views.OutcomeFilled
}

// schemaKeywordConstraints are the JSON Schema keywords the schema table
// shows as constraints, in this order.
var schemaKeywordConstraints = []string{"maxLength", "minLength", "pattern", "format", "minimum", "maximum", "maxItems", "minItems"}

// schemaConstraints lists a property's constraints as "keyword value".
func schemaConstraints(prop *jsonNode) []string {
	var out []string
	for _, k := range schemaKeywordConstraints {
		if v := prop.get(k); v != nil && v.kind != jsonNull {
			out = append(out, k+" "+v.text())
		}
	}
	return out
}

// detectedFields is a detected schema as the schema table shows it on the
// new-run page: the values are the person's own, so none is masked.
func detectedFields(tree *jsonNode) []views.SchemaField {
	all := revealSet{}
	var collect func([]views.SchemaField)
	collect = func(fields []views.SchemaField) {
		for _, f := range fields {
			if f.Value != nil && f.Value.RevealKey != "" {
				all[f.Value.RevealKey] = true
			}
			collect(f.Children)
		}
	}
	collect(schemaFields(tree, "", nil))
	return schemaFields(tree, "", all)
}

// detectPreview is the document view of the new-run page after Detect
// fields: the uploaded input with the detected boxes, values from the
// schema's extend_edit:value. A file URL or a template has no preview.
func (a *dashboard) detectPreview(ws string, form *newRunForm, schema json.RawMessage) (*views.DocView, string) {
	if form.input() != views.InputUpload || form.FileID == "" {
		return nil, "A preview of the detected fields on the pages is not available for a file given by URL or a template; it is for an uploaded PDF."
	}
	var parsed struct {
		Properties map[string]struct {
			Value json.RawMessage `json:"extend_edit:value"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(schema, &parsed) // a schema we cannot read only has no values
	values := map[string]json.RawMessage{}
	for name, p := range parsed.Properties {
		values[name] = p.Value
	}
	return &views.DocView{
		InputURL:  views.FileURL(a.BasePath, ws, form.FileID),
		PDFJSBase: a.Assets.PDFJSURL(""),
		ModuleURL: a.Assets.URL(docViewModule),
		LoaderURL: a.Assets.URL(docViewLoader),
		Fields:    docFields(schema, values, ""),
		Preview:   true,
	}, ""
}
