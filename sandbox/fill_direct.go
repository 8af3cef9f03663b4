package sandbox

import (
	"fmt"
	"slices"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// writeDirect writes one value without pdfcpu's form helpers: the value on
// the field dictionary, and on every widget an appearance the sandbox draws
// itself (the on state for checkboxes and radio buttons). It is how fields
// pdfcpu cannot read or draw get filled, and how read-only fields are
// written (pdfcpu skips them); the read-only flag is kept. A panic is an
// error naming the field.
func writeDirect(xrt *model.XRefTable, aw *appearanceWriter, pv plannedValue) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("field %q: writing the value panicked: %v", pv.field.Name, r)
		}
	}()
	f := pv.field
	d, err := xrt.DereferenceDict(f.ref)
	if err != nil || d == nil {
		return fmt.Errorf("field %q: the field dictionary cannot be read: %v", f.Name, err)
	}
	switch f.Kind {
	case kindCheckbox:
		err = writeCheckboxDirect(xrt, aw, d, f, pv.checked)
	case kindRadio:
		err = writeRadioDirect(xrt, aw, d, f, pv.text)
	case kindText, kindDropdown, kindOptionList:
		err = writeTextDirect(xrt, aw, d, f, pv.text)
	default:
		err = fmt.Errorf("a %s field takes no value", f.Kind)
	}
	if err != nil {
		return fmt.Errorf("field %q: %w", f.Name, err)
	}
	for _, twin := range f.twins {
		td, err := xrt.DereferenceDict(twin)
		if err != nil || td == nil {
			continue
		}
		for _, key := range []string{"V", "I"} {
			if v, ok := d[key]; ok {
				td[key] = v
			} else {
				td.Delete(key)
			}
		}
	}
	return nil
}

// pdfTextString encodes s as a PDF text string: plain when it is ASCII,
// UTF-16 with a byte order mark otherwise.
func pdfTextString(s string) (types.StringLiteral, error) {
	plain := true
	for _, r := range s {
		if r >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		e, err := types.Escape(s)
		if err != nil {
			return "", err
		}
		return types.StringLiteral(*e), nil
	}
	e, err := types.EscapedUTF16String(s)
	if err != nil {
		return "", err
	}
	return types.StringLiteral(*e), nil
}

func writeTextDirect(xrt *model.XRefTable, aw *appearanceWriter, d types.Dict, f *formField, text string) error {
	value, index := text, -1
	if f.Kind == kindDropdown || f.Kind == kindOptionList {
		displays, exports, err := choiceOptions(xrt, mustInherited(xrt, d, "Opt"))
		if err != nil {
			return err
		}
		if index = indexTrimmed(displays, text); index >= 0 {
			value = exports[index]
		}
	}
	v, err := pdfTextString(value)
	if err != nil {
		return fmt.Errorf("encode value: %w", err)
	}
	d["V"] = v
	// Selected indices would contradict the new value.
	d.Delete("I")
	if f.Kind == kindOptionList && index >= 0 {
		d["I"] = types.Array{types.Integer(index)}
	}
	fontName, size := aw.defaultAppearance(d)
	if err := aw.ensureFormFont(fontName); err != nil {
		return err
	}
	for _, w := range f.widgets {
		wd, err := xrt.DereferenceDict(w)
		if err != nil || wd == nil {
			continue
		}
		wdFont, wdSize := fontName, size
		if _, own := wd["DA"]; own {
			wdFont, wdSize = aw.defaultAppearance(wd)
			if err := aw.ensureFormFont(wdFont); err != nil {
				return err
			}
		}
		width, height := widgetSize(xrt, wd)
		ap, err := aw.textStream(width, height, wdFont, wdSize, text, f.Kind == kindOptionList)
		if err != nil {
			return fmt.Errorf("draw appearance: %w", err)
		}
		wd["AP"] = types.Dict{"N": ap}
		wd.Delete("AS")
	}
	return nil
}

