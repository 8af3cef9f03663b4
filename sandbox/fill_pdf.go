package sandbox

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/form"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// writeValues writes a fill plan into the parsed document and reads every
// value back from it. It returns output.filledValues: the planned values
// that read back as planned; one that did not land is left out and logged
// with its field's name. Flattening, when asked for, comes after
// (flattenForm), so the values are read back from the fields first.
//
// pdfcpu's form filler writes what it can (it draws the nicest appearances,
// with fonts for any script); the sandbox writes the rest itself
// (writeDirect): fields pdfcpu cannot read, read-only fields (which pdfcpu
// skips; the flag is kept), choices whose export values differ from what
// they display (pdfcpu writes the displayed text), and every value when
// pdfcpu's filler fails or panics on the document.
func writeValues(logger *slog.Logger, ctx *model.Context, fields []*formField, plan fillPlan) (map[string]json.RawMessage, error) {
	if len(fields) == 0 || len(plan.values) == 0 {
		return nil, nil
	}
	// A filled form no longer matches a signature or usage rights made for
	// the blank one, and an XFA layer would make viewers that prefer it show
	// the old, empty data instead of the AcroForm fields we filled.
	ctx.RemoveSignature()
	ctx.Form.Delete("XFA")

	byID := map[string]plannedValue{}
	var withPDFCPU, direct []plannedValue
	for _, pv := range plan.values {
		// pdfcpu writes a dropdown's value without drawing its appearance,
		// which a viewer that does not regenerate it (and flattening) would
		// show empty: the sandbox writes dropdowns itself.
		if pv.field.ChoiceAsText || pv.field.tolerant || pv.field.ReadOnly || len(pv.field.exports) > 0 || len(pv.field.pdfcpuIDs) == 0 ||
			pv.field.Kind == kindDropdown {
			direct = append(direct, pv)
			continue
		}
		withPDFCPU = append(withPDFCPU, pv)
		for _, id := range pv.field.pdfcpuIDs {
			byID[id] = pv
		}
	}
	if len(byID) > 0 {
		if err := fillWithPDFCPU(ctx, byID); err != nil {
			logger.Warn("sandbox engine: pdfcpu could not fill the form; the sandbox writes every value itself", "err", err)
			direct = append(withPDFCPU, direct...)
		}
	}
	aw := newAppearanceWriter(ctx.XRefTable)
	for _, pv := range direct {
		if err := writeDirect(ctx.XRefTable, aw, pv); err != nil {
			logger.Warn("sandbox engine: a value could not be written", "field", pv.field.Name, "property", pv.property, "err", err)
		}
	}
	if aw.lossy {
		// The standard fonts could not draw every character: viewers that
		// can should draw the fields themselves.
		ctx.Form["NeedAppearances"] = types.Boolean(true)
	}
	for _, pv := range plan.values {
		clearStaleWidgetValues(ctx.XRefTable, pv.field)
	}
	landed, err := readBackValues(logger, ctx.XRefTable, plan)
	if err != nil {
		return nil, err
	}
	return landed, nil
}

// fillWithPDFCPU runs pdfcpu's form filler on the values keyed by pdfcpu's
// field IDs; a panic inside it is an error.
func fillWithPDFCPU(ctx *model.Context, byID map[string]plannedValue) (err error) {
	defer pdfcpuPanicked(&err, "filling the form")
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
