package handlers

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// decodeAny decodes JSON keeping numbers' text, to compare meanings.
func decodeAny(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// FuzzJSONTree: the ordered tree parses exactly what is valid JSON, and
// its pretty and compact forms are JSON with the same meaning, stable
// when parsed and printed again.
func FuzzJSONTree(f *testing.F) {
	for _, s := range []string{modelSchema, `{"b":1,"a":[true,false,null,"x"],"c":{}}`, `[]`, `"\u003c\u00e9\ud83d\udcc4"`,
		`{"a":1,"a":2}`, `-0.0e+10`, `1E400`, `{"a" 1}`, `[1,]`, `{"a":1}{"b":2}`, "\ufeff{}", "{\"\xff\":\"\xfe\"}", ` null `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tree, err := parseJSONTree(raw)
		if valid := json.Valid(raw); (err == nil) != valid {
			t.Fatalf("json.Valid %v but parseJSONTree error %v for %q", valid, err, raw)
		}
		if err != nil {
			return
		}
		want, err := decodeAny(raw)
		if err != nil {
			t.Fatal(err)
		}
		pretty := tree.pretty()
		for _, out := range []string{pretty, tree.text()} {
			if tree.kind != jsonObject && tree.kind != jsonArray && out == tree.text() {
				continue // a scalar's text is not JSON
			}
			got, err := decodeAny([]byte(out))
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%q printed as %q: %v %v", raw, out, got, err)
			}
		}
		again, err := parseJSONTree([]byte(pretty))
		if err != nil || again.pretty() != pretty {
			t.Fatalf("pretty %q is not stable: %v", pretty, err)
		}
	})
}

// canarySignature stands for the signature in a presigned URL: no page may
// show it.
const canarySignature = "X-Amz-Signature=c4n4ry0f5ig"

// FuzzRunPageModel builds a run's page from any run Extend could send: it
// never fails or panics; nothing of the presigned URL shows, anywhere;
// with nothing revealed every personal value is masked, in the page and in
// its raw JSON; and revealing every key the page offers unmasks every
// value it shows.
func FuzzRunPageModel(f *testing.F) {
	seed, err := json.Marshal(modelRun())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"object":"edit_run","id":"edr_1","status":"PROCESSING","file":{"object":"file","id":"file_1","name":"w9.pdf"}}`))
	f.Add([]byte(`{"id":"edr_1","status":"FAILED","failureReason":"PDF_PARSE_ERROR","failureMessage":"broken","metrics":{"pageCount":2}}`))
	f.Add([]byte(`{"id":"edr_1","config":{"schema":{"properties":[{"extend_edit:value":"Secret"}]}},"output":{"editedFile":{"id":"f"}}}`))
	f.Add([]byte(`{"id":"edr_1","config":{"schema":"just text","instructions":"Secret"},"output":{"filledValues":{"a":{"b":[1,"Secret"]},"n":null}}}`))
	f.Add([]byte(`{"id":"edr_1","config":{"schema":{"properties":{"properties":{"extend_edit:value":"S","properties":{"x":{"extend_edit:value":"T"}}}}}}}`))
	f.Add([]byte(`{"id":"edr_1","config":{"schema":{"properties":{"a":{"items":{"properties":{"b":{"extend_edit:value":{"deep":"S"}}}}}}},"required":"a"}}`))
	f.Add([]byte(`{"id":"edr_1","config":{"schema":{"allOf":[{"then":{"properties":{"z":{"extend_edit:value":"S"}}}}]}}}`))
	f.Add([]byte(`{"id":"edr_1","file":{"metadata":{"parentSplit":{"id":"s","startPage":1,"endPage":2}}},"usage":{"credits":1,"breakdown":[{"charges":[{"pages":[1]}]}]}}`))
	f.Add([]byte(`{"id":"edr_1","output":{"filledValues":{"presignedUrl":"https://x/?X-Amz-Signature=abc"}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var run extendapi.EditRun
		if json.Unmarshal(raw, &run) != nil || bytes.Contains(raw, []byte("c4n4ry0f5ig")) {
			return
		}
		if run.Output != nil {
			run.Output.EditedFile.PresignedURL = "https://storage.example/out.pdf?" + canarySignature
		}
		p, err := runPageModel(run, "ws_fuzz", nil)
		if err != nil {
			t.Fatalf("a run decoded from %q cannot be shown: %v", raw, err)
		}
		checkNoPresignedURL(t, p)
		filled := 0
		for _, v := range filledValuesOf(run) {
			if string(bytes.TrimSpace(v)) != "null" {
				filled++
			}
		}
		if run.Output != nil && (p.Counts.Filled == nil || *p.Counts.Filled != filled) {
			t.Fatalf("filled count %v, want %d", p.Counts.Filled, filled)
		}
		forEachMasked(p, func(where string, v views.MaskedValue) {
			if v.Text != "" || (v.Masked && v.RevealKey == "") {
				t.Fatalf("%s shows %q with nothing revealed (key %q)", where, v.Text, v.RevealKey)
			}
		})
		checkRawJSONMasked(t, p.RawJSON)

		revealed := revealSet{}
		for _, k := range revealKeysOf(p) {
			revealed[k] = true
		}
		all, err := runPageModel(run, "ws_fuzz", revealed)
		if err != nil {
			t.Fatal(err)
		}
		checkNoPresignedURL(t, all)
		forEachMasked(all, func(where string, v views.MaskedValue) {
			if v.Masked {
				t.Fatalf("%s is still masked with every offered key %v revealed", where, revealKeysOf(p))
			}
		})
	})
}

