package sandbox

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// The sandbox draws a widget's appearance itself where pdfcpu cannot (a
// checkbox whose Off appearance is a name, a default appearance naming a
// font the form does not have, a field pdfcpu's helpers cannot read): the
// value then shows in every viewer, not only in those that redraw fields,
// and survives flattening. It draws with the standard 14 fonts, which every
// viewer has, in WinAnsiEncoding.

// appearanceWriter makes appearance streams for one document, sharing one
// font object per standard font.
type appearanceWriter struct {
	xrt   *model.XRefTable
	form  types.Dict
	fonts map[string]types.IndirectRef // by BaseFont
	// lossy is set when a value had characters the standard fonts cannot
	// draw: viewers are then asked to redraw fields themselves.
	lossy bool
}

func newAppearanceWriter(xrt *model.XRefTable) *appearanceWriter {
	return &appearanceWriter{xrt: xrt, form: xrt.Form, fonts: map[string]types.IndirectRef{}}
}

// standardFont is the standard font closest to a default appearance's font
// name: pdfcpu's and Acrobat's short names, the standard names themselves,
// Helvetica for anything else.
func standardFont(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "zadb"), strings.Contains(n, "zapf"), strings.Contains(n, "dingbat"):
		return "ZapfDingbats"
	case strings.Contains(n, "cour"):
		return "Courier"
	case strings.Contains(n, "tiro"), strings.Contains(n, "times"):
		return "Times-Roman"
	}
	return "Helvetica"
}

func (a *appearanceWriter) font(base string) (types.IndirectRef, error) {
	if ref, ok := a.fonts[base]; ok {
		return ref, nil
	}
	d := types.Dict{"Type": types.Name("Font"), "Subtype": types.Name("Type1"), "BaseFont": types.Name(base)}
	if base != "ZapfDingbats" {
		d["Encoding"] = types.Name("WinAnsiEncoding")
	}
	ref, err := a.xrt.IndRefForNewObject(d)
	if err != nil {
		return types.IndirectRef{}, err
	}
	a.fonts[base] = *ref
	return *ref, nil
}

// defaultAppearance is what a field's /DA (inherited, else the form's) says:
// the font resource name and size (0: auto).
func (a *appearanceWriter) defaultAppearance(fieldDict types.Dict) (fontName string, size float64) {
	da := ""
	if o, err := inheritedEntry(a.xrt, fieldDict, "DA"); err == nil {
		da, _ = pdfText(a.xrt, o)
	}
	if da == "" && a.form != nil {
		da, _ = pdfText(a.xrt, a.form["DA"])
	}
	tokens := strings.Fields(da)
	for i, tok := range tokens {
		if tok == "Tf" && i >= 2 && strings.HasPrefix(tokens[i-2], "/") {
			fontName = tokens[i-2][1:]
			size, _ = strconv.ParseFloat(tokens[i-1], 64)
		}
	}
	return fontName, size
}

// ensureFormFont makes sure the form's resources have the font a default
// appearance names, so that viewers redrawing the field find it: a missing
// one is added as the closest standard font.
func (a *appearanceWriter) ensureFormFont(name string) error {
	if a.form == nil || name == "" {
		return nil
	}
	dr, err := a.xrt.DereferenceDict(a.form["DR"])
	if err != nil {
		return nil // an unreadable resource dictionary is left alone
	}
	if dr == nil {
		dr = types.Dict{}
		a.form["DR"] = dr
	}
	fonts, err := a.xrt.DereferenceDict(dr["Font"])
	if err != nil {
		return nil
	}
	if fonts == nil {
		fonts = types.Dict{}
		dr["Font"] = fonts
	}
	if _, ok := fonts[name]; ok {
		return nil
	}
	ref, err := a.font(standardFont(name))
	if err != nil {
		return err
	}
	fonts[name] = ref
	return nil
}

// textStream draws text in a w x h box: one line, vertically centred (at the
// top for list boxes), clipped to the box.
func (a *appearanceWriter) textStream(w, h float64, fontName string, size float64, text string, top bool) (types.IndirectRef, error) {
	base := standardFont(fontName)
	if base == "ZapfDingbats" {
		base = "Helvetica"
	}
	if size <= 0 {
		size = min(12, max(4, (h-4)*0.75))
	}
	font, err := a.font(base)
	if err != nil {
		return types.IndirectRef{}, err
	}
	y := (h - size*0.7) / 2
	if top {
		y = h - 2 - size*0.8
	}
	encoded, lossy := winAnsi(text)
	a.lossy = a.lossy || lossy
	content := fmt.Sprintf("/Tx BMC\nq\n1 1 %s %s re W n\nBT\n/F0 %s Tf\n0 g\n2 %s Td\n(%s) Tj\nET\nQ\nEMC\n",
		num(w-2), num(h-2), num(size), num(y), escapeLiteral(encoded))
	return a.formXObject(w, h, content, types.Dict{"F0": font})
}

// checkStream is a checkbox's or radio button's "on" look: a ZapfDingbats
// check mark or dot filling the box.
func (a *appearanceWriter) checkStream(w, h float64, radio bool) (types.IndirectRef, error) {
	font, err := a.font("ZapfDingbats")
	if err != nil {
		return types.IndirectRef{}, err
	}
	glyph, size := "4", min(w, h)*0.8
	if radio {
		glyph = "l"
		size = min(w, h) * 0.6
	}
	content := fmt.Sprintf("q\n0 g\nBT\n/ZaDb %s Tf\n%s %s Td\n(%s) Tj\nET\nQ\n",
		num(size), num((w-size*0.8)/2), num((h-size*0.7)/2), glyph)
	return a.formXObject(w, h, content, types.Dict{"ZaDb": font})
}

// emptyStream is an "Off" look: nothing.
func (a *appearanceWriter) emptyStream(w, h float64) (types.IndirectRef, error) {
	return a.formXObject(w, h, "", nil)
}

func (a *appearanceWriter) formXObject(w, h float64, content string, fonts types.Dict) (types.IndirectRef, error) {
	sd, err := a.xrt.NewStreamDictForBuf([]byte(content))
	if err != nil {
		return types.IndirectRef{}, err
	}
	sd.InsertName("Type", "XObject")
	sd.InsertName("Subtype", "Form")
	sd.Insert("BBox", types.NewNumberArray(0, 0, w, h))
	res := types.Dict{}
	if fonts != nil {
		res["Font"] = fonts
	}
	sd.Insert("Resources", res)
	if err := sd.Encode(); err != nil {
		return types.IndirectRef{}, err
	}
	ref, err := a.xrt.IndRefForNewObject(*sd)
	if err != nil {
		return types.IndirectRef{}, err
	}
	return *ref, nil
}

// widgetSize is the width and height of a widget's /Rect (a small default
// box when it has none).
func widgetSize(xrt *model.XRefTable, wd types.Dict) (float64, float64) {
	r, ok := widgetRect(xrt, wd)
	if !ok || r.Width() <= 0 || r.Height() <= 0 {
		return 12, 12
	}
	return r.Width(), r.Height()
}

// winAnsi encodes s for a standard font; characters it cannot hold become
// "?" and lossy is set.
func winAnsi(s string) (encoded string, lossy bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x80 || (r >= 0xA0 && r <= 0xFF):
			b.WriteByte(byte(r))
		default:
			if c, ok := winAnsiHigh[r]; ok {
				b.WriteByte(c)
			} else {
				b.WriteByte('?')
				lossy = true
			}
		}
	}
	return b.String(), lossy
}

// winAnsiHigh maps the characters WinAnsiEncoding puts in 0x80-0x9F.
var winAnsiHigh = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B,
	'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
