// Package pdfreadback reads a PDF back the way other people's tools do:
// form fields and widget annotations with qpdf (`qpdf --json`), page text
// with poppler's pdftotext. The sandbox writes PDFs with pdfcpu; checking
// them with pdfcpu would only prove that pdfcpu agrees with itself.
package pdfreadback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Tools are the programs this package runs, with the Debian packages that
// provide them.
var Tools = []struct{ Program, Package string }{
	{"qpdf", "qpdf"},
	{"pdftotext", "poppler-utils"},
}

// Missing names the tools not found on the PATH, as "program (apt package)".
func Missing() []string {
	var missing []string
	for _, t := range Tools {
		if _, err := exec.LookPath(t.Program); err != nil {
			missing = append(missing, t.Program+" ("+t.Package+")")
		}
	}
	return missing
}

// Document is what qpdf finds in a PDF's form.
type Document struct {
	HasAcroForm bool
	Fields      []Field
	Widgets     int // widget annotations left on the pages
}

// Field is one terminal form field as qpdf lists it.
type Field struct {
	Name     string // the fully qualified name
	Type     string // Tx, Btn, Ch or Sig
	Value    string // text, the chosen option, or a button's state name ("Off" when off); "" when unset
	Values   []string
	ReadOnly bool
}

// Field returns the field named name.
func (d *Document) Field(name string) (Field, bool) {
	for _, f := range d.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// ReadForm runs qpdf --json on the (unencrypted) PDF at path.
func ReadForm(ctx context.Context, path string) (*Document, error) {
	out, err := run(ctx, "qpdf", "--json", "--json-key=acroform", "--json-key=pages", "--json-key=qpdf", path)
	if err != nil {
		return nil, err
	}
	var raw struct {
		AcroForm struct {
			HasAcroForm bool `json:"hasacroform"`
			Fields      []struct {
				Object     string          `json:"object"`
				FullName   string          `json:"fullname"`
				FieldType  string          `json:"fieldtype"`
				FieldFlags int             `json:"fieldflags"`
				Value      json.RawMessage `json:"value"`
			} `json:"fields"`
		} `json:"acroform"`
		Pages []struct {
			Object string `json:"object"`
		} `json:"pages"`
		QPDF []json.RawMessage `json:"qpdf"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("qpdf --json %s: %w", path, err)
	}
	if len(raw.QPDF) < 2 {
		return nil, fmt.Errorf("qpdf --json %s: no objects", path)
	}
	var objects map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw.QPDF[1], &objects); err != nil {
		return nil, fmt.Errorf("qpdf --json %s: objects: %w", path, err)
	}
	resolve := func(v json.RawMessage) json.RawMessage {
		var ref string
		if json.Unmarshal(v, &ref) == nil && strings.HasSuffix(ref, " R") {
			return objects["obj:"+ref].Value
		}
		return v
	}

	doc := &Document{HasAcroForm: raw.AcroForm.HasAcroForm}
	for _, f := range raw.AcroForm.Fields {
		field := Field{
			Name:     f.FullName,
			Type:     strings.TrimPrefix(f.FieldType, "/"),
			ReadOnly: f.FieldFlags&1 != 0,
		}
		field.Value, field.Values = decodeValue(f.Value)
		if field.Type == "Btn" {
			field.Value = buttonExportValue(resolve, f.Object, field.Value)
		}
		doc.Fields = append(doc.Fields, field)
	}
	for _, p := range raw.Pages {
		var page map[string]json.RawMessage
		if err := json.Unmarshal(objects["obj:"+p.Object].Value, &page); err != nil {
			return nil, fmt.Errorf("qpdf --json %s: page %s: %w", path, p.Object, err)
		}
		var annots []json.RawMessage
		if a, ok := page["/Annots"]; ok {
			_ = json.Unmarshal(resolve(a), &annots)
		}
		for _, a := range annots {
			var annot struct {
				Subtype string `json:"/Subtype"`
			}
			if json.Unmarshal(resolve(a), &annot) == nil && annot.Subtype == "/Widget" {
				doc.Widgets++
			}
		}
	}
	return doc, nil
}

// buttonExportValue reads a button's state through the field's /Opt (on
// the field or an ancestor), as viewers do: with /Opt, state "1" means the
// second entry's text.
func buttonExportValue(resolve func(json.RawMessage) json.RawMessage, object, state string) string {
	n, err := strconv.Atoi(state)
	if err != nil || n < 0 {
		return state
	}
	ref, _ := json.Marshal(object)
	for range 32 { // a bounded walk up /Parent
		var d struct {
			Opt    []string        `json:"/Opt"`
			Parent json.RawMessage `json:"/Parent"`
		}
		if json.Unmarshal(resolve(ref), &d) != nil {
			return state
		}
		if d.Opt != nil {
			if n < len(d.Opt) {
				return decodeScalar(d.Opt[n])
			}
			return state
		}
		if d.Parent == nil {
			return state
		}
		ref = d.Parent
	}
	return state
}

// decodeValue turns a field's /V in qpdf's JSON (v2: "u:" text, "b:" hex
// bytes, "/" names, arrays for multiple choices) into text.
func decodeValue(raw json.RawMessage) (string, []string) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		v := decodeScalar(s)
		return v, []string{v}
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		values := make([]string, len(list))
		for i, x := range list {
			values[i] = decodeScalar(x)
		}
		return strings.Join(values, ", "), values
	}
	return "", nil
}

func decodeScalar(s string) string {
	switch {
	case strings.HasPrefix(s, "u:"):
		return s[2:]
	case strings.HasPrefix(s, "b:"):
		return s // bytes that are not text: left visible as they are
	case strings.HasPrefix(s, "/"):
		return decodeName(s[1:])
	}
	return s
}

// decodeName undoes #xx escapes in a PDF name.
func decodeName(n string) string {
	if !strings.Contains(n, "#") {
		return n
	}
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		if n[i] == '#' && i+2 < len(n) {
			if c, err := strconv.ParseUint(n[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(n[i])
	}
	return b.String()
}

// Text is the PDF's page text as pdftotext extracts it (UTF-8).
func Text(ctx context.Context, path string) (string, error) {
	out, err := run(ctx, "pdftotext", "-enc", "UTF-8", path, "-")
	return string(out), err
}

// Word is one word pdftotext finds, with its box in points from the
// top-left corner of the page as displayed (pdftotext's convention).
type Word struct {
	Page                   int
	Text                   string
	XMin, YMin, XMax, YMax float64
}

var (
	bboxPage = regexp.MustCompile(`<page\b`)
	bboxWord = regexp.MustCompile(`<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">([^<]*)</word>`)
)

// Words are the words on every page with their boxes (pdftotext -bbox).
func Words(ctx context.Context, path string) ([]Word, error) {
	out, err := run(ctx, "pdftotext", "-bbox", "-enc", "UTF-8", path, "-")
	if err != nil {
		return nil, err
	}
	var words []Word
	pages := bboxPage.FindAllIndex(out, -1)
	for i, p := range pages {
		end := len(out)
		if i+1 < len(pages) {
			end = pages[i+1][0]
		}
		for _, m := range bboxWord.FindAllSubmatch(out[p[0]:end], -1) {
			w := Word{Page: i + 1, Text: html.UnescapeString(string(m[5]))}
			w.XMin, _ = strconv.ParseFloat(string(m[1]), 64)
			w.YMin, _ = strconv.ParseFloat(string(m[2]), 64)
			w.XMax, _ = strconv.ParseFloat(string(m[3]), 64)
			w.YMax, _ = strconv.ParseFloat(string(m[4]), 64)
			words = append(words, w)
		}
	}
	return words, nil
}

// run runs a tool and returns its standard output. qpdf's exit status 3
// means "succeeded with warnings", which is success here: the file was read.
func run(ctx context.Context, program string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, program, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && program == "qpdf" && exit.ExitCode() == 3 {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", program, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Encrypted reports whether the PDF is encrypted (qpdf --is-encrypted).
func Encrypted(ctx context.Context, path string) (bool, error) {
	code, err := exitCode(ctx, "qpdf", "--is-encrypted", path)
	switch {
	case err != nil:
		return false, err
	case code == 0:
		return true, nil
	case code == 2:
		return false, nil
	}
	return false, fmt.Errorf("qpdf --is-encrypted %s: exit status %d", path, code)
}

// Damaged reports whether qpdf had to repair anything to read the PDF
// (qpdf --check ends with warnings or errors).
func Damaged(ctx context.Context, path string) (bool, error) {
	code, err := exitCode(ctx, "qpdf", "--check", path)
	return code != 0, err
}

// exitCode runs a tool for its exit status alone; err is for a tool that
// could not run at all.
func exitCode(ctx context.Context, program string, args ...string) (int, error) {
	err := exec.CommandContext(ctx, program, args...).Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", program, err)
	}
	return 0, nil
}