func filledValuesOf(run extendapi.EditRun) map[string]json.RawMessage {
	if run.Output == nil {
		return nil
	}
	return run.Output.FilledValues
}

// checkNoPresignedURL: whatever reaches the template holds no presigned
// URL, and the raw JSON no presignedUrl member.
func checkNoPresignedURL(t *testing.T, p views.RunPage) {
	t.Helper()
	everything, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(everything, []byte("c4n4ry0f5ig")) || strings.Contains(p.RawJSON, "c4n4ry0f5ig") {
		t.Fatalf("the page shows the presigned URL: %s", everything)
	}
	tree, err := parseJSONTree([]byte(p.RawJSON))
	if err != nil {
		t.Fatalf("raw JSON %q: %v", p.RawJSON, err)
	}
	var walk func(n *jsonNode)
	walk = func(n *jsonNode) {
		for _, m := range n.members {
			if m.key == "presignedUrl" {
				t.Fatalf("raw JSON keeps a presignedUrl: %s", p.RawJSON)
			}
			walk(m.val)
		}
		for _, it := range n.items {
			walk(it)
		}
	}
	walk(tree)
}

// forEachMasked visits every personal value of the page's structured view.
func forEachMasked(p views.RunPage, visit func(where string, v views.MaskedValue)) {
	for _, fv := range p.FilledValues {
		visit("filled value "+fv.Field, fv.Value)
	}
	if p.Config.Instructions != nil {
		visit("instructions", *p.Config.Instructions)
	}
	if p.Config.SchemaGenerationInstructions != nil {
		visit("schema generation instructions", *p.Config.SchemaGenerationInstructions)
	}
	var walk func(path string, fields []views.SchemaField)
	walk = func(path string, fields []views.SchemaField) {
		for _, f := range fields {
			if f.Value != nil {
				visit("schema value "+path+f.Name, *f.Value)
			}
			walk(path+f.Name+".", f.Children)
		}
	}
	walk("", p.Config.Schema)
}

// checkRawJSONMasked: with nothing revealed the raw JSON holds no filled
// value, no instructions and no preset schema value, wherever the schema
// puts one.
func checkRawJSONMasked(t *testing.T, raw string) {
	t.Helper()
	root, err := parseJSONTree([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	isMasked := func(n *jsonNode) bool {
		return n == nil || n.kind == jsonNull || (n.kind == jsonString && n.str == maskedText)
	}
	if fv := root.get("output").get("filledValues"); fv != nil {
		for _, m := range fv.members {
			if !isMasked(m.val) {
				t.Fatalf("filled value %q shows in the raw JSON: %s", m.key, raw)
			}
		}
	}
	cfg := root.get("config")
	for _, k := range []string{"instructions", "schemaGenerationInstructions"} {
		if !isMasked(cfg.get(k)) {
			t.Fatalf("%s shows in the raw JSON: %s", k, raw)
		}
	}
	// Preset values: every extend_edit:value member of a schema (not a
	// property of that name) wherever it sits.
	var walk func(n *jsonNode, propertyMap bool)
	walk = func(n *jsonNode, propertyMap bool) {
		for _, m := range n.members {
			switch {
			case propertyMap:
				walk(m.val, false)
			case m.key == "extend_edit:value":
				if !isMasked(m.val) {
					t.Fatalf("a preset value shows in the raw JSON: %s", raw)
				}
			default:
				walk(m.val, m.key == "properties")
			}
		}
		for _, it := range n.items {
			walk(it, false)
		}
	}
	if s := cfg.get("schema"); s != nil {
		walk(s, false)
	}
}
