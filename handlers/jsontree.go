package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// jsonNode is a parsed JSON value that keeps the order of object members,
// so a schema's fields and a run's JSON show in the order Extend wrote
// them (Go maps would sort or shuffle them).
type jsonNode struct {
	kind    jsonKind
	members []jsonMember // object
	items   []*jsonNode  // array
	str     string       // string
	lit     string       // number, true, false, null: the literal text
}

type jsonMember struct {
	key string
	val *jsonNode
}

type jsonKind int

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// parseJSONTree parses raw into an ordered tree.
func parseJSONTree(raw []byte) (*jsonNode, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := parseJSONNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("json: extra data after the value")
	}
	return n, nil
}

func parseJSONNode(dec *json.Decoder) (*jsonNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &jsonNode{kind: jsonObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := parseJSONNode(dec)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, jsonMember{key, v})
			}
			_, err := dec.Token() // '}'
			return n, err
		case '[':
			n := &jsonNode{kind: jsonArray}
			for dec.More() {
				v, err := parseJSONNode(dec)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			_, err := dec.Token() // ']'
			return n, err
		}
		return nil, fmt.Errorf("json: unexpected %v", t)
	case string:
		return &jsonNode{kind: jsonString, str: t}, nil
	case json.Number:
		return &jsonNode{kind: jsonNumber, lit: t.String()}, nil
	case bool:
		return &jsonNode{kind: jsonBool, lit: strconv.FormatBool(t)}, nil
	case nil:
		return &jsonNode{kind: jsonNull, lit: "null"}, nil
	}
	return nil, fmt.Errorf("json: unexpected token %v", tok)
}

// get returns the member key of an object, or nil.
func (n *jsonNode) get(key string) *jsonNode {
	if n == nil || n.kind != jsonObject {
		return nil
	}
	for _, m := range n.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// del removes the member key of an object.
func (n *jsonNode) del(key string) {
	if n == nil || n.kind != jsonObject {
		return
	}
	kept := n.members[:0]
	for _, m := range n.members {
		if m.key != key {
			kept = append(kept, m)
		}
	}
	n.members = kept
}

// text is a scalar's display text ("" for null); composite values give
// their compact JSON.
func (n *jsonNode) text() string {
	switch n.kind {
	case jsonString:
		return n.str
	case jsonNull:
		return ""
	case jsonNumber, jsonBool:
		return n.lit
	}
	var b strings.Builder
	n.write(&b, "", "")
	return b.String()
}

// strings returns the strings of an array node (other items as text).
func (n *jsonNode) strings() []string {
	if n == nil {
		return nil
	}
	if n.kind != jsonArray {
		return []string{n.text()}
	}
	out := make([]string, 0, len(n.items))
	for _, it := range n.items {
		out = append(out, it.text())
	}
	return out
}

// pretty renders the tree indented by two spaces.
func (n *jsonNode) pretty() string {
	var b strings.Builder
	n.write(&b, "\n", "  ")
	return b.String()
}

func (n *jsonNode) write(b *strings.Builder, nl, indent string) {
	n.writeAt(b, nl, indent, "")
}

// inlineWidth is the longest array or object of scalars that pretty
// output keeps on one line (["string", "null"], a bounding box).
const inlineWidth = 72

func (n *jsonNode) writeAt(b *strings.Builder, nl, indent, prefix string) {
	if nl != "" && n.scalarsOnly() {
		var one strings.Builder
		n.writeInline(&one)
		if one.Len() <= inlineWidth {
			b.WriteString(one.String())
			return
		}
	}
	inner := prefix + indent
	sep := ":"
	if indent != "" {
		sep = ": "
	}
	switch n.kind {
	case jsonObject:
		if len(n.members) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{")
		for i, m := range n.members {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(nl + inner)
			b.WriteString(quoteJSON(m.key))
			b.WriteString(sep)
			m.val.writeAt(b, nl, indent, inner)
		}
		b.WriteString(nl + prefix + "}")
	case jsonArray:
		if len(n.items) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[")
		for i, it := range n.items {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(nl + inner)
			it.writeAt(b, nl, indent, inner)
		}
		b.WriteString(nl + prefix + "]")
	case jsonString:
		b.WriteString(quoteJSON(n.str))
	default:
		b.WriteString(n.lit)
	}
}

// scalarsOnly reports a non-empty array or object whose members are all
// scalars.
func (n *jsonNode) scalarsOnly() bool {
	switch n.kind {
	case jsonArray:
		for _, it := range n.items {
			if it.kind == jsonArray || it.kind == jsonObject {
				return false
			}
		}
		return len(n.items) > 0
	case jsonObject:
		for _, m := range n.members {
			if m.val.kind == jsonArray || m.val.kind == jsonObject {
				return false
			}
		}
		return len(n.members) > 0
	}
	return false
}

// writeInline writes a scalars-only container on one line, spaced for
// reading.
func (n *jsonNode) writeInline(b *strings.Builder) {
	if n.kind == jsonArray {
		b.WriteString("[")
		for i, it := range n.items {
			if i > 0 {
				b.WriteString(", ")
			}
			it.writeAt(b, "", "", "")
		}
		b.WriteString("]")
		return
	}
	b.WriteString("{")
	for i, m := range n.members {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteJSON(m.key) + ": ")
		m.val.writeAt(b, "", "", "")
	}
	b.WriteString("}")
}

// quoteJSON quotes s as a JSON string without escaping <, > and & (the
// page escapes HTML itself; \u003c would only hurt readability).
func quoteJSON(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}
