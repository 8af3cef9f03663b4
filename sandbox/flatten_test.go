package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/internal/pdfreadback"
	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

func TestAppearanceToRect(t *testing.T) {
	tests := []struct {
		name string
		bbox box
		form affine
		rect box
		want affine
	}{
		{"same size", box{0, 0, 200, 20}, identity, box{100, 700, 300, 720}, affine{1, 0, 0, 1, 100, 700}},
		{"bbox half the rect", box{0, 0, 100, 10}, identity, box{100, 600, 300, 620}, affine{2, 0, 0, 2, 100, 600}},
		{"bbox off the origin", box{10, 10, 210, 30}, identity, box{100, 700, 300, 720}, affine{1, 0, 0, 1, 90, 690}},
		{"rect corners swapped", box{0, 0, 200, 20}, identity, box{300, 720, 100, 700}, affine{1, 0, 0, 1, 100, 700}},
		// A quarter turn: the transformed box is x -20..0, y 0..200.
		{"matrix turns a quarter", box{0, 0, 200, 20}, affine{0, 1, -1, 0, 0, 0}, box{400, 100, 420, 300}, affine{1, 0, 0, 1, 420, 100}},
		{"matrix scales down", box{0, 0, 200, 20}, affine{0.5, 0, 0, 0.5, 0, 0}, box{0, 0, 100, 10}, identity},
		{"empty bbox keeps scale", box{0, 0, 0, 0}, identity, box{5, 5, 5, 5}, affine{1, 0, 0, 1, 5, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appearanceToRect(tt.bbox, tt.form, tt.rect)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("matrix (-want +got):\n%s", diff)
			}
			// Whatever the matrices, the appearance's corners land on the rectangle's.
			full := tt.form.then(got)
			x0, y0 := full.apply(tt.bbox.x0, tt.bbox.y0)
			x1, y1 := full.apply(tt.bbox.x1, tt.bbox.y1)
			gotBox := []float64{math.Min(x0, x1), math.Min(y0, y1), math.Max(x0, x1), math.Max(y0, y1)}
			wantBox := []float64{math.Min(tt.rect.x0, tt.rect.x1), math.Min(tt.rect.y0, tt.rect.y1), math.Max(tt.rect.x0, tt.rect.x1), math.Max(tt.rect.y0, tt.rect.y1)}
			if tt.bbox.x1 > tt.bbox.x0 && !cmp.Equal(wantBox, gotBox, cmpopts.EquateApprox(0, 1e-9)) {
				t.Errorf("appearance lands on %v, want the rectangle %v", gotBox, wantBox)
			}
		})
	}
}

func TestRotationAboutAndMatrixText(t *testing.T) {
	m := rotationAbout(90, 10, 20)
	for _, c := range []struct{ in, want [2]float64 }{
		{[2]float64{10, 20}, [2]float64{10, 20}}, // the pivot stays
		{[2]float64{11, 20}, [2]float64{10, 21}}, // a step right turns into a step up
		{[2]float64{10, 21}, [2]float64{9, 20}},
	} {
		x, y := m.apply(c.in[0], c.in[1])
		if math.Abs(x-c.want[0]) > 1e-9 || math.Abs(y-c.want[1]) > 1e-9 {
			t.Errorf("rotate %v = (%g, %g), want %v", c.in, x, y, c.want)
		}
	}
	if got := (affine{1, 0, -0.0, 2.5, 100.123456789, 1e-7}).String(); got != "1 0 0 2.5 100.12346 0" {
		t.Errorf("cm operands = %q", got)
	}
}

