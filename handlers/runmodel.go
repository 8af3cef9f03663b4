package handlers

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// maskedText replaces a personal value in the raw JSON; fixed length, so
// it says nothing about the value.
const maskedText = "••••••••"

// Reveal keys name each personal value of a run: a filled value, a preset
// value in the schema, or one of the config's instruction texts.
const (
	revealValuePrefix           = "value:"
	revealSchemaPrefix          = "schema:"
	revealInstructions          = "config:instructions"
	revealGenerationInstruction = "config:schemaGenerationInstructions"
)

// revealSet is the set of reveal keys a person has revealed for one run.
type revealSet map[string]bool

// runPageModel builds a run's page (without Base) from the full run,
// masking every personal value not in revealed.
func runPageModel(run extendapi.EditRun, ws string, revealed revealSet) (views.RunPage, error) {
	p := views.RunPage{
		ID: run.ID, Workspace: ws, Status: string(run.Status),
		FailureReason: string(run.FailureReason), FailureMessage: run.FailureMessage,
		File: runFile(run),
	}
	if run.CreatedAt != nil {
		p.CreatedAt = *run.CreatedAt
	}
	if run.UpdatedAt != nil {
		p.UpdatedAt = *run.UpdatedAt
	}
	var schema *jsonNode
	if run.Config != nil {
		cfg, root, err := runConfig(*run.Config, revealed)
		if err != nil {
			return p, err
		}
		p.Config, schema = cfg, root
	}
	if run.Output != nil {
		p.HasOutput = run.Output.EditedFile.ID != ""
		values, filled, err := filledValues(run.Output.FilledValues, schema, revealed)
		if err != nil {
			return p, err
		}
		p.FilledValues = values
		p.Counts.Filled = &filled
	}
	if m := run.Metrics; m != nil {
		p.Timings = views.StageTimings{ProcessingMs: m.ProcessingTimeMs, DetectionMs: m.FieldDetectionTimeMs,
			AnnotationMs: m.FieldAnnotationTimeMs, FillingMs: m.FieldFillingTimeMs}
		p.Counts.FieldsInSchema, p.Counts.Detected, p.Counts.Annotated = m.FieldCount, m.FieldsDetectedCount, m.FieldsAnnotatedCount
	}
	p.Timings.ForFailedRun = run.Status == extendapi.StatusFailed
	p.Usage = runUsage(run.Usage)
	raw, err := rawRunJSON(run, revealed)
	if err != nil {
		return p, err
	}
	p.RawJSON = raw
	return p, nil
}

func runFile(run extendapi.EditRun) views.RunFile {
	f := views.RunFile{ID: run.File.ID, Name: run.File.Name, Type: string(run.File.Type), ParentFileID: run.File.ParentFileID}
	if md := run.File.Metadata; md != nil {
		f.Pages = md.PageCount
		if s := md.ParentSplit; s != nil {
			f.ParentSplit = &views.ParentSplit{ID: s.ID, Type: s.Type, Identifier: s.Identifier, StartPage: s.StartPage, EndPage: s.EndPage}
		}
	}
	if f.Pages == nil && run.Metrics != nil {
		f.Pages = run.Metrics.PageCount
	}
	return f
}

func runUsage(u *extendapi.RunUsage) *views.RunUsage {
	if u == nil {
		return nil
	}
	out := &views.RunUsage{Credits: u.Credits, TotalCredits: u.TotalCredits}
	for _, e := range u.Breakdown {
		entry := views.UsageEntry{Object: e.Object, ID: e.ID, Credits: e.Credits}
		for _, ch := range e.Charges {
			entry.Charges = append(entry.Charges, views.UsageCharge{Product: ch.Product, Unit: ch.Unit,
				Quantity: ch.Quantity, Credits: ch.Credits, Pages: ch.Pages})
		}
		out.Breakdown = append(out.Breakdown, entry)
	}
	return out
}

// masked wraps a personal value: hidden unless its key was revealed.
func masked(text, key string, revealed revealSet) views.MaskedValue {
	if text == "" {
		return views.MaskedValue{}
	}
	if revealed[key] {
		return views.MaskedValue{Text: text}
	}
	return views.MaskedValue{Masked: true, RevealKey: key}
}

