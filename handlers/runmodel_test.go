package handlers

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

const modelSchema = `{
  "type": "object",
  "required": ["name"],
  "properties": {
    "name": {"type": ["string", "null"], "description": "Full name", "extend_edit:field_type": "text",
             "extend_edit:page_index": 0, "extend_edit:value": "Preset Secret Name"},
    "status": {"type": ["string", "null"], "enum": ["single", "married", null], "extend_edit:field_type": "radio"},
    "employer": {"type": "object", "properties": {
        "city": {"type": ["string", "null"], "extend_edit:value": "Secret City"}
    }},
    "rows": {"type": "array", "items": {"type": "object", "properties": {"amount": {"type": ["number", "null"]}}}}
  },
  "if": {"properties": {"status": {"const": "married"}}},
  "then": {"properties": {"name": {"extend_edit:value": "Branch Secret"}}}
}`

func modelRun() extendapi.EditRun {
	t := true
	return extendapi.EditRun{
		ID: "edr_model", Status: extendapi.StatusProcessed,
		File: extendapi.FileSummary{ID: "file_in", Name: "form.pdf"},
		Config: &extendapi.EditConfig{Schema: json.RawMessage(modelSchema), Instructions: "Instruction Secret",
			AdvancedOptions: &extendapi.EditAdvancedOptions{FlattenPDF: &t}},
		Output: &extendapi.EditRunOutput{
			EditedFile: extendapi.EditedFile{ID: "file_out", PresignedURL: "https://storage.example/signed?sig=abc"},
			FilledValues: map[string]json.RawMessage{
				"status": json.RawMessage(`"married"`), "name": json.RawMessage(`"Filled Secret"`),
				"extra": json.RawMessage(`null`), "employer": json.RawMessage(`{"city":"Filled City Secret"}`),
			},
		},
	}
}

