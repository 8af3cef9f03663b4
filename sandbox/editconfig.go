package sandbox

import (
	"bytes"
	"encoding/json"

	"github.com/editwatch/editwatch/extendapi"
)

// defaultEngineVersion is echoed when a request pins none.
const defaultEngineVersion = "latest"

// effectiveEditConfig validates the shape of a request's config and applies
// the documented defaults (flattenPdf true, every other switch false), so the
// run echoes "the effective config, with defaults filled in" (§2.2).
func effectiveEditConfig(c extendapi.EditConfig) (extendapi.EditConfig, error) {
	if err := validateSchemaShape("config.schema", c.Schema); err != nil {
		return c, err
	}
	if isJSONNull(c.Schema) {
		c.Schema = nil
	}
	if c.EngineVersion == "" {
		c.EngineVersion = defaultEngineVersion
	}
	opts := extendapi.EditAdvancedOptions{}
	if c.AdvancedOptions != nil {
		opts = *c.AdvancedOptions
	}
	opts.FlattenPDF = boolOr(opts.FlattenPDF, true)
	opts.TableParsingEnabled = boolOr(opts.TableParsingEnabled, false)
	opts.RadioEnumsEnabled = boolOr(opts.RadioEnumsEnabled, false)
	opts.NativeFieldsOnly = boolOr(opts.NativeFieldsOnly, false)
	opts.ConditionalGenerationEnabled = boolOr(opts.ConditionalGenerationEnabled, false)
	c.AdvancedOptions = &opts
	return c, nil
}

// effectiveDetectionConfig does the same for form detection (every switch
// defaults to false, §2.8).
func effectiveDetectionConfig(c *extendapi.EditSchemaGenerationConfig) (extendapi.EditSchemaGenerationConfig, error) {
	var out extendapi.EditSchemaGenerationConfig
	if c != nil {
		out = *c
	}
	if err := validateSchemaShape("config.inputSchema", out.InputSchema); err != nil {
		return out, err
	}
	if isJSONNull(out.InputSchema) {
		out.InputSchema = nil
	}
	opts := extendapi.EditSchemaGenerationAdvancedOptions{}
	if out.AdvancedOptions != nil {
		opts = *out.AdvancedOptions
	}
	opts.TableParsingEnabled = boolOr(opts.TableParsingEnabled, false)
	opts.RadioEnumsEnabled = boolOr(opts.RadioEnumsEnabled, false)
	opts.NativeFieldsOnly = boolOr(opts.NativeFieldsOnly, false)
	opts.ConditionalGenerationEnabled = boolOr(opts.ConditionalGenerationEnabled, false)
	out.AdvancedOptions = &opts
	return out, nil
}

// mergeEditConfig lays a request's config over a template's: whatever the
// request sets wins, field by field (Get Edit Template page).
func mergeEditConfig(base extendapi.EditConfig, over *extendapi.EditConfig) extendapi.EditConfig {
	if over == nil {
		return base
	}
	if over.EngineVersion != "" {
		base.EngineVersion = over.EngineVersion
	}
	if len(over.Schema) > 0 && !isJSONNull(over.Schema) {
		base.Schema = over.Schema
	}
	if over.Instructions != "" {
		base.Instructions = over.Instructions
	}
	if over.SchemaGenerationInstructions != "" {
		base.SchemaGenerationInstructions = over.SchemaGenerationInstructions
	}
	if over.AdvancedOptions != nil {
		merged := extendapi.EditAdvancedOptions{}
		if base.AdvancedOptions != nil {
			merged = *base.AdvancedOptions
		}
		o := over.AdvancedOptions
		for _, p := range []struct{ dst, src **bool }{
			{&merged.FlattenPDF, &o.FlattenPDF},
			{&merged.TableParsingEnabled, &o.TableParsingEnabled},
			{&merged.RadioEnumsEnabled, &o.RadioEnumsEnabled},
			{&merged.NativeFieldsOnly, &o.NativeFieldsOnly},
			{&merged.ConditionalGenerationEnabled, &o.ConditionalGenerationEnabled},
		} {
			if *p.src != nil {
				*p.dst = *p.src
			}
		}
		base.AdvancedOptions = &merged
	}
	return base
}

// validateSchemaShape checks that a schema is an EditRootJSON-shaped object:
// a JSON object whose `properties`, when present, maps names to objects.
// Whether the values then fit is the run's business (a FAILED run).
func validateSchemaShape(name string, raw json.RawMessage) error {
	if len(raw) == 0 || isJSONNull(raw) {
		return nil
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(raw, &root); err != nil {
		return errInvalid("%s must be a JSON object", name)
	}
	if t, ok := root["type"]; ok {
		var typ string
		if json.Unmarshal(t, &typ) != nil || typ != "object" {
			return errInvalid(`%s.type must be "object"`, name)
		}
	}
	if props, ok := root["properties"]; ok {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(props, &m); err != nil {
			return errInvalid("%s.properties must be an object", name)
		}
		for key, prop := range m {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(prop, &obj); err != nil {
				return errInvalid("%s.properties[%q] must be an object", name, key)
			}
		}
	}
	if req, ok := root["required"]; ok {
		var names []string
		if err := json.Unmarshal(req, &names); err != nil {
			return errInvalid("%s.required must be an array of property names", name)
		}
	}
	return nil
}

func isJSONNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func boolOr(p *bool, def bool) *bool {
	if p != nil {
		v := *p
		return &v
	}
	return &def
}

// validateFileRef checks that a file reference names exactly one source.
func validateFileRef(name string, f *extendapi.FileRef) error {
	switch {
	case f.URL != "" && f.ID != "":
		return errInvalid("%s: give either url or id, not both", name)
	case f.URL == "" && f.ID == "":
		return errInvalid("%s: give url or id", name)
	case f.URL != "":
		return validateFetchURL(f.URL)
	}
	return nil
}