// flattenTestPDF is a two-page form written by hand to hold every case the
// flattening must handle: an appearance the size of its widget, one at half
// the size, one turned by its /Matrix, one with no /Resources (the form's
// /DR serves) and no /Subtype, a checkbox with both states, a widget
// without an appearance, a hidden one, a link that must survive, a page
// whose content leaves its CTM scaled (the flattening must not inherit
// that) and whose resources come from the page tree, and a page turned by
// /Rotate with a NoRotate widget.
func flattenTestPDF() []byte {
	text := func(font string, size float64, x, y float64, s string) string {
		return fmt.Sprintf("BT /%s %g Tf %g %g Td (%s) Tj ET", font, size, x, y, s)
	}
	form := `/Type /XObject /Subtype /Form /BBox [0 0 200 20] /Resources << /Font << /Helv 4 0 R >> >>`
	widget := func(name, extra string) string {
		return `<< /Type /Annot /Subtype /Widget /T (` + name + `) ` + extra + ` >>`
	}
	objects := []string{
		1:  `<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R 7 0 R 9 0 R 12 0 R 13 0 R 15 0 R 19 0 R 23 0 R] /DR << /Font << /Helv 4 0 R >> >> /DA (/Helv 0 Tf 0 g) >> >>`,
		2:  `<< /Type /Pages /Kids [3 0 R 16 0 R] /Count 2 /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> >>`,
		3:  `<< /Type /Page /Parent 2 0 R /Contents 20 0 R /Annots [5 0 R 7 0 R 9 0 R 12 0 R 13 0 R 14 0 R 15 0 R] >>`,
		4:  `<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>`,
		5:  widget("alpha", `/FT /Tx /V (ALPHAVALUE) /F 4 /P 3 0 R /Rect [100 700 300 720] /AP << /N 6 0 R >>`),
		6:  "<< " + form + " >>\nstream\n" + text("Helv", 12, 2, 5, "ALPHAVALUE") + "\nendstream",
		7:  widget("beta", `/FT /Tx /V (BETAVALUE) /F 4 /P 3 0 R /Rect [100 600 300 640] /AP << /N 8 0 R >>`),
		8:  "<< /BBox [0 0 100 20] >>\nstream\n" + text("Helv", 10, 1, 5, "BETAVALUE") + "\nendstream",
		9:  widget("gamma", `/FT /Btn /V /Yes /AS /Yes /F 4 /P 3 0 R /Rect [100 500 200 520] /AP << /N << /Yes 10 0 R /Off 11 0 R >> >>`),
		10: "<< " + form + " >>\nstream\n" + text("Helv", 10, 2, 5, "CHECKEDYES") + "\nendstream",
		11: "<< " + form + " >>\nstream\n" + text("Helv", 10, 2, 5, "UNCHECKEDOFF") + "\nendstream",
		12: widget("delta", `/FT /Tx /V (DELTAVALUE) /F 4 /P 3 0 R /Rect [100 400 300 420]`),
		13: widget("hidden", `/FT /Tx /V (HIDDENVALUE) /F 2 /P 3 0 R /Rect [100 300 300 320] /AP << /N 17 0 R >>`),
		14: `<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /Border [0 0 0] >>`,
		15: widget("rotated", `/FT /Tx /V (ROTATEDVALUE) /F 4 /P 3 0 R /Rect [400 100 420 300] /AP << /N 18 0 R >>`),
		16: `<< /Type /Page /Parent 2 0 R /Rotate 90 /Contents [21 0 R] /Resources << /Font << /F1 4 0 R >> >> /Annots [19 0 R 23 0 R] >>`,
		17: "<< " + form + " >>\nstream\n" + text("Helv", 12, 2, 5, "HIDDENVALUE") + "\nendstream",
		18: "<< " + form + " /Matrix [0 1 -1 0 0 0] >>\nstream\n" + text("Helv", 12, 2, 5, "ROTATEDVALUE") + "\nendstream",
		19: widget("epsilon", `/FT /Tx /V (EPSILONVALUE) /F 4 /P 16 0 R /Rect [100 100 300 120] /AP << /N 22 0 R >>`),
		20: "<< >>\nstream\n" + text("F1", 12, 50, 50, "PAGEONETEXT") + " 2 0 0 2 0 0 cm\nendstream",
		21: "<< >>\nstream\n" + text("F1", 12, 50, 50, "PAGETWOTEXT") + "\nendstream",
		22: "<< " + form + " >>\nstream\n" + text("Helv", 12, 2, 5, "EPSILONVALUE") + "\nendstream",
		23: widget("upright", `/FT /Tx /V (NOROTATEVALUE) /F 20 /P 16 0 R /Rect [100 300 300 320] /AP << /N 24 0 R >>`),
		24: "<< " + form + " >>\nstream\n" + text("Helv", 12, 2, 5, "NOROTATEVALUE") + "\nendstream",
	}
	return buildPDF(objects)
}

// buildPDF writes objects (index = object number, 0 unused) as a PDF with
// a correct cross-reference table; a stream's /Length is filled in.
func buildPDF(objects []string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i := 1; i < len(objects); i++ {
		obj := objects[i]
		if head, body, isStream := strings.Cut(obj, "\nstream\n"); isStream {
			content := strings.TrimSuffix(body, "\nendstream")
			head = strings.TrimSuffix(head, ">>") + fmt.Sprintf("/Length %d >>", len(content))
			obj = head + "\nstream\n" + content + "\nendstream"
		}
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i, obj)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects))
	for i := 1; i < len(objects); i++ {
		fmt.Fprintf(&b, "%010d 00000 n \n", offsets[i])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects), xref)
	return b.Bytes()
}