func TestRunPageModelMasksEveryPersonalValue(t *testing.T) {
	p, err := runPageModel(modelRun(), "ws_a", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Order follows the schema; unknown fields come after, alphabetically.
	var order []string
	for _, v := range p.FilledValues {
		order = append(order, v.Field)
	}
	if diff := cmp.Diff([]string{"name", "status", "employer", "extra"}, order); diff != "" {
		t.Errorf("filled values order (-want +got):\n%s", diff)
	}
	if *p.Counts.Filled != 3 {
		t.Errorf("filled count %d, want 3 (null is not filled)", *p.Counts.Filled)
	}
	everything, _ := json.Marshal(p) // whatever reaches the template
	for _, secret := range []string{"Preset Secret Name", "Secret City", "Branch Secret", "Instruction Secret",
		"Filled Secret", "Filled City Secret", "storage.example", "presignedUrl"} {
		if strings.Contains(string(everything), secret) {
			t.Errorf("%q is visible while masked", secret)
		}
	}
	if p.FilledValues[0].Type != "text" || p.FilledValues[1].Type != "radio" || p.FilledValues[2].Type != "object" {
		t.Errorf("types %q %q %q", p.FilledValues[0].Type, p.FilledValues[1].Type, p.FilledValues[2].Type)
	}
	want := []string{"value:name", "value:status", "value:employer", "config:instructions", "schema:name", "schema:employer.city"}
	if diff := cmp.Diff(want, revealKeysOf(p)); diff != "" {
		t.Errorf("reveal keys (-want +got):\n%s", diff)
	}
	// The schema tree.
	name := p.Config.Schema[0]
	if name.Name != "name" || name.Type != "string" || name.FieldType != "text" || !name.Required ||
		name.Description != "Full name" || name.PageIndex == nil || *name.PageIndex != 0 {
		t.Errorf("name field %+v", name)
	}
	if st := p.Config.Schema[1]; !cmp.Equal(st.Enum, []string{"single", "married"}) {
		t.Errorf("status enum %v", st.Enum)
	}
	if rows := p.Config.Schema[3]; len(rows.Children) != 1 || rows.Children[0].Name != "amount" || rows.Children[0].Type != "number" {
		t.Errorf("array items %+v", rows.Children)
	}
	if !strings.Contains(p.RawJSON, `"object"`) && !strings.Contains(p.RawJSON, `"id": "edr_model"`) {
		t.Errorf("raw JSON lost the run: %s", p.RawJSON)
	}
	if strings.Index(p.RawJSON, `"id": "edr_model"`) > strings.Index(p.RawJSON, `"status"`) {
		t.Error("raw JSON does not keep Extend's field order")
	}
}

func TestRunPageModelRevealsOnlyWhatWasRevealed(t *testing.T) {
	p, err := runPageModel(modelRun(), "ws_a", revealSet{"value:name": true, "schema:employer.city": true})
	if err != nil {
		t.Fatal(err)
	}
	if v := p.FilledValues[0].Value; v.Masked || v.Text != "Filled Secret" {
		t.Errorf("revealed name: %+v", v)
	}
	if v := p.FilledValues[1].Value; !v.Masked || v.Text != "" {
		t.Errorf("status should stay masked: %+v", v)
	}
	if v := p.Config.Schema[2].Children[0].Value; v.Masked || v.Text != "Secret City" {
		t.Errorf("revealed preset: %+v", v)
	}
	for _, want := range []string{`"name": "Filled Secret"`, `"extend_edit:value": "Secret City"`} {
		if !strings.Contains(p.RawJSON, want) {
			t.Errorf("raw JSON lacks %s", want)
		}
	}
	for _, hidden := range []string{"Instruction Secret", "Preset Secret Name", "Branch Secret", "Filled City Secret"} {
		if strings.Contains(p.RawJSON, hidden) {
			t.Errorf("raw JSON shows %q", hidden)
		}
	}
}

func TestSchemaErrorsPointAtLineAndColumn(t *testing.T) {
	tests := []struct {
		name, schema string
		want         *views.SchemaError
	}{
		{"missing comma", "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"a\": {\"type\": \"string\"}\n    \"b\": {}\n  }\n}",
			&views.SchemaError{Line: 5, Column: 5, Message: `expected ',' or '}' after an object member, found '"'`}},
		{"trailing comma", "{\"type\": \"object\",\n}", &views.SchemaError{Line: 2, Column: 1,
			Message: "expected a quoted key (a trailing comma before '}'?), found '}'"}},
		{"cut off", "{\"type\": \"object\",\n \"properties\": {", &views.SchemaError{Line: 2, Column: 17,
			Message: "the JSON ends too early: a closing } or ] or a value is missing"}},
		{"not an object", "[1]", &views.SchemaError{Line: 1, Column: 1,
			Message: `The schema must be a JSON object, like {"type": "object", "properties": {…}}.`}},
		{"wrong root type", `{"type": "string"}`, &views.SchemaError{Message: `The schema's root needs "type": "object".`}},
		{"fine", `{"type": "object", "properties": {}}`, nil},
		{"empty", "  ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := checkSchema(tt.schema)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("checkSchema (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrettyJSONKeepsOrderAndInlinesShortScalars(t *testing.T) {
	tree, err := parseJSONTree([]byte(`{"z":1,"type":["string","null"],"bbox":{"left":1.5,"top":2},"nested":{"a":[{"b":true}]},"s":"<&>"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "z": 1,
  "type": ["string", "null"],
  "bbox": {"left": 1.5, "top": 2},
  "nested": {
    "a": [
      {"b": true}
    ]
  },
  "s": "<&>"
}`
	if diff := cmp.Diff(want, tree.pretty()); diff != "" {
		t.Errorf("pretty (-want +got):\n%s", diff)
	}
	var back any
	if err := json.Unmarshal([]byte(tree.pretty()), &back); err != nil {
		t.Errorf("pretty output is not JSON: %v", err)
	}
}
