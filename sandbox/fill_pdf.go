package sandbox

import (
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/form"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// writeValues writes a fill plan into the parsed document. Flattening, when
// asked for, comes after (flattenForm).
func writeValues(ctx *model.Context, plan fillPlan, hasFields bool) error {
	if !hasFields || len(plan.values) == 0 {
		return nil
	}
	// A filled form no longer matches a signature or usage rights made for
	// the blank one, and an XFA layer would make viewers that prefer it show
	// the old, empty data instead of the AcroForm fields we filled.
	ctx.RemoveSignature()
	ctx.Form.Delete("XFA")

	byID := map[string]plannedValue{}
	var direct []plannedValue
	for _, pv := range plan.values {
		if pv.field.ChoiceAsText {
			direct = append(direct, pv)
			continue
		}
		for _, id := range pv.field.pdfcpuIDs {
			byID[id] = pv
		}
	}
	if len(byID) > 0 {
		details := func(id, name string, ft form.FieldType, _ form.DataFormat) ([]string, bool, bool) {
			pv, ok := byID[id]
			if !ok || !pdfcpuTypeFits(pv.field, ft) {
				return nil, false, false
			}
			if ft == form.FTCheckBox {
				if pv.checked {
					return []string{"t"}, false, true
				}
				return []string{"f"}, false, true
			}
			return []string{pv.text}, false, true
		}
		if _, _, err := form.FillForm(ctx, details, nil, form.JSON); err != nil {
			return fmt.Errorf("fill fields: %w", err)
		}
	}
	for _, pv := range direct {
		if err := writeChoiceAsText(ctx, pv); err != nil {
			return err
		}
	}
	return nil
}

// pdfcpuTypeFits guards against writing a value into an entry pdfcpu sees
// as another kind than detection did.
func pdfcpuTypeFits(f *formField, ft form.FieldType) bool {
	switch f.Kind {
	case kindCheckbox:
		return ft == form.FTCheckBox
	case kindRadio:
		return ft == form.FTRadioButtonGroup
	case kindDropdown:
		return ft == form.FTComboBox
	case kindOptionList:
		return ft == form.FTListBox
	case kindText:
		return ft == form.FTText || ft == form.FTDate
	}
	return false
}

// writeChoiceAsText writes a choice field whose widgets pdfcpu cannot fill:
// the value goes on the field dictionary and viewers are asked to draw the
// appearance themselves. Best-effort, as the README says.
func writeChoiceAsText(ctx *model.Context, pv plannedValue) error {
	d, err := ctx.DereferenceDict(pv.field.ref)
	if err != nil {
		return fmt.Errorf("field %q: %w", pv.field.Name, err)
	}
	s, err := types.EscapedUTF16String(pv.text)
	if err != nil {
		return fmt.Errorf("field %q: encode value: %w", pv.field.Name, err)
	}
	d["V"] = types.StringLiteral(*s)
	// Indices of selected options would contradict the new value.
	d.Delete("I")
	ctx.Form["NeedAppearances"] = types.Boolean(true)
	return nil
}
