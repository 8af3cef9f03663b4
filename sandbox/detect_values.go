package sandbox

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// How the tolerant reader decodes text and options, however the PDF spells
// them.

// pdfText decodes a text value however the PDF spells it: a literal or hex
// string (PDFDocEncoding, UTF-16 with a byte order mark, or UTF-8), a name,
// or a stream whose content is the text (rich-text values). ok is false
// when o is none of these.
func pdfText(xrt *model.XRefTable, o types.Object) (string, bool) {
	if ref, isRef := o.(types.IndirectRef); isRef {
		if sd, _, err := xrt.DereferenceStreamDict(ref); err == nil && sd != nil {
			return streamText(sd)
		}
		var err error
		if o, err = xrt.Dereference(ref); err != nil {
			return "", false
		}
	}
	switch v := o.(type) {
	case types.StringLiteral:
		s, err := types.StringLiteralToString(v)
		return s, err == nil
	case types.HexLiteral:
		s, err := types.HexLiteralToString(v)
		return s, err == nil
	case types.Name:
		s, err := types.DecodeName(string(v))
		if err != nil {
			return string(v), true
		}
		return s, true
	case types.StreamDict:
		return streamText(&v)
	}
	return "", false
}

func streamText(sd *types.StreamDict) (string, bool) {
	if err := sd.Decode(); err != nil {
		return "", false
	}
	b := sd.Content
	if types.IsUTF16BE(b) {
		s, err := types.DecodeUTF16String(string(b))
		return strings.TrimSpace(s), err == nil
	}
	s, err := types.StringLiteralToString(types.StringLiteral(escapeLiteral(string(b))))
	return strings.TrimSpace(s), err == nil
}

// escapeLiteral makes raw bytes safe to decode as a string literal's body.
func escapeLiteral(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return r.Replace(s)
}

// choiceOptions reads a choice field's Opt: each entry a text string, or an
// [export display] pair. displays are what people read and pick from;
// exports are what the field's value holds.
func choiceOptions(xrt *model.XRefTable, o types.Object) (displays, exports []string, err error) {
	if o == nil {
		return nil, nil, nil
	}
	arr, ok := o.(types.Array)
	if !ok {
		return nil, nil, fmt.Errorf("its option list (Opt) is a %T, not an array", o)
	}
	for i, entry := range arr {
		if ref, isRef := entry.(types.IndirectRef); isRef {
			if entry, err = xrt.Dereference(ref); err != nil {
				return nil, nil, fmt.Errorf("option %d: %w", i, err)
			}
		}
		export, display := "", ""
		if pair, isPair := entry.(types.Array); isPair {
			if len(pair) != 2 {
				return nil, nil, fmt.Errorf("option %d is an array of %d entries, not an [export display] pair", i, len(pair))
			}
			var ok1, ok2 bool
			export, ok1 = pdfText(xrt, pair[0])
			display, ok2 = pdfText(xrt, pair[1])
			if !ok1 || !ok2 {
				return nil, nil, fmt.Errorf("option %d is not a pair of text strings", i)
			}
		} else {
			s, ok := pdfText(xrt, entry)
			if !ok {
				return nil, nil, fmt.Errorf("option %d is not a text string", i)
			}
			export, display = s, s
		}
		if strings.TrimSpace(display) == "" {
			display = export
		}
		if strings.TrimSpace(display) == "" || slices.Contains(displays, display) {
			continue
		}
		displays, exports = append(displays, display), append(exports, export)
	}
	return displays, exports, nil
}

// choiceDisplay is the option a choice value selects, as people read it
// (the first one for a multiple selection); the value itself when it is no
// option's export value.
func choiceDisplay(xrt *model.XRefTable, v types.Object, displays, exports []string) string {
	if arr, ok := v.(types.Array); ok {
		if len(arr) == 0 {
			return ""
		}
		v = arr[0]
	}
	s, ok := pdfText(xrt, v)
	if !ok {
		return ""
	}
	if i := slices.Index(exports, s); i >= 0 {
		return displays[i]
	}
	return s
}
