package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// ErrInvalidSchema is wrapped by ValidateEditSchema for a schema of the wrong
// shape. The engine turns it into an INVALID_OPTIONS failure; the server may
// reject such a config earlier, with a 400.
var ErrInvalidSchema = errors.New("invalid edit schema")

// fieldTypes are the documented extend_edit:field_type values.
var fieldTypes = []string{"text", "checkbox", "radio", "dropdown", "optionList", "signature", "table", "unknown"}

// orderedObject is a JSON object that keeps its keys in order, so schemas
// come back with properties in form order and given schemas keep theirs.
type orderedObject struct {
	keys   []string
	values map[string]json.RawMessage
}

func newOrderedObject() *orderedObject {
	return &orderedObject{values: map[string]json.RawMessage{}}
}

func (o *orderedObject) set(key string, value json.RawMessage) {
	if _, exists := o.values[key]; !exists {
		o.keys = append(o.keys, key)
	}
	o.values[key] = value
}

func (o *orderedObject) setJSON(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	o.set(key, raw)
	return nil
}

func (o *orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(o.values[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// parseOrderedObject decodes a JSON object, remembering its key order.
func parseOrderedObject(raw json.RawMessage) (*orderedObject, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	o := newOrderedObject()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("not a JSON object")
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		o.set(key, value)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	return o, nil
}

// detectedProperty is one schema property as detection writes it.
type detectedProperty struct {
	Type        []string   `json:"type"`
	Description string     `json:"description,omitempty"`
	Comment     string     `json:"$comment,omitempty"`
	Enum        []*string  `json:"enum,omitempty"`
	MaxLength   int        `json:"maxLength,omitempty"`
	FieldType   fieldKind  `json:"extend_edit:field_type"`
	PageIndex   int        `json:"extend_edit:page_index"`
	BBox        *editBBox  `json:"extend_edit:bbox,omitempty"`
	BBoxes      []editBBox `json:"extend_edit:bboxes,omitempty"`
}

func propertyForField(f *formField) detectedProperty {
	p := detectedProperty{
		Type:        []string{"string", "null"},
		Description: f.AltName,
		Comment:     unknownComment(f),
		MaxLength:   f.MaxLen,
		FieldType:   f.Kind,
		PageIndex:   f.PageIndex,
		BBox:        f.BBox,
		BBoxes:      f.BBoxes,
	}
	switch f.Kind {
	case kindCheckbox:
		p.Type = []string{"boolean", "null"}
	case kindRadio, kindDropdown, kindOptionList:
		if len(f.Options) > 0 {
			for _, o := range f.Options {
				p.Enum = append(p.Enum, &o)
			}
			p.Enum = append(p.Enum, nil)
		}
	}
	return p
}

// unknownComment is the $comment of a field the sandbox cannot fill.
func unknownComment(f *formField) string {
	if f.Kind != kindUnknown {
		return ""
	}
	reason := f.UnknownReason
	if reason == "" {
		reason = "its kind is not one the sandbox understands"
	}
	return "the sandbox cannot fill this field: " + reason
}

// buildDetectedSchema is the EditRootJSON for the fields that hold values:
// one nullable property per logical field, keyed by its exact name, in form
// order, none required.
func buildDetectedSchema(fields []*formField) (json.RawMessage, int, error) {
	props := newOrderedObject()
	count := 0
	for _, f := range fields {
		if !f.inSchema() {
			continue
		}
		if err := props.setJSON(f.Name, propertyForField(f)); err != nil {
			return nil, 0, err
		}
		count++
	}
	root := newOrderedObject()
	root.set("type", json.RawMessage(`"object"`))
	if err := root.setJSON("properties", props); err != nil {
		return nil, 0, err
	}
	root.set("required", json.RawMessage(`[]`))
	root.set("additionalProperties", json.RawMessage(`false`))
	raw, err := json.Marshal(root)
	return raw, count, err
}

// schemaProperty is what the engine reads from one property of a given
// schema. Unknown keywords are kept in the raw schema but ignored here.
type schemaProperty struct {
	Name        string
	Description string
	Types       []string // "type", as a list even when given as one string
	Enum        []string // the non-null enum entries
	FieldType   string   // extend_edit:field_type, when given
	MaxLength   int
	Value       json.RawMessage // extend_edit:value; nil when absent or null
	raw         json.RawMessage
}

// editSchema is a parsed EditRootJSON.
type editSchema struct {
	Properties []schemaProperty
	Required   []string
	root       *orderedObject
	props      *orderedObject
}

// ValidateEditSchema checks that raw has the shape of an EditRootJSON: an
// object of type "object" whose "properties" are objects with a string or
// string-list "type", a list "enum", a documented extend_edit:field_type,
// and whose "required" names strings. It does not judge values; that is the
// edit's job (SCHEMA_VALIDATION_ERROR).
func ValidateEditSchema(raw json.RawMessage) error {
	_, err := parseEditSchema(raw)
	return err
}

func parseEditSchema(raw json.RawMessage) (*editSchema, error) {
	root, err := parseOrderedObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSchema, err)
	}
	if t, ok := root.values["type"]; ok {
		var s string
		if json.Unmarshal(t, &s) != nil || s != "object" {
			return nil, fmt.Errorf("%w: root type must be \"object\"", ErrInvalidSchema)
		}
	}
	s := &editSchema{root: root, props: newOrderedObject()}
	if rawProps, ok := root.values["properties"]; ok {
		if s.props, err = parseOrderedObject(rawProps); err != nil {
			return nil, fmt.Errorf("%w: properties: %w", ErrInvalidSchema, err)
		}
	}
	for _, name := range s.props.keys {
		p, err := parseSchemaProperty(name, s.props.values[name])
		if err != nil {
			return nil, fmt.Errorf("%w: property %q: %w", ErrInvalidSchema, name, err)
		}
		s.Properties = append(s.Properties, p)
	}
	if req, ok := root.values["required"]; ok {
		if err := json.Unmarshal(req, &s.Required); err != nil {
			return nil, fmt.Errorf("%w: required must be a list of property names", ErrInvalidSchema)
		}
	}
	return s, nil
}

func parseSchemaProperty(name string, raw json.RawMessage) (schemaProperty, error) {
	p := schemaProperty{Name: name, raw: raw}
	obj, err := parseOrderedObject(raw)
	if err != nil {
		return p, err
	}
	if v, ok := obj.values["type"]; ok {
		var one string
		if json.Unmarshal(v, &one) == nil {
			p.Types = []string{one}
		} else if json.Unmarshal(v, &p.Types) != nil {
			return p, errors.New("type must be a string or a list of strings")
		}
	}
	if v, ok := obj.values["description"]; ok {
		if json.Unmarshal(v, &p.Description) != nil {
			return p, errors.New("description must be a string")
		}
	}
	if v, ok := obj.values["enum"]; ok {
		var entries []any
		if json.Unmarshal(v, &entries) != nil {
			return p, errors.New("enum must be a list")
		}
		for _, e := range entries {
			switch e := e.(type) {
			case string:
				p.Enum = append(p.Enum, e)
			case nil:
			default:
				p.Enum = append(p.Enum, fmt.Sprint(e))
			}
		}
	}
	if v, ok := obj.values["extend_edit:field_type"]; ok {
		if json.Unmarshal(v, &p.FieldType) != nil || !slices.Contains(fieldTypes, p.FieldType) {
			return p, fmt.Errorf("extend_edit:field_type must be one of %v", fieldTypes)
		}
	}
	if v, ok := obj.values["maxLength"]; ok {
		if json.Unmarshal(v, &p.MaxLength) != nil || p.MaxLength < 0 {
			return p, errors.New("maxLength must be a non-negative integer")
		}
	}
	if v, ok := obj.values["extend_edit:value"]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		p.Value = v
	}
	return p, nil
}