// TestFlattenFormBurnsAppearances flattens the hand-made form and reads the
// result with qpdf and pdftotext: no form and no widget is left, every
// shown appearance is page text where its widget was, and nothing that was
// not shown appears.
func TestFlattenFormBurnsAppearances(t *testing.T) {
	testenv.PDFReaders(t)
	in := engineWriteTemp(t, "form.pdf", flattenTestPDF())
	before, err := pdfreadback.ReadForm(context.Background(), in)
	if err != nil {
		t.Fatalf("qpdf reads the input: %v", err)
	}
	if !before.HasAcroForm || before.Widgets != 8 {
		t.Fatalf("input: AcroForm %v, %d widgets; want a form with 8", before.HasAcroForm, before.Widgets)
	}

	doc, err := NewEngine(nil).openPDF(context.Background(), in, "", model.FILLFORMFIELDS)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := flattenForm(doc); err != nil {
		t.Fatalf("flattenForm: %v", err)
	}
	out := filepath.Join(t.TempDir(), "flat.pdf")
	if err := writePDF(doc, out); err != nil {
		t.Fatalf("write: %v", err)
	}

	after, err := pdfreadback.ReadForm(context.Background(), out)
	if err != nil {
		t.Fatalf("qpdf reads the output: %v", err)
	}
	if after.HasAcroForm || len(after.Fields) != 0 || after.Widgets != 0 {
		t.Errorf("output: AcroForm %v, %d fields, %d widgets; want none", after.HasAcroForm, len(after.Fields), after.Widgets)
	}
	annots := engineReadContext(t, out, "")
	page1, _, _, err := annots.PageDict(1, false)
	if err != nil {
		t.Fatal(err)
	}
	if kept, _ := annots.DereferenceArray(page1["Annots"]); len(kept) != 1 {
		t.Errorf("page 1 keeps %d annotations, want the link alone", len(kept))
	}

	words, err := pdfreadback.Words(context.Background(), out)
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	found := map[string]pdfreadback.Word{}
	for _, w := range words {
		found[w.Text] = w
	}
	for _, gone := range []string{"UNCHECKEDOFF", "DELTAVALUE", "HIDDENVALUE"} {
		if _, ok := found[gone]; ok {
			t.Errorf("%s is on the page; that appearance was not shown", gone)
		}
	}
	// Boxes are pdftotext's: points from the displayed page's top-left
	// corner. Page 1 is 612×792; page 2 turns a quarter, 792×612 on screen.
	type placement struct {
		page                   int
		xMin, xMax, yMin, yMax float64 // the word lies inside, when xMax is set
		reads                  string  // "across" (wider than tall) or "down"
		minHeight, maxHeight   float64
	}
	want := map[string]placement{
		"PAGEONETEXT":   {1, 49, 150, 720, 745, "across", 0, 0},
		"ALPHAVALUE":    {1, 100, 300, 72, 92, "across", 8, 16},
		"BETAVALUE":     {1, 100, 300, 152, 192, "across", 16, 30}, // drawn at twice its size
		"CHECKEDYES":    {1, 100, 200, 272, 292, "across", 0, 0},
		"ROTATEDVALUE":  {1, 400, 420, 492, 692, "down", 0, 0},
		"PAGETWOTEXT":   {2, 0, 0, 0, 0, "down", 0, 0}, // the page turns, and its text with it
		"EPSILONVALUE":  {2, 0, 0, 0, 0, "down", 0, 0},
		"NOROTATEVALUE": {2, 0, 0, 0, 0, "across", 0, 0}, // NoRotate: stays upright
	}
	for text, p := range want {
		w, ok := found[text]
		if !ok {
			t.Errorf("%s not found on any page", text)
			continue
		}
		if w.Page != p.page {
			t.Errorf("%s on page %d, want %d", text, w.Page, p.page)
		}
		if p.xMax > 0 && (w.XMin < p.xMin-1 || w.XMax > p.xMax+1 || w.YMin < p.yMin-1 || w.YMax > p.yMax+1) {
			t.Errorf("%s at x %.1f..%.1f y %.1f..%.1f, want inside x %g..%g y %g..%g", text, w.XMin, w.XMax, w.YMin, w.YMax, p.xMin, p.xMax, p.yMin, p.yMax)
		}
		width, height := w.XMax-w.XMin, w.YMax-w.YMin
		if reads := map[bool]string{true: "across", false: "down"}[width > height]; reads != p.reads {
			t.Errorf("%s is %.1f wide and %.1f tall: reads %s, want %s", text, width, height, reads, p.reads)
		}
		if p.minHeight > 0 && (height < p.minHeight || height > p.maxHeight) {
			t.Errorf("%s is %.1f tall, want %g..%g", text, height, p.minHeight, p.maxHeight)
		}
	}
}
