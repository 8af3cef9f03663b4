package sandbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// DetectResult is what a form detection produced.
type DetectResult struct {
	Response  extendapi.EditSchemaGenerationResponse // schema, annotatedSchema, mappingResult when InputSchema given
	Metrics   extendapi.EditRunMetrics
	PageCount int
}

// Detect reads the form's fields into an EditRootJSON schema (the
// POST /detect_form family). Without cfg.InputSchema the response's schema is
// the detected one. With it, every input property is mapped onto a field
// (the same tiered matching as instruction labels, by property name, then
// by description); the response's schema is the input schema with each
// matched property annotated with its field's type, page, box and options,
// annotatedSchema is the detected schema, and mappingResult says what
// matched. cfg.Instructions and the advanced options other than
// conditionalGenerationEnabled do not change what the sandbox detects.
//
// Failures are *Failure as for Edit, without SCHEMA_VALIDATION_ERROR.
func (e *Engine) Detect(ctx context.Context, inputPath, password string, cfg *extendapi.EditSchemaGenerationConfig) (res DetectResult, err error) {
	start := e.now()
	defer e.recoverPanic(&err, "detect", inputPath, func() { res = DetectResult{} })

	if cfg == nil {
		cfg = &extendapi.EditSchemaGenerationConfig{}
	}
	var input *editSchema
	if len(cfg.InputSchema) > 0 && string(cfg.InputSchema) != "null" {
		if o := cfg.AdvancedOptions; o != nil && o.ConditionalGenerationEnabled != nil && *o.ConditionalGenerationEnabled {
			return DetectResult{}, &Failure{
				Reason:  extendapi.ReasonInvalidOptions,
				Message: "conditionalGenerationEnabled only applies when no inputSchema is given, but config.inputSchema is set",
			}
		}
		if input, err = parseEditSchema(cfg.InputSchema); err != nil {
			return DetectResult{}, &Failure{Reason: extendapi.ReasonInvalidOptions, Message: err.Error()}
		}
	}

	doc, err := e.openPDF(ctx, inputPath, password, model.LISTFORMFIELDS)
	if err != nil {
		return DetectResult{}, err
	}
	scan, err := e.scanFields(ctx, doc)
	if err != nil {
		return DetectResult{}, err
	}
	if input == nil && scan.fillable == 0 {
		return DetectResult{}, emptySchemaFailure()
	}
	detected, _, err := buildDetectedSchema(scan.fields)
	if err != nil {
		return DetectResult{}, fmt.Errorf("detect: encode schema: %w", err)
	}

	response := extendapi.EditSchemaGenerationResponse{Schema: detected}
	fieldCount := scan.schemaFields
	if input != nil {
		targets, mapping := mapSchemaToFields(input, scan.fields)
		annotated := map[string]json.RawMessage{}
		for _, t := range targets {
			if t.field == nil {
				continue
			}
			if annotated[t.prop.Name], err = annotatedProperty(t.prop, t.field); err != nil {
				return DetectResult{}, fmt.Errorf("detect: annotate property %q: %w", t.prop.Name, err)
			}
		}
		if response.Schema, err = input.withProperties(annotated); err != nil {
			return DetectResult{}, fmt.Errorf("detect: encode mapped schema: %w", err)
		}
		response.AnnotatedSchema = detected
		response.MappingResult = &mapping
		fieldCount = len(input.Properties)
	}

	pages := doc.PageCount
	return DetectResult{
		Response:  response,
		PageCount: pages,
		Metrics: extendapi.EditRunMetrics{
			ProcessingTimeMs:      enginePtr(e.msSince(start)),
			PageCount:             &pages,
			FieldCount:            &fieldCount,
			FieldsDetectedCount:   enginePtr(scan.schemaFields),
			FieldsAnnotatedCount:  enginePtr(scan.annotated),
			FieldDetectionTimeMs:  enginePtr(scan.detectionMs),
			FieldAnnotationTimeMs: enginePtr(scan.annotationMs),
		},
	}, nil
}
