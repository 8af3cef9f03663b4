package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// Engine runs detection, filling and flattening on real PDFs with pdfcpu: the
// sandbox's deterministic stand-in for Extend's edit model. It holds no
// per-run state and is safe for concurrent use.
type Engine struct {
	logger *slog.Logger
	now    func() time.Time // measures stage timings; time.Now outside tests
}

// NewEngine returns an Engine that logs through logger (discarded when nil).
func NewEngine(logger *slog.Logger) *Engine {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if pdfcpuSetupErr != nil {
		logger.Warn("sandbox engine: pdfcpu has no font directory; values outside Latin-1 will fail to fill", "err", pdfcpuSetupErr)
	}
	return &Engine{logger: logger, now: time.Now}
}

// EditJob is one edit run's work. Config is the *effective* config (defaults
// already applied by the server: AdvancedOptions non-nil and every pointer
// set); a nil flattenPdf is still read as Extend's default, true.
type EditJob struct {
	InputPath  string // the input PDF on disk
	Password   string // file.settings.password, may be empty
	Config     extendapi.EditConfig
	OutputPath string // where to write the edited PDF
}

// EditResult is what a successful edit produced.
type EditResult struct {
	FilledValues map[string]json.RawMessage // keyed by schema property name: what was written; nil when nothing was
	Schema       json.RawMessage            // the schema used (given, or detected when none was given)
	Metrics      extendapi.EditRunMetrics   // every field set, measured
	PageCount    int
}

// Failure is a problem with the document or its config; the server turns it
// into a FAILED run with this reason (or, for POST /edit, a 422 whose code is
// the reason).
type Failure struct {
	Reason  extendapi.FailureReason
	Message string
}

func (f *Failure) Error() string { return string(f.Reason) + ": " + f.Message }

// Edit detects the form's fields, decides every value by the sandbox's
// filling rules (planFill: extend_edit:value, then "LABEL: VALUE"
// instruction lines matched in tiers), writes them, flattens the form when
// flattenPdf is set (flattenForm: the appearances become page content, the
// fields go) and writes the result to job.OutputPath. The PDF is parsed once. An encrypted input stays encrypted
// with the same passwords.
//
// Without config.schema the detected schema is used and returned. With one,
// each given property writes to the form field it names (by exact name, else
// matched like an instruction label, by name then by description);
// properties that name no field are never written and appear nowhere in the
// output, but still count for "required". filledValues is keyed by the
// schema's property names either way.
//
// Problems with the document or the config come back as *Failure: every
// documented reason the engine can reach (FILE_TYPE_NOT_SUPPORTED,
// PASSWORD_PROTECTED_FILE, CORRUPT_FILE, FIELD_DETECTION_ERROR, EMPTY_SCHEMA,
// INVALID_OPTIONS, SCHEMA_VALIDATION_ERROR) and INTERNAL_ERROR for a panic
// inside PDF processing, which is recovered and logged. Other errors (the
// input file missing, the output not writable, ctx done) are the server's.
func (e *Engine) Edit(ctx context.Context, job EditJob) (res EditResult, err error) {
	start := e.now()
	defer e.recoverPanic(&err, "edit", job.InputPath, func() { res = EditResult{} })

	given, err := editConfigSchema(job.Config)
	if err != nil {
		return EditResult{}, err
	}
	doc, err := e.openPDF(ctx, job.InputPath, job.Password, model.FILLFORMFIELDS)
	if err != nil {
		return EditResult{}, err
	}
	scan, err := e.scanFields(ctx, doc)
	if err != nil {
		return EditResult{}, err
	}

	var (
		targets  []fillTarget
		required []string
		schema   json.RawMessage
	)
	if given != nil {
		targets, _ = mapSchemaToFields(given, scan.fields)
		required, schema = given.Required, job.Config.Schema
	} else {
		if scan.fillable == 0 {
			return EditResult{}, emptySchemaFailure()
		}
		targets = detectedTargets(scan.fields)
		if schema, _, err = buildDetectedSchema(scan.fields); err != nil {
			return EditResult{}, fmt.Errorf("edit: encode detected schema: %w", err)
		}
	}

	fillStart := e.now()
	plan, err := planFill(targets, job.Config.Instructions, required)
	if err != nil {
		return EditResult{}, err
	}
	filled, err := writeValues(e.logger, doc, scan.fields, plan)
	if err != nil {
		return EditResult{}, &Failure{Reason: extendapi.ReasonInternalError, Message: "writing the values failed: " + err.Error()}
	}
	if flattenPDF(job.Config) {
		if err := flattenForm(doc); err != nil {
			return EditResult{}, &Failure{Reason: extendapi.ReasonCorruptFile, Message: "the filled form could not be flattened: " + err.Error()}
		}
	}
	fillMs := e.msSince(fillStart)

	if err := ctx.Err(); err != nil {
		return EditResult{}, fmt.Errorf("edit: %w", err)
	}
	if err := writePDF(doc, job.OutputPath); err != nil {
		return EditResult{}, err
	}

	fieldCount := len(targets)
	pages := doc.PageCount
	return EditResult{
		FilledValues: filled,
		Schema:       schema,
		PageCount:    pages,
		Metrics: extendapi.EditRunMetrics{
			ProcessingTimeMs:      enginePtr(e.msSince(start)),
			PageCount:             &pages,
			FieldCount:            &fieldCount,
			FieldsDetectedCount:   enginePtr(scan.schemaFields),
			FieldsAnnotatedCount:  enginePtr(scan.annotated),
			FieldDetectionTimeMs:  enginePtr(scan.detectionMs),
			FieldAnnotationTimeMs: enginePtr(scan.annotationMs),
			FieldFillingTimeMs:    &fillMs,
		},
	}, nil
}

