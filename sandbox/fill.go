package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/editwatch/editwatch/extendapi"
)

// fillTarget pairs a schema property with the form field it writes to.
type fillTarget struct {
	prop  schemaProperty
	field *formField // nil when the property names no form field
}

// plannedValue is one value the edit writes into one field.
type plannedValue struct {
	property string
	field    *formField
	text     string // text, or the option chosen for a choice field
	checked  bool   // checkboxes
}

// fillPlan is what an edit will write, decided before pdfcpu touches the
// document.
type fillPlan struct {
	values []plannedValue
	// filledValues is what the plan means to write, keyed by property name
	// (a string, or a boolean for checkboxes). output.filledValues is what
	// of it reads back from the filled document (readBackValues).
	filledValues map[string]json.RawMessage
}

// candidateValue is a property's value before it is checked against its
// field: JSON from extend_edit:value, or text from an instruction line.
type candidateValue struct {
	json   json.RawMessage
	text   string
	source string
}

var (
	checkedWords   = []string{"true", "yes", "on", "x", "checked"}
	uncheckedWords = []string{"false", "no", "off", "unchecked"}
)

// planFill applies the sandbox's filling rules (README, sandbox section):
// extend_edit:value wins; otherwise instruction lines "LABEL: VALUE" fill
// the property LABEL names (tiered matching, ties fill nothing, a later line
// overrides an earlier one); checkbox and choice values must fit their field;
// required properties must end with a value. Any violation is a
// SCHEMA_VALIDATION_ERROR failure listing every problem found.
func planFill(targets []fillTarget, instructions string, required []string) (fillPlan, error) {
	values := make([]*candidateValue, len(targets))
	for i, t := range targets {
		if t.prop.Value != nil {
			values[i] = &candidateValue{json: t.prop.Value, source: "extend_edit:value"}
		}
	}
	applyInstructions(targets, values, instructions)

	plan := fillPlan{filledValues: map[string]json.RawMessage{}}
	var problems []string
	for i, t := range targets {
		v := values[i]
		if v == nil || t.field == nil {
			continue
		}
		pv, ok, err := convertValue(t, v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%q (%s): %v", t.prop.Name, v.source, err))
			continue
		}
		if !ok {
			continue
		}
		plan.values = append(plan.values, pv)
		written, err := writtenJSON(pv)
		if err != nil {
			return fillPlan{}, err
		}
		plan.filledValues[t.prop.Name] = written
	}
	for _, name := range required {
		i := targetIndex(targets, name)
		if i < 0 || values[i] == nil {
			problems = append(problems, fmt.Sprintf("%q is required but has no value", name))
		}
	}
	if len(problems) > 0 {
		return fillPlan{}, &Failure{
			Reason:  extendapi.ReasonSchemaValidationError,
			Message: "values failed validation against the edit schema: " + strings.Join(problems, "; "),
		}
	}
	if len(plan.filledValues) == 0 {
		plan.filledValues = nil
	}
	return plan, nil
}

func targetIndex(targets []fillTarget, name string) int {
	for i, t := range targets {
		if t.prop.Name == name {
			return i
		}
	}
	return -1
}

// applyInstructions reads "LABEL: VALUE" lines (split at the first colon)
// into values for the properties their labels name, leaving properties that
// already have an extend_edit:value alone.
func applyInstructions(targets []fillTarget, values []*candidateValue, instructions string) {
	if strings.TrimSpace(instructions) == "" {
		return
	}
	candidates := make([]labelCandidate, len(targets))
	for i, t := range targets {
		candidates[i] = labelCandidate{Name: t.prop.Name, Description: t.prop.Description}
	}
	idx := newLabelIndex(candidates)
	for n, line := range strings.Split(instructions, "\n") {
		label, value, found := strings.Cut(strings.TrimRight(line, "\r"), ":")
		value = strings.TrimSpace(value)
		if !found || value == "" {
			continue
		}
		i, _, ok := idx.lookup(label)
		if !ok || targets[i].prop.Value != nil {
			continue
		}
		values[i] = &candidateValue{text: value, source: fmt.Sprintf("instructions line %d", n+1)}
	}
}

// convertValue checks a value against its field and turns it into what will
// be written. ok is false for fields that take no value (signatures, unknown
// kinds): such values are accepted and ignored.
func convertValue(t fillTarget, v *candidateValue) (plannedValue, bool, error) {
	pv := plannedValue{property: t.prop.Name, field: t.field}
	f := t.field
	switch f.Kind {
	case kindCheckbox:
		checked, err := checkboxValue(v)
		if err != nil {
			return pv, false, err
		}
		pv.checked = checked
		return pv, true, nil
	case kindRadio, kindDropdown, kindOptionList, kindText:
		text, err := textValue(v)
		if err != nil {
			return pv, false, err
		}
		options := f.Options
		if len(options) == 0 {
			options = t.prop.Enum
		}
		if len(options) > 0 {
			option, ok := matchOption(text, options)
			if !ok {
				return pv, false, fmt.Errorf("value %q is not one of the options %q", text, options)
			}
			text = option
		}
		maxLen := f.MaxLen
		if t.prop.MaxLength > 0 && (maxLen == 0 || t.prop.MaxLength < maxLen) {
			maxLen = t.prop.MaxLength
		}
		if maxLen > 0 && utf8.RuneCountInString(text) > maxLen {
			return pv, false, fmt.Errorf("value %q is longer than the field's %d characters", text, maxLen)
		}
		pv.text = text
		return pv, true, nil
	}
	return pv, false, nil
}

func checkboxValue(v *candidateValue) (bool, error) {
	word := v.text
	if v.json != nil {
		var b bool
		if json.Unmarshal(v.json, &b) == nil {
			return b, nil
		}
		s, err := jsonScalarText(v.json)
		if err != nil {
			return false, fmt.Errorf("a checkbox takes true or false: %w", err)
		}
		word = s
	}
	n := Normalize(word)
	for _, w := range checkedWords {
		if n == w {
			return true, nil
		}
	}
	for _, w := range uncheckedWords {
		if n == w {
			return false, nil
		}
	}
	return false, fmt.Errorf("value %q is not a checkbox value (true/false, yes/no, on/off, x, checked/unchecked)", word)
}

func textValue(v *candidateValue) (string, error) {
	if v.json == nil {
		return v.text, nil
	}
	return jsonScalarText(v.json)
}

// jsonScalarText is the text of a JSON string, number or boolean.
func jsonScalarText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return strconv.FormatBool(b), nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("value %s is not a string, number or boolean", raw)
}

func writtenJSON(pv plannedValue) (json.RawMessage, error) {
	if pv.field.Kind == kindCheckbox {
		return json.Marshal(pv.checked)
	}
	return json.Marshal(pv.text)
}
