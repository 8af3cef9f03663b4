package sandbox

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/google/go-cmp/cmp"
)

// detectedSummary is the part of a detected property the tests compare.
type detectedSummary struct {
	Type        []any
	FieldType   string
	Description string
	Enum        []any
	PageIndex   float64
	HasBBox     bool
}

func summarize(p map[string]any) detectedSummary {
	s := detectedSummary{
		Type:      p["type"].([]any),
		FieldType: p["extend_edit:field_type"].(string),
		PageIndex: p["extend_edit:page_index"].(float64),
		HasBBox:   p["extend_edit:bbox"] != nil,
	}
	s.Description, _ = p["description"].(string)
	s.Enum, _ = p["enum"].([]any)
	return s
}

func TestDetectDemoVendorForm(t *testing.T) {
	path, _ := engineDemoForm(t, "vendor-onboarding.pdf")
	res, err := NewEngine(nil).Detect(context.Background(), path, "", nil)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	var root struct {
		Type                 string
		Required             []string
		AdditionalProperties *bool
	}
	if err := json.Unmarshal(res.Response.Schema, &root); err != nil {
		t.Fatalf("schema: %v", err)
	}
	if root.Type != "object" || root.Required == nil || len(root.Required) != 0 || root.AdditionalProperties == nil || *root.AdditionalProperties {
		t.Errorf("root = %+v, want an object with required [] and additionalProperties false", root)
	}

	order, props := engineSchemaProperties(t, res.Response.Schema)
	wantOrder := []string{"legalName", "dbaName", "taxId", "website", "contactName", "contactEmail", "contactPhone",
		"street", "city", "state", "postalCode", "country", "paymentTerms", "paymentMethod", "w9Received", "codeOfConduct", "notes"}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("property order (-want +got):\n%s", diff)
	}
	str, boolean := []any{"string", "null"}, []any{"boolean", "null"}
	want := map[string]detectedSummary{
		"legalName":     {Type: str, FieldType: "text", Description: "Legal business name", HasBBox: true},
		"state":         {Type: str, FieldType: "text", Description: "State", HasBBox: true},
		"country":       {Type: str, FieldType: "dropdown", Description: "Country", HasBBox: true, Enum: []any{"United States", "Canada", "Mexico", "United Kingdom", "Germany", nil}},
		"paymentTerms":  {Type: str, FieldType: "radio", Description: "Payment terms", HasBBox: true, Enum: []any{"Net 15", "Net 30", "Net 60", nil}},
		"w9Received":    {Type: boolean, FieldType: "checkbox", Description: "W-9 received", HasBBox: true},
		"codeOfConduct": {Type: boolean, FieldType: "checkbox", Description: "Accepts the supplier code of conduct", HasBBox: true},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, summarize(props[name])); diff != "" {
			t.Errorf("property %q (-want +got):\n%s", name, diff)
		}
	}
	if got := props["state"]["maxLength"]; got != float64(2) {
		t.Errorf("state maxLength = %v, want 2", got)
	}
	if bboxes, _ := props["paymentTerms"]["extend_edit:bboxes"].([]any); len(bboxes) != 3 {
		t.Errorf("paymentTerms bboxes = %v, want one per option", props["paymentTerms"]["extend_edit:bboxes"])
	}
	for name, p := range props {
		if _, ok := p["extend_edit:value"]; ok {
			t.Errorf("property %q carries a value; detection must not invent values", name)
		}
	}
	m := res.Metrics
	if *m.PageCount != 1 || *m.FieldCount != 17 || *m.FieldsDetectedCount != 17 || *m.FieldsAnnotatedCount != 17 || res.PageCount != 1 {
		t.Errorf("metrics counts = pages %d fields %d detected %d annotated %d", *m.PageCount, *m.FieldCount, *m.FieldsDetectedCount, *m.FieldsAnnotatedCount)
	}
	if *m.ProcessingTimeMs <= 0 || *m.FieldDetectionTimeMs <= 0 || *m.FieldAnnotationTimeMs <= 0 || m.FieldFillingTimeMs != nil {
		t.Errorf("timings = processing %v detection %v annotation %v filling %v; want measured, no filling",
			*m.ProcessingTimeMs, *m.FieldDetectionTimeMs, *m.FieldAnnotationTimeMs, m.FieldFillingTimeMs)
	}
	if res.Response.MappingResult != nil || res.Response.AnnotatedSchema != nil {
		t.Error("no input schema: want no mappingResult and no annotatedSchema")
	}
}

func TestDetectDemoTaxFormPages(t *testing.T) {
	path, _ := engineDemoForm(t, "tax-return.pdf")
	res, err := NewEngine(nil).Detect(context.Background(), path, "", nil)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	_, props := engineSchemaProperties(t, res.Response.Schema)
	for name, wantPage := range map[string]float64{"taxYear": 0, "filingStatus": 0, "blind": 0, "wages": 1, "refundMethod": 1, "signDate": 1} {
		if got := props[name]["extend_edit:page_index"]; got != wantPage {
			t.Errorf("%s page_index = %v, want %v", name, got, wantPage)
		}
	}
	if res.PageCount != 2 {
		t.Errorf("PageCount = %d, want 2", res.PageCount)
	}
}

