package sandbox

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/form"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/primitives"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// fieldKind is a logical field's kind, spelled as extend_edit:field_type
// spells it.
type fieldKind string

const (
	kindText       fieldKind = "text"
	kindCheckbox   fieldKind = "checkbox"
	kindRadio      fieldKind = "radio"
	kindDropdown   fieldKind = "dropdown"
	kindOptionList fieldKind = "optionList"
	kindSignature  fieldKind = "signature"
	kindUnknown    fieldKind = "unknown"
	// kindPushButton is detected but never becomes a schema property: a push
	// button holds no value, so there is nothing to fill.
	kindPushButton fieldKind = "pushButton"
)

// formField is one logical AcroForm field: a field dictionary and all its
// widgets, however many entries pdfcpu lists for it.
type formField struct {
	Name    string // fully qualified, exactly as the PDF spells it
	AltName string // TU, the field's alternate (user-facing) name
	Kind    fieldKind
	// ChoiceAsText marks a choice field whose options pdfcpu does not expose
	// (its widgets are separate dictionaries); it is treated as text,
	// best-effort.
	ChoiceAsText bool
	Date         bool // a text field pdfcpu recognises as a date field
	Options      []string
	MaxLen       int
	MultiSelect  bool
	Value        string // current value as pdfcpu reports it ("Yes" for a checked box)

	// Filled in by annotation.
	PageIndex int // 0-based page of the first widget
	BBox      *editBBox
	BBoxes    []editBBox // radio groups: one box per option, in option order

	// ReadOnly is the field's read-only flag: the sandbox writes such a
	// field's value (the schema asked for it) and keeps the flag.
	ReadOnly bool
	// UnknownReason says why a field is "unknown": it is never filled, and
	// the schema carries the reason in $comment.
	UnknownReason string

	// tolerant marks a field read by the tolerant walker (detect_tolerant.go)
	// rather than pdfcpu's form helpers: pdfcpu cannot fill it, the sandbox
	// writes it itself.
	tolerant bool
	// twins are other field dictionaries with the same fully qualified name
	// (tolerant walk only): the same field, so they get the same value.
	twins []types.IndirectRef
	// exports are a choice field's export values, one per option (they
	// differ from the options where Opt holds [export display] pairs).
	exports []string

	pdfcpuIDs []string // pdfcpu's IDs of the entries this field was merged from
	pages     []int    // 1-based pages pdfcpu saw the field on
	ref       types.IndirectRef
	widgets   []types.IndirectRef
}

// inSchema is false for fields that never become schema properties.
func (f *formField) inSchema() bool { return f.Kind != kindPushButton }

// fillable is true for schema fields the sandbox can write: all but unknown
// ones.
func (f *formField) fillable() bool { return f.inSchema() && f.Kind != kindUnknown }

// editBBox is Extend's EditBoundingBox: a field's box on its page, in PDF
// points (pixels at 72 dpi) from the page's top-left corner.
type editBBox struct {
	Left   float64 `json:"left"`
	Top    float64 `json:"top"`
	Right  float64 `json:"right"`
	Bottom float64 `json:"bottom"`
}

// errFieldDetection wraps every way pdfcpu can fail while reading the fields
// of a PDF it could parse.
var errFieldDetection = errors.New("reading form fields failed")

// exportedField is what pdfcpu's form export knows about one entry that its
// field list does not carry: typed options, date-ness, flags.
type exportedField struct {
	kind        fieldKind
	date        bool
	options     []string
	maxLen      int
	multiSelect bool
}

// detectFields reads the logical fields of the parsed document. pdfcpu's
// form helpers read them first (in the order pdfcpu walks the pages'
// widgets); when they fail, panic, or miss a field (or a widget of one) that
// the tolerant walk of the field tree finds, the tolerant walk's fields are
// used instead. A document without an AcroForm, or with an empty one, has
// no fields and no error.
func detectFields(ctx *model.Context) ([]*formField, error) {
	tolerant, terr := detectFieldsTolerantly(ctx.XRefTable)
	fields, err := detectFieldsWithPDFCPU(ctx)
	switch {
	case err == nil && (terr != nil || coversFields(fields, tolerant)):
		return fields, nil
	case terr != nil:
		return nil, err
	}
	return tolerant, nil
}

// coversFields reports whether pdfcpu's reading has every field the
// tolerant walk found, of the same kind and with as many widgets.
func coversFields(pdfcpuFields, tolerant []*formField) bool {
	byName := map[string]*formField{}
	for _, f := range pdfcpuFields {
		byName[f.Name] = f
	}
	for _, t := range tolerant {
		if t.Kind == kindPushButton {
			continue
		}
		f, ok := byName[t.Name]
		if !ok || len(f.widgets) != len(t.widgets) || (f.Kind != t.Kind && !f.ChoiceAsText) {
			return false
		}
	}
	return true
}

