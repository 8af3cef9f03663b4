package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/primitives"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// The tolerant reader walks /AcroForm /Fields itself. pdfcpu's field listing
// and form export stop at the first field they cannot read (options written
// as hex strings, a rich-text value stored as a stream, a push button
// without appearances read as a radio group, ...), which would fail the whole
// document over one odd field. Here each field is judged on its own: what
// cannot be understood becomes an "unknown" field with the reason, is never
// filled, and never fails the document.

// maxFieldDepth bounds the walk down /Kids, against cyclic field trees.
const maxFieldDepth = 32

// detectFieldsTolerantly reads the logical fields of the document by walking
// the AcroForm's field tree, in tree order. It fails only when the field
// list itself cannot be read.
func detectFieldsTolerantly(xrt *model.XRefTable) ([]*formField, error) {
	if xrt.Form == nil {
		return nil, nil
	}
	o, found := xrt.Form.Find("Fields")
	if !found {
		return nil, nil
	}
	roots, err := xrt.DereferenceArray(o)
	if err != nil {
		return nil, fmt.Errorf("%w: AcroForm Fields: %w", errFieldDetection, err)
	}
	w := fieldWalker{xrt: xrt, seen: map[int]bool{}, byName: map[string]*formField{}, widgetPage: widgetPages(xrt)}
	for i, root := range roots {
		ref, ok := root.(types.IndirectRef)
		if !ok {
			w.unreadable = append(w.unreadable, fmt.Sprintf("Fields[%d] is not a reference", i))
			continue
		}
		w.walk(ref, "", 0)
	}
	if len(w.fields) == 0 && len(w.unreadable) > 0 {
		return nil, fmt.Errorf("%w: the form lists %d fields but none can be read: %s",
			errFieldDetection, len(roots), strings.Join(w.unreadable, "; "))
	}
	return w.fields, nil
}

type fieldWalker struct {
	xrt        *model.XRefTable
	seen       map[int]bool
	widgetPage map[int]int
	fields     []*formField
	byName     map[string]*formField
	unreadable []string
}

// walk visits the field at ref, whose parent's fully qualified name is
// parentName.
func (w *fieldWalker) walk(ref types.IndirectRef, parentName string, depth int) {
	objNr := ref.ObjectNumber.Value()
	if w.seen[objNr] || depth > maxFieldDepth {
		return
	}
	w.seen[objNr] = true
	d, err := w.xrt.DereferenceDict(ref)
	if err != nil || d == nil {
		w.unreadable = append(w.unreadable, fmt.Sprintf("obj#%d is not a field dictionary", objNr))
		return
	}
	partial, _ := pdfText(w.xrt, d["T"])
	name := partial
	if parentName != "" {
		name = parentName + "." + partial
	}

	var widgets []types.IndirectRef
	var children []types.IndirectRef
	kids, _ := w.xrt.DereferenceArray(d["Kids"])
	for _, kid := range kids {
		kidRef, ok := kid.(types.IndirectRef)
		if !ok {
			continue
		}
		kd, err := w.xrt.DereferenceDict(kidRef)
		if err != nil || kd == nil {
			continue
		}
		kidName, named := pdfText(w.xrt, kd["T"])
		// A kid with no name of its own is a widget of this field. So is a
		// widget that repeats its parent's name (some tools write radio
		// buttons so): read as fields of their own they would be one
		// "group.group" field per button.
		if !named || (kidName == partial && isWidget(kd) && kd["Kids"] == nil) {
			widgets = append(widgets, kidRef)
			w.seen[kidRef.ObjectNumber.Value()] = true
			continue
		}
		children = append(children, kidRef)
	}
	if len(children) > 0 {
		for _, c := range children {
			w.walk(c, name, depth+1)
		}
		if len(widgets) == 0 {
			return
		}
	}
	if name == "" {
		// A widget with no field name anywhere up its tree: there is no
		// name a schema property or an instruction could give it.
		w.unreadable = append(w.unreadable, fmt.Sprintf("obj#%d has no field name (T)", objNr))
		return
	}
	if len(widgets) == 0 {
		widgets = []types.IndirectRef{ref}
	}
	// Field dictionaries sharing a fully qualified name are one field to
	// the PDF specification (they share a value): the first is the field,
	// the others are its twins, written alike.
	f, seen := w.byName[name]
	if seen {
		f.twins = append(f.twins, ref)
		f.widgets = append(f.widgets, widgets...)
	} else {
		f = &formField{Name: name, ref: ref, widgets: widgets, tolerant: true}
		w.byName[name] = f
	}
	for _, wr := range widgets {
		if p, ok := w.widgetPage[wr.ObjectNumber.Value()]; ok && !slices.Contains(f.pages, p) {
			f.pages = append(f.pages, p)
		}
	}
	slices.Sort(f.pages)
	if !seen {
		classifyTolerantly(w.xrt, f, d)
		w.fields = append(w.fields, f)
	}
}