func TestDetectSampleFormFixture(t *testing.T) {
	path := engineFixture(t, "sample_form.pdf")
	ctx := engineReadContext(t, path, "")
	fields, err := detectFields(ctx)
	if err != nil {
		t.Fatalf("detectFields: %v", err)
	}
	// 29 fields as pdfcpu lists them; "Print" is a push button, which holds
	// no value and is left out of the schema, and "EMPLOYEE SIGNATURE", which
	// pdfcpu lists as a text field, is really a signature field.
	if len(fields) != 29 {
		t.Fatalf("logical fields = %d, want 29", len(fields))
	}
	kinds := map[fieldKind]int{}
	for _, f := range fields {
		kinds[f.Kind]++
		if f.Name == "Print" && f.Kind != kindPushButton {
			t.Errorf("Print detected as %s, want a push button", f.Kind)
		}
	}
	if diff := cmp.Diff(map[fieldKind]int{kindText: 17, kindSignature: 1, kindCheckbox: 9, kindRadio: 1, kindPushButton: 1}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}

	res, err := NewEngine(nil).Detect(context.Background(), path, "", nil)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	order, props := engineSchemaProperties(t, res.Response.Schema)
	if len(order) != 28 || slices.Contains(order, "Print") {
		t.Errorf("schema properties = %d %v, want the 28 fields that hold values", len(order), order)
	}
	if diff := cmp.Diff(detectedSummary{Type: []any{"string", "null"}, FieldType: "radio", Description: "SEx", HasBBox: true, Enum: []any{"MALE", "FEMALE", nil}}, summarize(props["Sex"])); diff != "" {
		t.Errorf("Sex (-want +got):\n%s", diff)
	}
	if got := props["ASSOCIATES DEGREE"]["description"]; got != "ASSOCIATE’S DEGREE" {
		t.Errorf("ASSOCIATES DEGREE description = %q, want the alternate name with its curly apostrophe", got)
	}
	if got := props["EMPLOYEE SIGNATURE"]["extend_edit:field_type"]; got != "signature" {
		t.Errorf("EMPLOYEE SIGNATURE is %v, want signature", got)
	}
	if got := props["Birthdate"]["extend_edit:field_type"]; got != "text" {
		t.Errorf("Birthdate (a date field) is %v, want text", got)
	}
}

func TestDetectFancyFieldsFixture(t *testing.T) {
	path := engineFixture(t, "fancy_fields.pdf")
	fields, err := detectFields(engineReadContext(t, path, ""))
	if err != nil {
		t.Fatalf("detectFields: %v", err)
	}
	// pdfcpu lists 21 entries: the dropdown and the option list appear as
	// four option-less list boxes each. There are 15 logical fields.
	got := map[string]fieldKind{}
	for _, f := range fields {
		got[f.Name] = f.Kind
	}
	want := map[string]fieldKind{
		"First Name 🚀": kindText, "LastName 🛩": kindText, "Prefix ⚽️": kindText, "MiddleInitial 🎳": kindText,
		"Are You A Fairy? 🌿": kindCheckbox, "Is Your Power Level Over 9000? 💪": kindCheckbox,
		"Can You Defeat Enemies In One Punch? 👊": kindCheckbox, "Will You Ever Let Me Down? ☕️": kindCheckbox,
		"Historical Figures 🐺": kindRadio,
		"Which Are Planets? 🌎": kindText, "Choose A Gundam 🤖": kindText, // choice fields pdfcpu gives no options for
		"Eject 📼": kindPushButton, "Submit 📝": kindPushButton, "Play ▶️": kindPushButton, "Launch 🚀": kindPushButton,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logical fields (-want +got):\n%s", diff)
	}
	if len(fields) != 15 {
		t.Errorf("logical fields = %d, want 15", len(fields))
	}

	res, err := NewEngine(nil).Detect(context.Background(), path, "", nil)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	order, props := engineSchemaProperties(t, res.Response.Schema)
	if len(order) != 11 {
		t.Errorf("schema properties = %d, want 11 (15 fields minus 4 push buttons)", len(order))
	}
	for name, kind := range want {
		if kind == kindPushButton {
			continue
		}
		// The raw JSON must carry the exact name, emoji and variation
		// selectors included.
		key, _ := json.Marshal(name)
		if !strings.Contains(string(res.Response.Schema), string(key)) {
			t.Errorf("schema JSON lacks the exact key %s", key)
		}
		if props[name] == nil {
			t.Errorf("no property %q", name)
		}
	}
	if diff := cmp.Diff([]any{"Marcus Aurelius 🏛️", "Ada Lovelace 💻", "Marie Curie ☢️", "Alexander Hamilton 🇺🇸", nil}, props["Historical Figures 🐺"]["enum"]); diff != "" {
		t.Errorf("radio options (-want +got):\n%s", diff)
	}
}

