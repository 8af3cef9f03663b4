package sandbox

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/google/go-cmp/cmp"
)

// fillTestTargets is a small form: text, a limited text, a checkbox, a radio
// group, a dropdown, a field-less property and a signature.
func fillTestTargets() []fillTarget {
	fields := []*formField{
		{Name: "applicant.name[0]", AltName: "Full name", Kind: kindText},
		{Name: "state", AltName: "State", Kind: kindText, MaxLen: 2},
		{Name: "agree", AltName: "I agree", Kind: kindCheckbox},
		{Name: "plan", AltName: "Plan", Kind: kindRadio, Options: []string{"Basic", "Premium 💎"}},
		{Name: "country", AltName: "Country", Kind: kindDropdown, Options: []string{"Canada", "Mexico"}},
		{Name: "sig", AltName: "Signature", Kind: kindSignature},
	}
	targets := detectedTargets(fields)
	return append(targets, fillTarget{prop: schemaProperty{Name: "internalRef", Description: "Reference"}})
}

func withValue(targets []fillTarget, name, value string) []fillTarget {
	out := append([]fillTarget(nil), targets...)
	out[targetIndex(out, name)].prop.Value = json.RawMessage(value)
	return out
}

func TestFillPlan(t *testing.T) {
	tests := []struct {
		name         string
		targets      []fillTarget
		instructions string
		required     []string
		want         map[string]string // property -> written JSON
	}{
		{
			name:         "instruction labels in every tier",
			targets:      fillTestTargets(),
			instructions: "applicant.name[0]: Ada Lovelace\nstate: WA\nI AGREE: yes\nplan: premium\nCountry: Mexico",
			want:         map[string]string{"applicant.name[0]": `"Ada Lovelace"`, "state": `"WA"`, "agree": `true`, "plan": `"Premium 💎"`, "country": `"Mexico"`},
		},
		{
			name:         "leaf name tier",
			targets:      fillTestTargets(),
			instructions: "name: Grace Hopper",
			want:         map[string]string{"applicant.name[0]": `"Grace Hopper"`},
		},
		{
			name:         "split at the first colon only",
			targets:      fillTestTargets(),
			instructions: "Full name: Dr: Who",
			want:         map[string]string{"applicant.name[0]": `"Dr: Who"`},
		},
		{
			name:         "extend_edit:value wins over instructions",
			targets:      withValue(fillTestTargets(), "state", `"OR"`),
			instructions: "State: WA",
			want:         map[string]string{"state": `"OR"`},
		},
		{
			name:         "a later line overrides an earlier one",
			targets:      fillTestTargets(),
			instructions: "State: WA\r\nState: ID\r\n",
			want:         map[string]string{"state": `"ID"`},
		},
		{
			name:         "lines without a colon, empty values and unknown labels fill nothing",
			targets:      fillTestTargets(),
			instructions: "Please fill the form\nState:\nFavourite colour: blue\n: orphan value",
			want:         map[string]string{},
		},
		{
			name: "a tie fills nothing",
			targets: detectedTargets([]*formField{
				{Name: "a.c1_01[0]", Kind: kindCheckbox},
				{Name: "a.c1_01[1]", Kind: kindCheckbox},
			}),
			instructions: "c1_01: yes",
			want:         map[string]string{},
		},
		{
			name:         "checkbox words",
			targets:      fillTestTargets(),
			instructions: "agree: Unchecked",
			want:         map[string]string{"agree": `false`},
		},
		{
			name:    "checkbox from a JSON boolean",
			targets: withValue(fillTestTargets(), "agree", `true`),
			want:    map[string]string{"agree": `true`},
		},
		{
			name:    "text from a JSON number",
			targets: withValue(fillTestTargets(), "applicant.name[0]", `42.50`),
			want:    map[string]string{"applicant.name[0]": `"42.50"`},
		},
		{
			name:         "values for a signature or a field-less property are not written",
			targets:      fillTestTargets(),
			instructions: "Signature: Ada\nReference: R-1",
			want:         map[string]string{},
		},
		{
			name:         "required satisfied by a property without a field",
			targets:      fillTestTargets(),
			instructions: "Reference: R-1",
			required:     []string{"internalRef"},
			want:         map[string]string{},
		},
		{
			name:         "an explicit null value is no value",
			targets:      withValue(fillTestTargets(), "state", `null`),
			instructions: "State: WA",
			want:         map[string]string{"state": `"WA"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A null extend_edit:value is dropped when a schema is parsed.
			for i := range tt.targets {
				if string(tt.targets[i].prop.Value) == "null" {
					tt.targets[i].prop.Value = nil
				}
			}
			plan, err := planFill(tt.targets, tt.instructions, tt.required)
			if err != nil {
				t.Fatalf("planFill: %v", err)
			}
			got := map[string]string{}
			for k, v := range plan.filledValues {
				got[k] = string(v)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("filled values (-want +got):\n%s", diff)
			}
			if len(tt.want) == 0 && plan.filledValues != nil {
				t.Error("nothing filled: filledValues must be nil so the output omits it")
			}
		})
	}
}

func TestFillPlanValidationErrors(t *testing.T) {
	tests := []struct {
		name         string
		targets      []fillTarget
		instructions string
		required     []string
		wantInMsg    []string
	}{
		{"option that fits nothing", fillTestTargets(), "Plan: Gold", nil, []string{`"plan"`, `"Gold"`, "instructions line 1"}},
		{"dropdown value that fits nothing", withValue(fillTestTargets(), "country", `"Peru"`), "", nil, []string{`"country"`, "extend_edit:value"}},
		{"checkbox word", fillTestTargets(), "I agree: maybe", nil, []string{`"agree"`, `"maybe"`}},
		{"checkbox object", withValue(fillTestTargets(), "agree", `{"v":true}`), "", nil, []string{`"agree"`}},
		{"text array", withValue(fillTestTargets(), "state", `["WA"]`), "", nil, []string{`"state"`}},
		{"longer than maxLen", fillTestTargets(), "State: Washington", nil, []string{`"state"`, "2 characters"}},
		{"required without value", fillTestTargets(), "State: WA", []string{"plan", "missing"}, []string{`"plan" is required`, `"missing" is required`}},
		{"every problem reported", fillTestTargets(), "Plan: Gold\nI agree: maybe", nil, []string{`"plan"`, `"agree"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planFill(tt.targets, tt.instructions, tt.required)
			if got := engineFailureReason(t, err); got != extendapi.ReasonSchemaValidationError {
				t.Fatalf("reason = %q (%v), want SCHEMA_VALIDATION_ERROR", got, err)
			}
			for _, s := range tt.wantInMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err.Error(), s)
				}
			}
		})
	}
}