// annotatedProperty is a given property enriched with what the field it
// maps to really is: field type, page, box and, for choices, the options.
// The given keys stay in their order; the field's facts win over given
// extend_edit annotations because they describe the actual form.
func annotatedProperty(p schemaProperty, f *formField) (json.RawMessage, error) {
	obj, err := parseOrderedObject(p.raw)
	if err != nil {
		return nil, err
	}
	detected := propertyForField(f)
	if _, ok := obj.values["enum"]; !ok && len(detected.Enum) > 0 {
		if err := obj.setJSON("enum", detected.Enum); err != nil {
			return nil, err
		}
	}
	if err := obj.setJSON("extend_edit:field_type", detected.FieldType); err != nil {
		return nil, err
	}
	if err := obj.setJSON("extend_edit:page_index", detected.PageIndex); err != nil {
		return nil, err
	}
	if detected.BBox != nil {
		if err := obj.setJSON("extend_edit:bbox", detected.BBox); err != nil {
			return nil, err
		}
	}
	if len(detected.BBoxes) > 0 {
		if err := obj.setJSON("extend_edit:bboxes", detected.BBoxes); err != nil {
			return nil, err
		}
	}
	return json.Marshal(obj)
}

// withProperties returns the given schema with some properties replaced,
// everything else (root keywords, order) as it was.
func (s *editSchema) withProperties(replaced map[string]json.RawMessage) (json.RawMessage, error) {
	props := newOrderedObject()
	for _, k := range s.props.keys {
		v := s.props.values[k]
		if r, ok := replaced[k]; ok {
			v = r
		}
		props.set(k, v)
	}
	root := newOrderedObject()
	for _, k := range s.root.keys {
		root.set(k, s.root.values[k])
	}
	if err := root.setJSON("properties", props); err != nil {
		return nil, err
	}
	return json.Marshal(root)
}