// EditInProcess runs the whole detect-fill-flatten pipeline on one file in
// process, with Extend's documented defaults for any advanced option cfg
// leaves unset (flattenPdf true, the rest false). It is the baseline the
// HTTP benchmark compares itself against.
func EditInProcess(ctx context.Context, e *Engine, inputPath, outputPath string, cfg extendapi.EditConfig) (EditResult, error) {
	return e.Edit(ctx, EditJob{InputPath: inputPath, OutputPath: outputPath, Config: withEditDefaults(cfg)})
}

func withEditDefaults(cfg extendapi.EditConfig) extendapi.EditConfig {
	opts := extendapi.EditAdvancedOptions{}
	if cfg.AdvancedOptions != nil {
		opts = *cfg.AdvancedOptions
	}
	for _, p := range []struct {
		field **bool
		def   bool
	}{
		{&opts.FlattenPDF, true},
		{&opts.TableParsingEnabled, false},
		{&opts.RadioEnumsEnabled, false},
		{&opts.NativeFieldsOnly, false},
		{&opts.ConditionalGenerationEnabled, false},
	} {
		if *p.field == nil {
			*p.field = enginePtr(p.def)
		}
	}
	cfg.AdvancedOptions = &opts
	return cfg
}

func flattenPDF(cfg extendapi.EditConfig) bool {
	if cfg.AdvancedOptions == nil || cfg.AdvancedOptions.FlattenPDF == nil {
		return true
	}
	return *cfg.AdvancedOptions.FlattenPDF
}

// editConfigSchema parses the given schema and rejects contradictory
// options. It returns nil when no schema was given.
func editConfigSchema(cfg extendapi.EditConfig) (*editSchema, error) {
	if len(cfg.Schema) == 0 || string(cfg.Schema) == "null" {
		return nil, nil
	}
	if o := cfg.AdvancedOptions; o != nil && o.ConditionalGenerationEnabled != nil && *o.ConditionalGenerationEnabled {
		return nil, &Failure{
			Reason:  extendapi.ReasonInvalidOptions,
			Message: "conditionalGenerationEnabled only applies when no schema is given, but config.schema is set",
		}
	}
	s, err := parseEditSchema(cfg.Schema)
	if err != nil {
		return nil, &Failure{Reason: extendapi.ReasonInvalidOptions, Message: err.Error()}
	}
	return s, nil
}

// fieldScan is the detection and annotation stages' result.
type fieldScan struct {
	fields       []*formField
	schemaFields int // fields that become schema properties
	fillable     int // schema fields the sandbox can write (not unknown)
	annotated    int
	detectionMs  float64
	annotationMs float64
}