func writeCheckboxDirect(xrt *model.XRefTable, aw *appearanceWriter, d types.Dict, f *formField, checked bool) error {
	value := types.Name("Off")
	for i, w := range f.widgets {
		wd, err := xrt.DereferenceDict(w)
		if err != nil || wd == nil {
			continue
		}
		on := onStateOf(xrt, wd)
		if on == "" {
			on = "Yes"
		}
		if err := ensureStateAppearances(xrt, aw, wd, on, false); err != nil {
			return err
		}
		state := types.Name("Off")
		if checked {
			state = types.Name(types.EncodeName(on))
			if i == 0 {
				value = state
			}
		}
		wd["AS"] = state
	}
	d["V"] = value
	return nil
}

func writeRadioDirect(xrt *model.XRefTable, aw *appearanceWriter, d types.Dict, f *formField, option string) error {
	states := widgetOnStates(xrt, f.widgets)
	_, labels, err := radioOptions(xrt, d, states)
	if err != nil {
		return err
	}
	chosen := ""
	for i, label := range labels {
		if label == option && states[i] != "" {
			chosen = states[i]
			break
		}
	}
	if chosen == "" {
		return fmt.Errorf("no button of the group stands for %q", option)
	}
	for i, w := range f.widgets {
		wd, err := xrt.DereferenceDict(w)
		if err != nil || wd == nil || states[i] == "" {
			continue
		}
		if err := ensureStateAppearances(xrt, aw, wd, states[i], true); err != nil {
			return err
		}
		wd["AS"] = types.Name("Off")
		if states[i] == chosen {
			wd["AS"] = types.Name(types.EncodeName(chosen))
		}
	}
	d["V"] = types.Name(types.EncodeName(chosen))
	return nil
}

// ensureStateAppearances makes sure a checkbox's or radio button's normal
// appearances hold a stream for its on state and for Off, drawing what is
// missing or is not a stream (some tools write /Off as a name), and drops
// down appearances that are not streams.
func ensureStateAppearances(xrt *model.XRefTable, aw *appearanceWriter, wd types.Dict, on string, radio bool) error {
	ap, _ := xrt.DereferenceDict(wd["AP"])
	if ap == nil {
		ap = types.Dict{}
	}
	normal, _ := xrt.DereferenceDict(ap["N"])
	if normal == nil {
		normal = types.Dict{}
	}
	w, h := widgetSize(xrt, wd)
	onKey := types.EncodeName(on)
	if !isStream(xrt, normal[onKey]) {
		ref, err := aw.checkStream(w, h, radio)
		if err != nil {
			return err
		}
		normal[onKey] = ref
	}
	if !isStream(xrt, normal["Off"]) {
		ref, err := aw.emptyStream(w, h)
		if err != nil {
			return err
		}
		normal["Off"] = ref
	}
	ap["N"] = normal
	if down, _ := xrt.DereferenceDict(ap["D"]); down != nil {
		for _, v := range down {
			if !isStream(xrt, v) {
				ap.Delete("D")
				break
			}
		}
	}
	wd["AP"] = ap
	return nil
}

func isStream(xrt *model.XRefTable, o types.Object) bool {
	if o == nil {
		return false
	}
	sd, _, err := xrt.DereferenceStreamDict(o)
	return err == nil && sd != nil
}

func mustInherited(xrt *model.XRefTable, d types.Dict, key string) types.Object {
	o, _ := inheritedEntry(xrt, d, key)
	return o
}

// clearStaleWidgetValues removes /V from a field's widgets that are
// dictionaries of their own: some tools give each radio button its own
// /V /Off, which readers such as pdf.js and qpdf then show instead of the
// field's new value.
func clearStaleWidgetValues(xrt *model.XRefTable, f *formField) {
	for _, w := range f.widgets {
		if w.ObjectNumber == f.ref.ObjectNumber || slices.ContainsFunc(f.twins, func(t types.IndirectRef) bool { return t.ObjectNumber == w.ObjectNumber }) {
			continue
		}
		if wd, err := xrt.DereferenceDict(w); err == nil && wd != nil {
			wd.Delete("V")
		}
	}
}