func TestDetectXFAFixture(t *testing.T) {
	path := engineFixture(t, "with_xfa_fields.pdf")
	res, err := NewEngine(nil).Detect(context.Background(), path, "", nil)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	order, props := engineSchemaProperties(t, res.Response.Schema)
	if len(order) != 116 {
		t.Errorf("properties = %d, want 116", len(order))
	}
	for _, name := range order {
		if !strings.HasPrefix(name, "topmostSubform[0].Page") {
			t.Errorf("property %q: want the full hierarchical name", name)
		}
	}
	first := "topmostSubform[0].Page1[0].FilingStatus[0].c1_01[0]"
	if order[0] != first || props[first]["extend_edit:field_type"] != "checkbox" {
		t.Errorf("first property = %q (%v), want %q, a checkbox", order[0], props[order[0]]["extend_edit:field_type"], first)
	}
	if got := props["topmostSubform[0].Page2[0].f2_03[0]"]["extend_edit:page_index"]; got != float64(1) {
		t.Errorf("a page-2 field has page_index %v, want 1", got)
	}
	if *res.Metrics.PageCount != 2 || *res.Metrics.FieldsAnnotatedCount != 116 {
		t.Errorf("metrics: pages %d annotated %d", *res.Metrics.PageCount, *res.Metrics.FieldsAnnotatedCount)
	}
}

func TestDetectNormalFixture(t *testing.T) {
	res, err := NewEngine(nil).Detect(context.Background(), engineFixture(t, "normal.pdf"), "", nil)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	order, props := engineSchemaProperties(t, res.Response.Schema)
	if diff := cmp.Diff([]string{"Check here"}, order); diff != "" {
		t.Errorf("properties (-want +got):\n%s", diff)
	}
	if props["Check here"]["extend_edit:field_type"] != "checkbox" {
		t.Errorf("Check here = %v", props["Check here"])
	}
}

func TestDetectInputSchemaMapping(t *testing.T) {
	path, _ := engineDemoForm(t, "vendor-onboarding.pdf")
	input := json.RawMessage(`{"type":"object","properties":{
		"Legal business name":{"type":["string","null"],"description":"company"},
		"taxId":{"type":["string","null"]},
		"terms":{"type":["string","null"],"description":"payment terms"},
		"favouriteColour":{"type":["string","null"]}
	},"required":["taxId"],"additionalProperties":false}`)
	res, err := NewEngine(nil).Detect(context.Background(), path, "", &extendapi.EditSchemaGenerationConfig{InputSchema: input})
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	m := res.Response.MappingResult
	if m == nil {
		t.Fatal("no mappingResult")
	}
	wantMatches := []extendapi.MappingMatch{
		{InputPath: "Legal business name", FormFieldKey: "legalName"},
		{InputPath: "taxId", FormFieldKey: "taxId"},
		{InputPath: "terms", FormFieldKey: "paymentTerms"},
	}
	if diff := cmp.Diff(wantMatches, m.Matches); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"favouriteColour"}, m.UnmatchedInputPaths); diff != "" {
		t.Errorf("unmatched (-want +got):\n%s", diff)
	}
	if len(m.UnusedFormFieldKeys) != 14 || slices.Contains(m.UnusedFormFieldKeys, "taxId") {
		t.Errorf("unused = %v, want the 14 unmatched fields", m.UnusedFormFieldKeys)
	}

	order, props := engineSchemaProperties(t, res.Response.Schema)
	if diff := cmp.Diff([]string{"Legal business name", "taxId", "terms", "favouriteColour"}, order); diff != "" {
		t.Errorf("mapped schema keeps the input's properties (-want +got):\n%s", diff)
	}
	if props["terms"]["extend_edit:field_type"] != "radio" || props["terms"]["description"] != "payment terms" {
		t.Errorf("terms = %v, want annotated as the radio group with its own description kept", props["terms"])
	}
	if _, annotated := props["favouriteColour"]["extend_edit:field_type"]; annotated {
		t.Errorf("unmatched property was annotated: %v", props["favouriteColour"])
	}
	var root struct{ Required []string }
	json.Unmarshal(res.Response.Schema, &root)
	if diff := cmp.Diff([]string{"taxId"}, root.Required); diff != "" {
		t.Errorf("required kept (-want +got):\n%s", diff)
	}
	annotatedOrder, _ := engineSchemaProperties(t, res.Response.AnnotatedSchema)
	if len(annotatedOrder) != 17 {
		t.Errorf("annotatedSchema has %d properties, want the 17 detected", len(annotatedOrder))
	}
	if *res.Metrics.FieldCount != 4 || *res.Metrics.FieldsDetectedCount != 17 {
		t.Errorf("fieldCount %d detected %d, want 4 and 17", *res.Metrics.FieldCount, *res.Metrics.FieldsDetectedCount)
	}
}
