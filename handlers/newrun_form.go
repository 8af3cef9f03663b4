package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// newRunForm is what the new-run form sent.
type newRunForm struct {
	Input        string
	FileID       string
	FileName     string
	FileURL      string
	TemplateID   string
	Schema       string
	Instructions string
	// Checked are the advanced options whose box was ticked.
	Checked map[string]bool
	// FieldErrors collects problems found while reading (the upload).
	FieldErrors map[string]string
	// UploadErr is Extend's failure to take the uploaded file (5xx, 429,
	// timeout): the form comes back with that error.
	UploadErr error
}

func (f *newRunForm) set(name, value string) {
	switch name {
	case views.FieldInput:
		f.Input = value
	case views.FieldFileID:
		f.FileID = strings.TrimSpace(value)
	case views.FieldFileName:
		f.FileName = cleanFileName(value)
	case views.FieldFileURL:
		f.FileURL = strings.TrimSpace(value)
	case views.FieldTemplateID:
		f.TemplateID = strings.TrimSpace(value)
	case views.FieldSchema:
		f.Schema = value
	case views.FieldInstructions:
		f.Instructions = value
	default:
		for _, o := range views.DefaultAdvancedOptions() {
			if o.Name == name && value == "true" {
				f.Checked[name] = true
			}
		}
	}
}

func (f *newRunForm) fieldError(field, msg string) {
	if f.FieldErrors == nil {
		f.FieldErrors = map[string]string{}
	}
	f.FieldErrors[field] = msg
}

// input is the chosen input (upload by default).
func (f *newRunForm) input() string {
	switch f.Input {
	case views.InputURL, views.InputTemplate:
		return f.Input
	}
	return views.InputUpload
}

// options are the checkboxes as the person left them.
func (f *newRunForm) options() []views.AdvancedOption {
	opts := views.DefaultAdvancedOptions()
	for i := range opts {
		opts[i].Checked = f.Checked[opts[i].Name]
	}
	return opts
}

// advancedOptions sends only what differs from Extend's documented
// defaults, so an untouched form leaves Extend's defaults in charge.
func (f *newRunForm) advancedOptions() *extendapi.EditAdvancedOptions {
	var out extendapi.EditAdvancedOptions
	changed := false
	for _, o := range views.DefaultAdvancedOptions() {
		v := f.Checked[o.Name]
		if v == o.Default {
			continue
		}
		changed = true
		switch o.Name {
		case "flattenPdf":
			out.FlattenPDF = &v
		case "tableParsingEnabled":
			out.TableParsingEnabled = &v
		case "radioEnumsEnabled":
			out.RadioEnumsEnabled = &v
		case "nativeFieldsOnly":
			out.NativeFieldsOnly = &v
		case "conditionalGenerationEnabled":
			out.ConditionalGenerationEnabled = &v
		}
	}
	if !changed {
		return nil
	}
	return &out
}

// detectOptions are the options form detection knows (no flattenPdf).
func (f *newRunForm) detectOptions() *extendapi.EditSchemaGenerationAdvancedOptions {
	o := f.advancedOptions()
	if o == nil {
		return nil
	}
	d := &extendapi.EditSchemaGenerationAdvancedOptions{TableParsingEnabled: o.TableParsingEnabled,
		RadioEnumsEnabled: o.RadioEnumsEnabled, NativeFieldsOnly: o.NativeFieldsOnly,
		ConditionalGenerationEnabled: o.ConditionalGenerationEnabled}
	if *d == (extendapi.EditSchemaGenerationAdvancedOptions{}) {
		return nil
	}
	return d
}

var templateIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// fileRef checks the chosen input and names the file for Extend; with a
// template there is no file (ok with ref nil).
func (f *newRunForm) fileRef() (*extendapi.FileRef, bool) {
	switch f.input() {
	case views.InputURL:
		u, err := url.Parse(f.FileURL)
		if f.FileURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			f.fieldError(views.FieldFileURL, "Enter the file's address, starting with https://.")
			return nil, false
		}
		return &extendapi.FileRef{URL: f.FileURL}, true
	case views.InputTemplate:
		if !templateIDPattern.MatchString(f.TemplateID) {
			f.fieldError(views.FieldTemplateID, "Enter a template ID, like edt_AbC123.")
			return nil, false
		}
		return nil, true
	}
	if f.FileID == "" {
		if _, failed := f.FieldErrors[views.FieldFile]; !failed {
			f.fieldError(views.FieldFile, "Choose a PDF to upload.")
		}
		return nil, false
	}
	return &extendapi.FileRef{ID: f.FileID}, true
}

// checkSchema validates the schema JSON and says where it is wrong.
func checkSchema(schema string) (json.RawMessage, *views.SchemaError) {
	if strings.TrimSpace(schema) == "" {
		return nil, nil
	}
	var v any
	err := json.Unmarshal([]byte(schema), &v)
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		line, col := lineColumn(schema, int(syn.Offset), strings.Contains(syn.Error(), "unexpected end"))
		return nil, &views.SchemaError{Line: line, Column: col, Message: syntaxMessage(syn.Error(), schema, int(syn.Offset))}
	case err != nil:
		return nil, &views.SchemaError{Message: "The schema is not valid JSON: " + err.Error()}
	}
	root, ok := v.(map[string]any)
	if !ok {
		start := len(schema) - len(strings.TrimLeft(schema, " \t\r\n"))
		line, col := lineColumn(schema, start+1, false)
		return nil, &views.SchemaError{Line: line, Column: col, Message: "The schema must be a JSON object, like {\"type\": \"object\", \"properties\": {…}}."}
	}
	if t, _ := root["type"].(string); t != "object" {
		return nil, &views.SchemaError{Message: "The schema's root needs \"type\": \"object\"."}
	}
	if props, ok := root["properties"]; ok {
		if _, isObj := props.(map[string]any); !isObj {
			return nil, &views.SchemaError{Message: "\"properties\" must be an object mapping field names to their schemas."}
		}
	}
	return json.RawMessage(schema), nil
}

// lineColumn turns the decoder's offset (bytes read when the error was
// found) into the 1-based line and column of the offending character.
func lineColumn(s string, offset int, atEnd bool) (line, col int) {
	pos := min(max(offset-1, 0), len(s))
	if atEnd {
		// Unexpected end: point just after the last non-space character.
		pos = len(strings.TrimRight(s, " \t\r\n"))
	}
	before := s[:pos]
	line = strings.Count(before, "\n") + 1
	col = utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

// syntaxMessage rephrases encoding/json's syntax errors in the terms of
// someone editing the schema.
func syntaxMessage(msg, s string, offset int) string {
	msg = strings.TrimPrefix(msg, "json: ")
	switch {
	case strings.Contains(msg, "unexpected end of JSON input"):
		return "the JSON ends too early: a closing } or ] or a value is missing"
	case strings.Contains(msg, "after object key:value pair"):
		return "expected ',' or '}' after an object member" + found(s, offset)
	case strings.Contains(msg, "after array element"):
		return "expected ',' or ']' after an array element" + found(s, offset)
	case strings.Contains(msg, "after object key"):
		return "expected ':' after an object key" + found(s, offset)
	case strings.Contains(msg, "looking for beginning of object key string"):
		return "expected a quoted key (a trailing comma before '}'?)" + found(s, offset)
	case strings.Contains(msg, "looking for beginning of value"):
		return "expected a value (a string in double quotes, a number, true, false, null, an object or an array)" + found(s, offset)
	}
	return msg
}

func found(s string, offset int) string {
	if offset <= 0 || offset > len(s) {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(s[offset-1:])
	return fmt.Sprintf(", found %q", r)
}