func (e *Engine) scanFields(ctx context.Context, doc *model.Context) (fieldScan, error) {
	var scan fieldScan
	start := e.now()
	fields, err := detectFields(doc)
	if err != nil {
		return scan, &Failure{Reason: extendapi.ReasonFieldDetectionError, Message: err.Error()}
	}
	scan.detectionMs = e.msSince(start)
	if err := ctx.Err(); err != nil {
		return scan, fmt.Errorf("detect fields: %w", err)
	}

	start = e.now()
	scan.annotated = e.annotateSafely(doc.XRefTable, fields)
	scan.annotationMs = e.msSince(start)

	scan.fields = fields
	for _, f := range fields {
		if f.inSchema() {
			scan.schemaFields++
		}
		if f.fillable() {
			scan.fillable++
		}
	}
	return scan, nil
}

// annotateSafely runs the annotation stage, which is best-effort: a panic
// inside pdfcpu while measuring boxes leaves the fields without boxes.
func (e *Engine) annotateSafely(xrt *model.XRefTable, fields []*formField) (annotated int) {
	defer func() {
		if r := recover(); r != nil {
			e.logger.Warn("sandbox engine: annotating the fields panicked; they keep no boxes", "panic", fmt.Sprint(r))
			for _, f := range fields {
				f.BBox, f.BBoxes = nil, nil
			}
			annotated = 0
		}
	}()
	return annotateFields(xrt, fields)
}

// detectedTargets are the detected fields as schema properties: property
// name = field name, description = alternate name, enum = options.
func detectedTargets(fields []*formField) []fillTarget {
	var targets []fillTarget
	for _, f := range fields {
		if !f.inSchema() {
			continue
		}
		targets = append(targets, fillTarget{
			prop:  schemaProperty{Name: f.Name, Description: f.AltName, Enum: f.Options},
			field: f,
		})
	}
	return targets
}

// mapSchemaToFields finds the form field each given property writes to: the
// property name, else its description, read as a label and matched against
// the fields' names, alternate names and leaf names with the same tiers as
// instruction labels. A tie maps nothing; a field already claimed by an
// earlier property is not claimed again. Properties that name no field are
// never written (and are reported as unmatched by form detection).
func mapSchemaToFields(s *editSchema, fields []*formField) ([]fillTarget, extendapi.MappingResult) {
	var eligible []*formField
	var candidates []labelCandidate
	for _, f := range fields {
		if f.inSchema() {
			eligible = append(eligible, f)
			candidates = append(candidates, labelCandidate{Name: f.Name, Description: f.AltName})
		}
	}
	idx := newLabelIndex(candidates)
	used := make([]bool, len(eligible))
	mapping := extendapi.MappingResult{Matches: []extendapi.MappingMatch{}, UnmatchedInputPaths: []string{}, UnusedFormFieldKeys: []string{}}
	targets := make([]fillTarget, 0, len(s.Properties))
	for _, p := range s.Properties {
		t := fillTarget{prop: p}
		i, _, ok := idx.lookup(p.Name)
		if !ok && p.Description != "" {
			i, _, ok = idx.lookup(p.Description)
		}
		if ok && !used[i] {
			used[i] = true
			t.field = eligible[i]
			mapping.Matches = append(mapping.Matches, extendapi.MappingMatch{InputPath: p.Name, FormFieldKey: eligible[i].Name})
		} else {
			mapping.UnmatchedInputPaths = append(mapping.UnmatchedInputPaths, p.Name)
		}
		targets = append(targets, t)
	}
	for i, f := range eligible {
		if !used[i] {
			mapping.UnusedFormFieldKeys = append(mapping.UnusedFormFieldKeys, f.Name)
		}
	}
	return targets, mapping
}

func emptySchemaFailure() *Failure {
	return &Failure{Reason: extendapi.ReasonEmptySchema, Message: "no schema was given and the PDF has no form fields the sandbox can fill"}
}

// recoverPanic turns a panic inside PDF processing into an INTERNAL_ERROR
// failure, so a hostile or broken document never takes the server down.
func (e *Engine) recoverPanic(err *error, op, path string, reset func()) {
	r := recover()
	if r == nil {
		return
	}
	e.logger.Error("sandbox engine: recovered a panic while processing a PDF",
		"op", op, "file", path, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	reset()
	*err = &Failure{Reason: extendapi.ReasonInternalError, Message: "internal error while processing the PDF"}
}

func (e *Engine) msSince(t time.Time) float64 {
	ms := float64(e.now().Sub(t)) / float64(time.Millisecond)
	return math.Round(ms*1000) / 1000
}

func enginePtr[T any](v T) *T { return &v }