// detectFieldsWithPDFCPU reads the fields with pdfcpu's field listing and
// form export; a panic inside them is an error.
func detectFieldsWithPDFCPU(ctx *model.Context) (fields []*formField, err error) {
	defer func() {
		if r := recover(); r != nil {
			fields, err = nil, fmt.Errorf("%w: pdfcpu panicked: %v", errFieldDetection, r)
		}
	}()
	present, err := hasFormFields(ctx.XRefTable)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errFieldDetection, err)
	}
	if !present {
		return nil, nil
	}
	entries, _, err := form.FormFields(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: list fields: %w", errFieldDetection, err)
	}
	group, _, err := form.ExportForm(ctx.XRefTable, "input.pdf")
	if err != nil {
		return nil, fmt.Errorf("%w: export fields: %w", errFieldDetection, err)
	}
	exported := exportedFields(group)

	fields = nil
	byObject := map[int]*formField{}
	// Fields sharing a fully qualified name are one field to the PDF spec
	// (they share a value), so a malformed form that spreads one name over
	// several field dictionaries still yields one property.
	byName := map[string]*formField{}
	for _, entry := range entries {
		fieldRef, widgetRef, err := logicalFieldRef(ctx.XRefTable, entry.ID)
		if err != nil {
			return nil, fmt.Errorf("%w: field %q: %w", errFieldDetection, entry.Name, err)
		}
		f, seen := byObject[fieldRef.ObjectNumber.Value()]
		if !seen {
			f, seen = byName[entry.Name]
		}
		if !seen {
			f = &formField{Name: entry.Name, AltName: entry.AltName, Value: entry.V, ref: fieldRef}
			byName[entry.Name] = f
			fields = append(fields, f)
		}
		byObject[fieldRef.ObjectNumber.Value()] = f
		f.pdfcpuIDs = append(f.pdfcpuIDs, entry.ID)
		for _, p := range entry.Pages {
			if !slices.Contains(f.pages, p) {
				f.pages = append(f.pages, p)
			}
		}
		if widgetRef != nil {
			f.widgets = append(f.widgets, *widgetRef)
		}
	}
	for _, f := range fields {
		if err := classifyField(ctx.XRefTable, f, exported); err != nil {
			return nil, fmt.Errorf("%w: field %q: %w", errFieldDetection, f.Name, err)
		}
		slices.Sort(f.pages)
	}
	return fields, nil
}

func hasFormFields(xrt *model.XRefTable) (bool, error) {
	if xrt.Form == nil {
		return false, nil
	}
	o, found := xrt.Form.Find("Fields")
	if !found {
		return false, nil
	}
	arr, err := xrt.DereferenceArray(o)
	if err != nil {
		return false, fmt.Errorf("AcroForm Fields: %w", err)
	}
	return len(arr) > 0, nil
}

func exportedFields(group *form.FormGroup) map[string]exportedField {
	m := map[string]exportedField{}
	if group == nil || len(group.Forms) == 0 {
		return m
	}
	f := group.Forms[0]
	for _, tf := range f.TextFields {
		m[tf.ID] = exportedField{kind: kindText, maxLen: tf.MaxLen}
	}
	for _, df := range f.DateFields {
		m[df.ID] = exportedField{kind: kindText, date: true}
	}
	for _, cb := range f.CheckBoxes {
		m[cb.ID] = exportedField{kind: kindCheckbox}
	}
	for _, rb := range f.RadioButtonGroups {
		m[rb.ID] = exportedField{kind: kindRadio, options: rb.Options}
	}
	for _, cb := range f.ComboBoxes {
		m[cb.ID] = exportedField{kind: kindDropdown, options: cb.Options}
	}
	for _, lb := range f.ListBoxes {
		m[lb.ID] = exportedField{kind: kindOptionList, options: lb.Options, multiSelect: lb.Multi}
	}
	return m
}

// logicalFieldRef turns a pdfcpu field ID ("118.119.1041": the chain of
// object numbers from the root field) into the field dictionary it belongs
// to. pdfcpu lists a widget that is a separate kid of its field (no T of its
// own) as a field of its own; its logical field is its parent. widget is set
// when the entry itself is that separate widget.
func logicalFieldRef(xrt *model.XRefTable, pdfcpuID string) (field types.IndirectRef, widget *types.IndirectRef, err error) {
	last := pdfcpuID[strings.LastIndexByte(pdfcpuID, '.')+1:]
	objNr, err := strconv.Atoi(last)
	if err != nil {
		return types.IndirectRef{}, nil, fmt.Errorf("unexpected field id %q", pdfcpuID)
	}
	ref := *types.NewIndirectRef(objNr, 0)
	d, err := xrt.DereferenceDict(ref)
	if err != nil {
		return types.IndirectRef{}, nil, fmt.Errorf("obj#%d: %w", objNr, err)
	}
	if _, named := d.Find("T"); !named {
		if parent := d.IndirectRefEntry("Parent"); parent != nil {
			return *parent, &ref, nil
		}
	}
	return ref, nil, nil
}

