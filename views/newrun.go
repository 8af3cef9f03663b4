package views

import (
	"fmt"
	"strconv"
	"strings"
)

// Values of the new-run form's FieldInput radio.
const (
	InputUpload   = "upload"
	InputURL      = "url"
	InputTemplate = "template"
)

// HeaderFormKept marks an error answer whose body is the form as the
// person filled it (Extend failed): app.js lets htmx swap it in, where it
// would otherwise drop an error answer and leave the person guessing.
const HeaderFormKept = "X-Editwatch-Form-Kept"

// AdvancedOption is one checkbox of the new-run form. Name is the form field
// and Extend's option name.
type AdvancedOption struct {
	Name        string
	Label       string
	Description string
	Default     bool
	Checked     bool
}

// DefaultAdvancedOptions are Extend's edit options with their documented
// defaults (extend-api.md §2.2), checked as the defaults say.
func DefaultAdvancedOptions() []AdvancedOption {
	opts := []AdvancedOption{
		{Name: "flattenPdf", Label: "Flatten PDF", Default: true,
			Description: "Flatten the form after filling, so its fields are no longer editable."},
		{Name: "tableParsingEnabled", Label: "Table parsing",
			Description: "Detect and fill tables."},
		{Name: "radioEnumsEnabled", Label: "Radio groups as enums",
			Description: "Model radio button groups as enums."},
		{Name: "nativeFieldsOnly", Label: "Native fields only",
			Description: "Use only the PDF's own form fields and skip visual field detection."},
		{Name: "conditionalGenerationEnabled", Label: "Conditional rules",
			Description: "Without a schema: derive conditional rules from the form's stated requirements. Values that break them fail the run."},
	}
	for i := range opts {
		opts[i].Checked = opts[i].Default
	}
	return opts
}

// SchemaError points at the place in the schema JSON that is wrong.
type SchemaError struct {
	Line    int // 1-based; 0 when unknown
	Column  int // 1-based; 0 when unknown
	Message string
}

// NewRunPage is the new-run form (GET/POST /runs/new, POST /runs/new/detect).
type NewRunPage struct {
	Base
	MaxUploadBytes int64
	Input          string // InputUpload (default), InputURL or InputTemplate
	// FileID and FileName name a PDF already uploaded (kept across "Detect
	// fields" so the person does not upload it twice).
	FileID       string
	FileName     string
	FileURL      string
	TemplateID   string
	Schema       string
	SchemaError  *SchemaError
	Instructions string
	Options      []AdvancedOption  // DefaultAdvancedOptions when empty
	FieldErrors  map[string]string // by form field name
	FormError    string
	DetectNote   string        // e.g. "Detected 14 fields: review the schema, then start the run."
	Detected     []SchemaField // after Detect fields: the schema as a table
	Preview      *DocView      // after Detect fields on an uploaded PDF: its pages with the boxes
	PreviewNote  string        // why there is no preview (a file URL, a template)
}

func (p NewRunPage) input() string {
	switch p.Input {
	case InputURL, InputTemplate:
		return p.Input
	}
	return InputUpload
}

func (p NewRunPage) options() []AdvancedOption {
	if len(p.Options) == 0 {
		return DefaultAdvancedOptions()
	}
	return p.Options
}

func (p NewRunPage) fieldError(name string) string { return p.FieldErrors[name] }

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// schemaErrorLocation is "Line 4, column 12: " (or less when unknown).
func schemaErrorLocation(e SchemaError) string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("Line %d, column %d: ", e.Line, e.Column)
	case e.Line > 0:
		return fmt.Sprintf("Line %d: ", e.Line)
	}
	return ""
}

// schemaErrorExcerpt returns the schema line an error points at, prefixed
// with its number, and a caret line under the column. Tabs are kept in the
// caret's indent so it lines up in a <pre>.
func schemaErrorExcerpt(schema string, e SchemaError) (line, caret string, ok bool) {
	if e.Line <= 0 {
		return "", "", false
	}
	lines := strings.Split(schema, "\n")
	if e.Line > len(lines) {
		return "", "", false
	}
	text := strings.TrimRight(lines[e.Line-1], "\r")
	prefix := strconv.Itoa(e.Line) + " | "
	line = prefix + text
	if e.Column <= 0 {
		return line, "", true
	}
	var indent strings.Builder
	indent.WriteString(strings.Repeat(" ", len(prefix)))
	col := 1
	for _, r := range text {
		if col >= e.Column {
			break
		}
		if r == '\t' {
			indent.WriteByte('\t')
		} else {
			indent.WriteByte(' ')
		}
		col++
	}
	return line, indent.String() + "^", true
}