func isWidget(d types.Dict) bool {
	if st := d.NameEntry("Subtype"); st != nil {
		return *st == "Widget"
	}
	_, hasRect := d.Find("Rect")
	return hasRect
}

// widgetPages maps each widget annotation's object number to the first page
// (1-based) that lists it.
func widgetPages(xrt *model.XRefTable) map[int]int {
	m := map[int]int{}
	for p := 1; p <= xrt.PageCount; p++ {
		annots, ok := xrt.PageAnnots[p][model.AnnWidget]
		if !ok || annots.IndRefs == nil {
			continue
		}
		for _, ir := range *annots.IndRefs {
			if _, seen := m[ir.ObjectNumber.Value()]; !seen {
				m[ir.ObjectNumber.Value()] = p
			}
		}
	}
	return m
}

// classifyTolerantly sets the field's kind, options and value from its
// dictionary. Whatever cannot be understood, including a panic while
// reading it, makes the field "unknown" with the reason.
func classifyTolerantly(xrt *model.XRefTable, f *formField, d types.Dict) {
	defer func() {
		if r := recover(); r != nil {
			f.Kind, f.Options, f.UnknownReason = kindUnknown, nil, fmt.Sprintf("reading the field failed: %v", r)
		}
	}()
	if tu, ok := pdfText(xrt, d["TU"]); ok {
		f.AltName = tu
	}
	if err := classifyDict(xrt, f, d); err != nil {
		f.Kind, f.Options, f.exports, f.UnknownReason = kindUnknown, nil, nil, err.Error()
	}
}

func classifyDict(xrt *model.XRefTable, f *formField, d types.Dict) error {
	ftObj, err := fieldAttribute(xrt, f, d, "FT")
	if err != nil {
		return err
	}
	ft, _ := ftObj.(types.Name)
	flags := primitives.FieldFlags(0)
	if ffObj, err := fieldAttribute(xrt, f, d, "Ff"); err != nil {
		return err
	} else if ff, ok := ffObj.(types.Integer); ok {
		flags = primitives.FieldFlags(ff)
	}
	f.ReadOnly = flags&primitives.FieldReadOnly != 0
	value, _ := inheritedEntry(xrt, d, "V")

	switch ft {
	case "Btn":
		// A push button holds no value, however many widgets and whatever
		// flags it has otherwise: it is set aside before anything else.
		if flags&primitives.FieldPushbutton != 0 {
			f.Kind = kindPushButton
			return nil
		}
		states := widgetOnStates(xrt, f.widgets)
		if flags&primitives.FieldRadio != 0 {
			f.Kind = kindRadio
			opts, labels, err := radioOptions(xrt, d, states)
			if err != nil {
				return err
			}
			f.Options = opts
			if v, ok := value.(types.Name); ok {
				f.Value = radioOptionFor(string(v), states, labels)
			}
			return nil
		}
		f.Kind = kindCheckbox
		if v, ok := value.(types.Name); ok && v != "Off" {
			f.Value = "Yes"
		}
		return nil
	case "Tx":
		f.Kind = kindText
		if ml, err := inheritedEntry(xrt, d, "MaxLen"); err == nil {
			if n, ok := ml.(types.Integer); ok && n > 0 {
				f.MaxLen = int(n)
			}
		}
		f.Value, _ = pdfText(xrt, value)
		return nil
	case "Ch":
		optObj, err := inheritedEntry(xrt, d, "Opt")
		if err != nil {
			return err
		}
		displays, exports, err := choiceOptions(xrt, optObj)
		if err != nil {
			return err
		}
		f.Value = choiceDisplay(xrt, value, displays, exports)
		if len(displays) == 0 {
			f.Kind, f.ChoiceAsText = kindText, true
			return nil
		}
		f.Options, f.exports = displays, exports
		f.Kind = kindOptionList
		if flags&primitives.FieldCombo != 0 {
			f.Kind = kindDropdown
		}
		f.MultiSelect = flags&primitives.FieldMultiselect != 0
		return nil
	case "Sig":
		f.Kind = kindSignature
		return nil
	case "":
		return errors.New("the field has no field type (FT)")
	}
	return fmt.Errorf("field type %q is not one the sandbox fills", string(ft))
}