// inheritedEntry finds key on the field or the nearest ancestor that has it,
// as inheritable field attributes (FT, Ff, DA, V) work.
func inheritedEntry(xrt *model.XRefTable, d types.Dict, key string) (types.Object, error) {
	for depth := 0; d != nil && depth < 32; depth++ {
		if o, found := d.Find(key); found {
			return xrt.Dereference(o)
		}
		parent := d.IndirectRefEntry("Parent")
		if parent == nil {
			return nil, nil
		}
		var err error
		if d, err = xrt.DereferenceDict(*parent); err != nil {
			return nil, fmt.Errorf("parent obj#%d: %w", parent.ObjectNumber.Value(), err)
		}
	}
	return nil, nil
}

func classifyField(xrt *model.XRefTable, f *formField, exported map[string]exportedField) error {
	d, err := xrt.DereferenceDict(f.ref)
	if err != nil {
		return err
	}
	if tu, err := d.StringOrHexLiteralEntry("TU"); err == nil && tu != nil {
		f.AltName = *tu
	}
	if len(f.widgets) == 0 {
		f.widgets = fieldWidgets(xrt, f.ref, d)
	}

	ftObj, err := inheritedEntry(xrt, d, "FT")
	if err != nil {
		return err
	}
	ft, _ := ftObj.(types.Name)
	flags := primitives.FieldFlags(0)
	if ffObj, err := inheritedEntry(xrt, d, "Ff"); err != nil {
		return err
	} else if ff, ok := ffObj.(types.Integer); ok {
		flags = primitives.FieldFlags(ff)
	}
	info := exported[f.pdfcpuIDs[0]]

	switch ft {
	case "Btn":
		switch {
		case flags&primitives.FieldPushbutton != 0:
			f.Kind = kindPushButton
		case info.kind == kindRadio:
			f.Kind, f.Options = kindRadio, info.options
		default:
			f.Kind = kindCheckbox
		}
	case "Tx":
		f.Kind, f.Date, f.MaxLen = kindText, info.date, info.maxLen
	case "Ch":
		if len(f.pdfcpuIDs) > 1 || len(info.options) == 0 {
			f.Kind, f.ChoiceAsText = kindText, true
			f.Value = choiceValue(xrt, d)
			break
		}
		f.Options, f.exports = info.options, exportValues(xrt, d, info.options)
		f.Kind = kindOptionList
		if flags&primitives.FieldCombo != 0 {
			f.Kind = kindDropdown
		}
		f.MultiSelect = info.multiSelect
	case "Sig":
		f.Kind = kindSignature
	case "":
		f.Kind, f.UnknownReason = kindUnknown, "the field has no field type (FT)"
	default:
		f.Kind, f.UnknownReason = kindUnknown, fmt.Sprintf("field type %q is not one the sandbox fills", string(ft))
	}
	f.ReadOnly = flags&primitives.FieldReadOnly != 0
	return nil
}

// exportValues are the export values of a choice field's options, aligned
// with options, when its Opt holds [export display] pairs whose export
// differs from what is displayed (pdfcpu would write the displayed text as
// the value); nil otherwise.
func exportValues(xrt *model.XRefTable, d types.Dict, options []string) []string {
	o, err := inheritedEntry(xrt, d, "Opt")
	if err != nil {
		return nil
	}
	displays, exports, err := choiceOptions(xrt, o)
	if err != nil {
		return nil
	}
	aligned := make([]string, len(options))
	differ := false
	for i, opt := range options {
		aligned[i] = opt
		if j := indexTrimmed(displays, opt); j >= 0 {
			aligned[i] = exports[j]
		}
		differ = differ || aligned[i] != opt
	}
	if !differ {
		return nil
	}
	return aligned
}

// indexTrimmed is the index of s in list, ignoring surrounding spaces (pdfcpu
// trims the options it lists).
func indexTrimmed(list []string, s string) int {
	for i, v := range list {
		if strings.TrimSpace(v) == strings.TrimSpace(s) {
			return i
		}
	}
	return -1
}

// fieldWidgets lists a field's widget annotations: its kids without a name of
// their own, or the field itself when field and widget share a dictionary.
func fieldWidgets(xrt *model.XRefTable, ref types.IndirectRef, d types.Dict) []types.IndirectRef {
	var widgets []types.IndirectRef
	for _, kid := range d.ArrayEntry("Kids") {
		kidRef, ok := kid.(types.IndirectRef)
		if !ok {
			continue
		}
		kd, err := xrt.DereferenceDict(kidRef)
		if err != nil || kd == nil {
			continue
		}
		if _, named := kd.Find("T"); !named {
			widgets = append(widgets, kidRef)
		}
	}
	if len(widgets) == 0 {
		widgets = append(widgets, ref)
	}
	return widgets
}

// choiceValue reads a choice field's value from the field dictionary itself,
// where pdfcpu does not look when the widgets are separate.
func choiceValue(xrt *model.XRefTable, d types.Dict) string {
	o, err := inheritedEntry(xrt, d, "V")
	if err != nil || o == nil {
		return ""
	}
	if arr, ok := o.(types.Array); ok && len(arr) > 0 {
		o = arr[0]
	}
	s, err := types.StringOrHexLiteral(o)
	if err != nil || s == nil {
		return ""
	}
	return *s
}
