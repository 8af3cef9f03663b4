package sandbox

import (
	"encoding/json"
	"log/slog"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// readBackValues is output.filledValues as the filled document holds it: a
// planned value is reported only when reading the field back finds it.
// What did not land is logged with the field's name and left out.
func readBackValues(logger *slog.Logger, xrt *model.XRefTable, plan fillPlan) (map[string]json.RawMessage, error) {
	landed := map[string]json.RawMessage{}
	for _, pv := range plan.values {
		got, ok := readFieldValue(xrt, pv.field)
		want, err := writtenJSON(pv)
		if err != nil {
			return nil, err
		}
		if !ok || string(got) != string(want) {
			logger.Warn("sandbox engine: a value did not land in the document and is left out of filledValues",
				"field", pv.field.Name, "property", pv.property, "want", string(want), "read back", string(got))
			continue
		}
		landed[pv.property] = want
	}
	if len(landed) == 0 {
		return nil, nil
	}
	return landed, nil
}

// readFieldValue reads a field's value from the document the way
// filledValues reports it: true/false for a checkbox, the option (as people
// read it) for a radio group or a choice, the text otherwise.
func readFieldValue(xrt *model.XRefTable, f *formField) (json.RawMessage, bool) {
	d, err := xrt.DereferenceDict(f.ref)
	if err != nil || d == nil {
		return nil, false
	}
	v, err := inheritedEntry(xrt, d, "V")
	if err != nil {
		return nil, false
	}
	var out any
	switch f.Kind {
	case kindCheckbox:
		name, _ := v.(types.Name)
		out = name != "" && name != "Off"
	case kindRadio:
		name, ok := v.(types.Name)
		if !ok {
			return nil, false
		}
		states := widgetOnStates(xrt, f.widgets)
		_, labels, err := radioOptions(xrt, d, states)
		if err != nil {
			return nil, false
		}
		value, _ := types.DecodeName(string(name))
		out = radioOptionFor(value, states, labels)
	case kindDropdown, kindOptionList:
		displays, exports, err := choiceOptions(xrt, mustInherited(xrt, d, "Opt"))
		if err != nil {
			return nil, false
		}
		out = choiceDisplay(xrt, v, displays, exports)
	default:
		s, ok := pdfText(xrt, v)
		if !ok {
			return nil, false
		}
		out = s
	}
	raw, err := json.Marshal(out)
	return raw, err == nil
}