// fieldAttribute is an inheritable attribute (FT, Ff) of the field: its own
// or an ancestor's, else the one its widgets carry (radio buttons that
// repeat their group's name often hold the group's type and flags).
func fieldAttribute(xrt *model.XRefTable, f *formField, d types.Dict, key string) (types.Object, error) {
	o, err := inheritedEntry(xrt, d, key)
	if err != nil || o != nil {
		return o, err
	}
	for _, w := range f.widgets {
		if w.ObjectNumber == f.ref.ObjectNumber {
			continue
		}
		wd, err := xrt.DereferenceDict(w)
		if err != nil || wd == nil {
			continue
		}
		if o, found := wd.Find(key); found {
			return xrt.Dereference(o)
		}
	}
	return nil, nil
}

// widgetOnStates is the "on" appearance state of each widget (the key of
// its normal appearances that is not Off), "" for a widget without one.
func widgetOnStates(xrt *model.XRefTable, widgets []types.IndirectRef) []string {
	states := make([]string, len(widgets))
	for i, w := range widgets {
		wd, err := xrt.DereferenceDict(w)
		if err != nil || wd == nil {
			continue
		}
		states[i] = onStateOf(xrt, wd)
	}
	return states
}

func onStateOf(xrt *model.XRefTable, wd types.Dict) string {
	ap, err := xrt.DereferenceDict(wd["AP"])
	if err != nil || ap == nil {
		return ""
	}
	for _, key := range []string{"N", "D"} {
		states, err := xrt.DereferenceDict(ap[key])
		if err != nil || states == nil {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(states)) {
			if s, err := types.DecodeName(k); err == nil && s != "Off" {
				return s
			}
		}
	}
	return ""
}

// radioOptions are a radio group's options, one per distinct on state in
// widget order: the state's name, or, when the group lists its options in
// Opt (states are then often indices "0", "1", ...), the Opt entry of that
// widget. labels is the option of each widget ("" for one without an on
// state).
func radioOptions(xrt *model.XRefTable, d types.Dict, states []string) (options, labels []string, err error) {
	var opt []string
	optObj, err := inheritedEntry(xrt, d, "Opt")
	if err != nil {
		return nil, nil, err
	}
	if optObj != nil {
		if opt, err = textArray(xrt, optObj); err != nil {
			return nil, nil, err
		}
	}
	labels = make([]string, len(states))
	for i, s := range states {
		if s == "" {
			continue
		}
		labels[i] = radioLabel(s, i, opt)
		if !slices.Contains(options, labels[i]) {
			options = append(options, labels[i])
		}
	}
	if len(options) == 0 {
		return nil, nil, errors.New("the radio group's buttons have no on state (no appearance streams), so there is nothing to select")
	}
	return options, labels, nil
}

// textArray reads a radio group's Opt: one text string per widget, repeats
// allowed.
func textArray(xrt *model.XRefTable, o types.Object) ([]string, error) {
	arr, ok := o.(types.Array)
	if !ok {
		return nil, fmt.Errorf("its option list (Opt) is a %T, not an array", o)
	}
	labels := make([]string, len(arr))
	for i, entry := range arr {
		s, ok := pdfText(xrt, entry)
		if !ok {
			return nil, fmt.Errorf("option %d is not a text string", i)
		}
		labels[i] = s
	}
	return labels, nil
}

// radioLabel is the option a widget's on state stands for.
func radioLabel(state string, widget int, labels []string) string {
	if len(labels) == 0 {
		return state
	}
	if n, err := strconv.Atoi(state); err == nil && n >= 0 && n < len(labels) {
		return labels[n]
	}
	if widget < len(labels) {
		return labels[widget]
	}
	return state
}

// radioOptionFor is the option a radio value (an on state's name) selects;
// "" for Off or a state no widget has.
func radioOptionFor(value string, states, labels []string) string {
	if value == "Off" || value == "" {
		return ""
	}
	if i := slices.Index(states, value); i >= 0 {
		return labels[i]
	}
	return ""
}