func runConfig(cfg extendapi.EditConfig, revealed revealSet) (views.RunConfig, *jsonNode, error) {
	out := views.RunConfig{EngineVersion: cfg.EngineVersion}
	if cfg.Instructions != "" {
		v := masked(cfg.Instructions, revealInstructions, revealed)
		out.Instructions = &v
	}
	if cfg.SchemaGenerationInstructions != "" {
		v := masked(cfg.SchemaGenerationInstructions, revealGenerationInstruction, revealed)
		out.SchemaGenerationInstructions = &v
	}
	opts := cfg.AdvancedOptions
	if opts == nil {
		opts = &extendapi.EditAdvancedOptions{}
	}
	for _, o := range []struct {
		name string
		v    *bool
	}{
		{"flattenPdf", opts.FlattenPDF}, {"tableParsingEnabled", opts.TableParsingEnabled},
		{"radioEnumsEnabled", opts.RadioEnumsEnabled}, {"nativeFieldsOnly", opts.NativeFieldsOnly},
		{"conditionalGenerationEnabled", opts.ConditionalGenerationEnabled},
	} {
		value := "default"
		if o.v != nil {
			value = strconv.FormatBool(*o.v)
		}
		out.AdvancedOptions = append(out.AdvancedOptions, views.AdvancedOptionValue{Name: o.name, Value: value})
	}
	raw := strings.TrimSpace(string(cfg.Schema))
	if raw == "" || raw == "null" {
		return out, nil, nil
	}
	root, err := parseJSONTree(cfg.Schema)
	if err != nil {
		return out, nil, fmt.Errorf("parse the run's schema: %w", err)
	}
	out.SchemaGiven = true
	out.Schema = schemaFields(root, "", revealed)
	return out, root, nil
}

// schemaFields reads the properties of an object schema into the tree the
// page shows, in the schema's own order.
func schemaFields(node *jsonNode, path string, revealed revealSet) []views.SchemaField {
	props := node.get("properties")
	if props == nil || props.kind != jsonObject {
		return nil
	}
	required := node.get("required").strings()
	fields := make([]views.SchemaField, 0, len(props.members))
	for _, m := range props.members {
		fieldPath := joinSchemaPath(path, m.key)
		f := views.SchemaField{
			Name: m.key, Type: schemaType(m.val.get("type")), Required: slices.Contains(required, m.key),
		}
		if ft := m.val.get("extend_edit:field_type"); ft != nil {
			f.FieldType = ft.text()
		}
		if d := m.val.get("description"); d != nil {
			f.Description = d.text()
		}
		if pi := m.val.get("extend_edit:page_index"); pi != nil && pi.kind == jsonNumber {
			if n, err := strconv.Atoi(pi.lit); err == nil {
				f.PageIndex = &n
			}
		}
		if e := m.val.get("enum"); e != nil && e.kind == jsonArray {
			for _, it := range e.items {
				if it.kind == jsonNull {
					continue
				}
				f.Enum = append(f.Enum, it.text())
			}
		}
		f.Constraints = schemaConstraints(m.val)
		if v := m.val.get("extend_edit:value"); v != nil && v.kind != jsonNull {
			mv := masked(v.text(), revealSchemaPrefix+fieldPath, revealed)
			f.Value = &mv
		}
		f.Children = schemaFields(m.val, fieldPath, revealed)
		if items := m.val.get("items"); items != nil && len(f.Children) == 0 {
			f.Children = schemaFields(items, fieldPath+"[]", revealed)
		}
		fields = append(fields, f)
	}
	return fields
}

func joinSchemaPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// schemaType shows a JSON type, leaving out the "null" every primitive
// carries (Extend wants ["string","null"]).
func schemaType(t *jsonNode) string {
	if t == nil {
		return ""
	}
	var kept []string
	for _, s := range t.strings() {
		if s != "null" {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, " | ")
}

// filledValues orders the filled values like the schema's properties
// (others alphabetically after them) and masks them.
func filledValues(values map[string]json.RawMessage, schema *jsonNode, revealed revealSet) ([]views.FilledValue, int, error) {
	order := map[string]int{}
	var props *jsonNode
	if schema != nil {
		props = schema.get("properties")
		if props != nil {
			for i, m := range props.members {
				order[m.key] = i
			}
		}
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		oi, iok := order[names[i]]
		oj, jok := order[names[j]]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return names[i] < names[j]
	})
	out := make([]views.FilledValue, 0, len(names))
	filled := 0
	for _, name := range names {
		node, err := parseJSONTree(values[name])
		if err != nil {
			return nil, 0, fmt.Errorf("parse filled value %q: %w", name, err)
		}
		if node.kind != jsonNull {
			filled++
		}
		typ := valueKind(node)
		if ft := props.get(name).get("extend_edit:field_type"); ft != nil {
			typ = ft.text()
		}
		out = append(out, views.FilledValue{Field: name, Type: typ, Value: masked(node.text(), revealValuePrefix+name, revealed)})
	}
	return out, filled, nil
}