func TestFillGivenSchemaEnumAndMaxLength(t *testing.T) {
	s, err := parseEditSchema(json.RawMessage(`{"type":"object","properties":{
		"size":{"type":["string","null"],"enum":["Small","Large",null],"maxLength":5},
		"note":{"type":["string","null"],"maxLength":3}
	}}`))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	fields := []*formField{{Name: "size", Kind: kindText}, {Name: "note", Kind: kindText, MaxLen: 10}}
	targets, _ := mapSchemaToFields(s, fields)

	plan, err := planFill(targets, "size: large\nnote: abc", nil)
	if err != nil {
		t.Fatalf("planFill: %v", err)
	}
	if got := string(plan.filledValues["size"]); got != `"Large"` {
		t.Errorf("size = %s, want the enum entry \"Large\"", got)
	}
	if _, err := planFill(targets, "size: Medium", nil); engineFailureReason(t, err) != extendapi.ReasonSchemaValidationError {
		t.Errorf("a value outside the property's enum: err = %v, want SCHEMA_VALIDATION_ERROR", err)
	}
	if _, err := planFill(targets, "note: abcd", nil); engineFailureReason(t, err) != extendapi.ReasonSchemaValidationError {
		t.Errorf("the schema's maxLength (3) is stricter than the field's (10): err = %v, want SCHEMA_VALIDATION_ERROR", err)
	}
}

func TestFillValidateEditSchema(t *testing.T) {
	valid := []string{
		`{"type":"object","properties":{}}`,
		`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"if":{},"then":{}}`,
		`{"properties":{"a":{"type":["boolean","null"],"extend_edit:field_type":"checkbox","extend_edit:value":true}}}`,
	}
	for _, s := range valid {
		if err := ValidateEditSchema(json.RawMessage(s)); err != nil {
			t.Errorf("ValidateEditSchema(%s) = %v, want nil", s, err)
		}
	}
	invalid := []string{
		`[]`,
		`"object"`,
		`{"type":"array","properties":{}}`,
		`{"properties":[]}`,
		`{"properties":{"a":"string"}}`,
		`{"properties":{"a":{"type":3}}}`,
		`{"properties":{"a":{"enum":"x"}}}`,
		`{"properties":{"a":{"extend_edit:field_type":"slider"}}}`,
		`{"properties":{"a":{"maxLength":-1}}}`,
		`{"properties":{},"required":"a"}`,
		`{"properties":{}} trailing`,
	}
	for _, s := range invalid {
		if err := ValidateEditSchema(json.RawMessage(s)); !errors.Is(err, ErrInvalidSchema) {
			t.Errorf("ValidateEditSchema(%s) = %v, want ErrInvalidSchema", s, err)
		}
	}
}
