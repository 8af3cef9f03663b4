package sandbox

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// rawPDF writes a PDF from the bodies of its objects (object i+1 is
// objects[i]; object 1 is the catalog) with a computed cross-reference
// table: how the quirk tests spell out, byte for byte, the constructs other
// tools write and pdfcpu stumbles on.
func rawPDF(objects ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, body := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// rawStream is a stream object's body with its /Length computed.
func rawStream(dict, data string) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// quirkForm is a one-page form: objects 1-4 are the catalog (with the
// AcroForm listing fields), the page tree, Helvetica as /Helv in the form's
// resources and the page (whose /Annots are annots); extra objects are
// numbered from 5. A plain text field "Plain" (object 5) is always there, so
// that a form is never empty because of the quirk under test.
func quirkForm(fields, annots string, extra ...string) []byte {
	return quirkFormPages("4 0 R", 1, fields, annots, extra...)
}

// quirkFormPages is quirkForm with the page tree's kids spelled out.
func quirkFormPages(kids string, count int, fields, annots string, extra ...string) []byte {
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R " + fields + "] /DR << /Font << /Helv 3 0 R >> >> /DA (/Helv 0 Tf 0 g) >> >>",
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, count),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [5 0 R " + annots + "] >>",
		"<< /FT /Tx /T (Plain) /TU (Plain text) /Type /Annot /Subtype /Widget /Rect [50 740 250 760] /P 4 0 R /DA (/Helv 10 Tf 0 g) /F 4 >>",
	}
	return rawPDF(append(objects, extra...)...)
}

// quirkWidget is the common part of a widget dictionary at rect on page 4.
func quirkWidget(rect string) string {
	return "/Type /Annot /Subtype /Widget /Rect [" + rect + "] /P 4 0 R /F 4"
}

// checkAppearance is a checkbox or radio widget's normal appearances: the
// on state onState and Off, both as streams (objects onObj and offObj).
func checkAppearance(onState string, onObj, offObj int) string {
	return fmt.Sprintf("/AP << /N << /%s %d 0 R /Off %d 0 R >> >> /AS /Off", onState, onObj, offObj)
}

var (
	onStream  = rawStream("/Type /XObject /Subtype /Form /BBox [0 0 12 12]", "0 g 2 2 8 8 re f")
	offStream = rawStream("/Type /XObject /Subtype /Form /BBox [0 0 12 12]", "")
)

// utf16Hex is s as a PDF hex string with a UTF-16BE byte order mark, as
// LibreOffice writes option lists.
func utf16Hex(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, r := range s {
		fmt.Fprintf(&b, "%04X", r)
	}
	b.WriteString(">")
	return b.String()
}

// quirkCase is one family of real-world forms that broke the sandbox,
// reduced to a minimal PDF: the field it is about, what detection must say
// of it, and a value to write and read back.
type quirkCase struct {
	name      string
	qpdfName  string // the name qpdf gives the field, when not field
	pdf       []byte
	field     string
	wantKind  fieldKind
	wantEnum  []string // nil: no enum
	value     any      // what to write; nil: the field takes no value
	readBack  any      // what the independent readers must see; defaults to value
	extraWant func(t *testing.T, out string)
}