func valueKind(n *jsonNode) string {
	switch n.kind {
	case jsonString:
		return "string"
	case jsonNumber:
		return "number"
	case jsonBool:
		return "boolean"
	case jsonArray:
		return "array"
	case jsonObject:
		return "object"
	}
	return "null"
}

// rawRunJSON is the run as JSON for the page: pretty, without any
// presigned URL, personal values masked unless revealed.
func rawRunJSON(run extendapi.EditRun, revealed revealSet) (string, error) {
	raw, err := json.Marshal(run)
	if err != nil {
		return "", fmt.Errorf("encode run: %w", err)
	}
	root, err := parseJSONTree(raw)
	if err != nil {
		return "", err
	}
	dropPresignedURLs(root)
	if out := root.get("output"); out != nil {
		if fv := out.get("filledValues"); fv != nil && fv.kind == jsonObject {
			for _, m := range fv.members {
				maskNode(m.val, revealValuePrefix+m.key, revealed)
			}
		}
	}
	if cfg := root.get("config"); cfg != nil {
		maskNode(cfg.get("instructions"), revealInstructions, revealed)
		maskNode(cfg.get("schemaGenerationInstructions"), revealGenerationInstruction, revealed)
		maskSchemaValues(cfg.get("schema"), "", revealed)
	}
	return root.pretty(), nil
}

// maskNode replaces a non-null value by the mask unless key was revealed.
func maskNode(n *jsonNode, key string, revealed revealSet) {
	if n == nil || n.kind == jsonNull || revealed[key] {
		return
	}
	*n = jsonNode{kind: jsonString, str: maskedText}
}

// maskSchemaValues masks every extend_edit:value of a schema, wherever it
// sits (conditional branches included), keyed by its property path.
func maskSchemaValues(n *jsonNode, path string, revealed revealSet) {
	if n == nil {
		return
	}
	switch n.kind {
	case jsonArray:
		for _, it := range n.items {
			maskSchemaValues(it, path, revealed)
		}
	case jsonObject:
		for _, m := range n.members {
			switch m.key {
			case "extend_edit:value":
				maskNode(m.val, revealSchemaPrefix+path, revealed)
			case "properties":
				if m.val.kind != jsonObject {
					// Not a map of properties: still walk it, so a value
					// inside cannot slip past the mask.
					maskSchemaValues(m.val, path, revealed)
					continue
				}
				for _, p := range m.val.members {
					maskSchemaValues(p.val, joinSchemaPath(path, p.key), revealed)
				}
			case "items":
				maskSchemaValues(m.val, path+"[]", revealed)
			default:
				maskSchemaValues(m.val, path, revealed)
			}
		}
	}
}

func dropPresignedURLs(n *jsonNode) {
	switch n.kind {
	case jsonObject:
		n.del("presignedUrl")
		for _, m := range n.members {
			dropPresignedURLs(m.val)
		}
	case jsonArray:
		for _, it := range n.items {
			dropPresignedURLs(it)
		}
	}
}

// revealKeysOf lists every reveal key a run page offers: what a reveal
// request may name.
func revealKeysOf(p views.RunPage) []string {
	var keys []string
	add := func(v *views.MaskedValue) {
		if v != nil && v.RevealKey != "" {
			keys = append(keys, v.RevealKey)
		}
	}
	for i := range p.FilledValues {
		add(&p.FilledValues[i].Value)
	}
	add(p.Config.Instructions)
	add(p.Config.SchemaGenerationInstructions)
	var walk func([]views.SchemaField)
	walk = func(fields []views.SchemaField) {
		for _, f := range fields {
			add(f.Value)
			walk(f.Children)
		}
	}
	walk(p.Config.Schema)
	return keys
}