func quirkCases(t testing.TB) []quirkCase {
	return []quirkCase{
		{
			// Its /DA also names a font the form does not have: the sandbox
			// draws the value in a standard font.
			name: "1 dropdown options as UTF-16 hex strings",
			pdf: quirkForm("6 0 R", "6 0 R",
				"<< /FT /Ch /Ff 131072 /T (Country) /TU (Country of residence) /Opt ["+utf16Hex("France")+" "+utf16Hex("Deutschland")+" "+utf16Hex("España")+"] /V "+utf16Hex("France")+" /DA (/Arial 10 Tf 0 g) "+quirkWidget("50 700 250 720")+" >>"),
			field: "Country", wantKind: kindDropdown, wantEnum: []string{"France", "Deutschland", "España"}, value: "España",
		},
		{
			name: "1 option pairs [export display]",
			pdf: quirkForm("6 0 R", "6 0 R",
				"<< /FT /Ch /Ff 131072 /T (Size) /Opt [[(S) <FEFF0053006D0061006C006C>] [(M) (Medium)] [(L) (Large)]] /DA (/Helv 10 Tf 0 g) "+quirkWidget("50 700 250 720")+" >>"),
			field: "Size", wantKind: kindDropdown, wantEnum: []string{"Small", "Medium", "Large"}, value: "Large", readBack: "L",
		},
		{
			// pdfcpu reads these, and wrote the displayed text as the value.
			name: "1 option pairs [export display] as literal strings",
			pdf: quirkForm("6 0 R", "6 0 R",
				"<< /FT /Ch /Ff 131072 /T (Size) /Opt [[(S) (Small)] [(M) (Medium)] [(L) (Large)]] /DA (/Helv 10 Tf 0 g) "+quirkWidget("50 700 250 720")+" >>"),
			field: "Size", wantKind: kindDropdown, wantEnum: []string{"Small", "Medium", "Large"}, value: "Large", readBack: "L",
		},
		{
			name: "1 rich-text field whose value is a stream",
			pdf: quirkForm("6 0 R", "6 0 R",
				"<< /FT /Tx /Ff 33554432 /T (Notes) /V 7 0 R /DA (/Helv 10 Tf 0 g) "+quirkWidget("50 700 250 720")+" >>",
				rawStream("", "Old notes")),
			field: "Notes", wantKind: kindText, value: "New notes",
		},
		{
			name: "1 push button with several widgets and no appearance",
			pdf: quirkForm("6 0 R", "7 0 R 8 0 R",
				"<< /FT /Btn /Ff 65536 /T (Print) /Kids [7 0 R 8 0 R] >>",
				"<< /Parent 6 0 R "+quirkWidget("50 700 100 720")+" >>",
				"<< /Parent 6 0 R "+quirkWidget("150 700 200 720")+" >>"),
			field: "Print", wantKind: kindPushButton,
		},
		{
			name: "1 radio group with /Opt and value /Off",
			pdf: quirkForm("6 0 R", "7 0 R 8 0 R",
				"<< /FT /Btn /Ff 49152 /T (Plan) /V /Off /Opt [(Basic) (Premium)] /Kids [7 0 R 8 0 R] >>",
				"<< /Parent 6 0 R "+quirkWidget("50 700 62 712")+" "+checkAppearance("0", 9, 10)+" >>",
				"<< /Parent 6 0 R "+quirkWidget("100 700 112 712")+" "+checkAppearance("1", 9, 10)+" >>",
				onStream, offStream),
			field: "Plan", wantKind: kindRadio, wantEnum: []string{"Basic", "Premium"}, value: "Premium", readBack: "1",
		},
		{
			name: "2 default appearance written as a name",
			pdf: quirkForm("6 0 R", "6 0 R",
				"<< /FT /Tx /T (City) /DA /Helv "+quirkWidget("50 700 250 720")+" >>"),
			field: "City", wantKind: kindText, value: "Lyon",
		},
		{
			name: "2 the same page listed twice in the page tree",
			pdf: quirkFormPages("4 0 R 4 0 R", 1, "6 0 R", "6 0 R",
				"<< /FT /Tx /T (Street) /DA (/Helv 10 Tf 0 g) "+quirkWidget("50 700 250 720")+" >>"),
			field: "Street", wantKind: kindText, value: "Rue de la Paix",
		},
		{
			name: "3 checkbox whose Off appearance is a name",
			pdf: quirkForm("6 0 R", "6 0 R",
				"<< /FT /Btn /T (Agree) /V /Off /AP << /N << /Yes 7 0 R /Off /Off >> >> /AS /Off "+quirkWidget("50 700 62 712")+" >>",
				onStream),
			field: "Agree", wantKind: kindCheckbox, value: true, readBack: "Yes",
		},
		{
			name: "3 default appearance naming a font missing from the resources",
			pdf: quirkForm("6 0 R", "6 0 R",
				"<< /FT /Tx /T (Town) /DA (/Helvetica 10 Tf 0 g) "+quirkWidget("50 700 250 720")+" >>"),
			field: "Town", wantKind: kindText, value: "Grenoble",
		},
		{
			name: "4 radio widgets with their own stale value",
			pdf: quirkForm("6 0 R", "7 0 R 8 0 R",
				"<< /FT /Btn /Ff 49152 /T (Color) /V /Off /Kids [7 0 R 8 0 R] >>",
				"<< /Parent 6 0 R /V /Off "+quirkWidget("50 700 62 712")+" "+checkAppearance("Red", 9, 10)+" >>",
				"<< /Parent 6 0 R /V /Off "+quirkWidget("100 700 112 712")+" "+checkAppearance("Blue", 9, 10)+" >>",
				onStream, offStream),
			field: "Color", wantKind: kindRadio, wantEnum: []string{"Red", "Blue"}, value: "Blue",
		},
		{
			name: "4 read-only list box",
			pdf: quirkForm("6 0 R", "6 0 R",
				"<< /FT /Ch /Ff 1 /T (Region) /Opt [(North) (South)] /DA (/Helv 10 Tf 0 g) "+quirkWidget("50 660 250 720")+" >>"),
			field: "Region", wantKind: kindOptionList, wantEnum: []string{"North", "South"}, value: "South",
		},
		{
			name: "5 radio widgets repeating the group's name",
			// The group's type and flags are on its buttons, as on a real
			// form; read as fields of their own they were one checkbox
			// "Gender.Gender" and the group was lost.
			pdf: quirkForm("6 0 R", "7 0 R 8 0 R",
				"<< /T (Gender) /Kids [7 0 R 8 0 R] >>",
				"<< /FT /Btn /Ff 49152 /T (Gender) /Parent 6 0 R "+quirkWidget("50 700 62 712")+" "+checkAppearance("F", 9, 10)+" >>",
				"<< /FT /Btn /Ff 49152 /T (Gender) /Parent 6 0 R "+quirkWidget("100 700 112 712")+" "+checkAppearance("M", 9, 10)+" >>",
				onStream, offStream),
			field: "Gender", qpdfName: "Gender.Gender", wantKind: kindRadio, wantEnum: []string{"F", "M"}, value: "M",
		},
		{
			// Two field dictionaries with one name are one field: both
			// take the value.
			name: "one name on two field dictionaries of a form pdfcpu cannot read",
			pdf: quirkForm("6 0 R 7 0 R 8 0 R", "6 0 R 7 0 R 8 0 R",
				"<< /FT /Tx /T (Email) /DA (/Helv 10 Tf 0 g) "+quirkWidget("50 700 250 720")+" >>",
				"<< /FT /Tx /T (Email) /DA (/Helv 10 Tf 0 g) "+quirkWidget("50 600 250 620")+" >>",
				"<< /FT /Ch /Ff 131072 /T (Odd) /Opt ["+utf16Hex("A")+"] "+quirkWidget("50 500 250 520")+" >>"),
			field: "Email", wantKind: kindText, value: "ada@example.org",
		},
	}
}
