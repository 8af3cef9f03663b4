package views

import (
	"strconv"
	"time"
)

// MaskedValue is a personal value that stays hidden until a person reveals
// it (an audited POST). When Masked is true the views never print Text, even
// if a handler left it set.
type MaskedValue struct {
	Text      string
	Masked    bool
	RevealKey string // value of the reveal form's "field"; no button when empty
}

// RunFile is the run's input file.
type RunFile struct {
	ID           string
	Name         string
	Type         string // PDF, DOCX, …; "" when Extend did not say
	Pages        *int
	ParentFileID string
	ParentSplit  *ParentSplit
}

// ParentSplit says which part of a parent file the input is.
type ParentSplit struct {
	ID         string
	Type       string
	Identifier string
	StartPage  int
	EndPage    int
}

// SchemaField is one field of the edit schema, parsed by the handler for a
// readable tree.
type SchemaField struct {
	Name        string
	Type        string // JSON type, e.g. "string", "boolean", "object", "array"
	FieldType   string // extend_edit:field_type: text, checkbox, radio, …
	Description string
	PageIndex   *int // extend_edit:page_index (0-based as in the schema)
	Required    bool
	Enum        []string
	Constraints []string     // "maxLength 40", "pattern ^[0-9]+$", …
	Value       *MaskedValue // extend_edit:value, when the schema sets one
	Children    []SchemaField
}

// AdvancedOptionValue is one effective advanced option of a run's config.
type AdvancedOptionValue struct {
	Name  string // flattenPdf, …
	Value string // "true", "false", or "default" when not given
}

// RunConfig is the run's effective config.
type RunConfig struct {
	Schema                       []SchemaField
	SchemaGiven                  bool // false: Extend detected the fields
	Instructions                 *MaskedValue
	SchemaGenerationInstructions *MaskedValue
	AdvancedOptions              []AdvancedOptionValue
	TemplateID                   string
	EngineVersion                string
}

// FilledValue is one row of the filled values table.
type FilledValue struct {
	Field string
	Type  string
	Value MaskedValue
}

// StageTimings feeds the stage chart; nil means not reported.
type StageTimings struct {
	ProcessingMs *float64
	DetectionMs  *float64
	AnnotationMs *float64
	FillingMs    *float64
	// ForFailedRun: a failed run's missing timings are "not reported for
	// failed runs", never "yet" (it will not go on processing).
	ForFailedRun bool
}

// RunCounts are the field counts beside the chart.
type RunCounts struct {
	FieldsInSchema *int
	Detected       *int
	Annotated      *int
	Filled         *int
}

// UsageCharge is one line of a usage breakdown entry.
type UsageCharge struct {
	Product  string
	Unit     string
	Quantity float64
	Credits  float64
	Pages    []int
}

// UsageEntry attributes credits to this run or a child run.
type UsageEntry struct {
	Object  string
	ID      string
	Credits float64
	Charges []UsageCharge
}

// RunUsage is what the run cost; nil on RunPage when Extend gave no usage.
type RunUsage struct {
	Credits      float64
	TotalCredits *float64
	Breakdown    []UsageEntry
}

// RunPage is a run's page (GET /runs/:id) and, alone, its status panel.
type RunPage struct {
	Base
	ID             string
	Workspace      string
	Status         string
	FailureReason  string
	FailureMessage string // Extend's message, verbatim
	// FailureMeaning and FailureAction default to FailureExplanation's.
	FailureMeaning string
	FailureAction  string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	File           RunFile
	Config         RunConfig
	FilledValues   []FilledValue
	Timings        StageTimings
	Counts         RunCounts
	Usage          *RunUsage
	HasOutput      bool   // an edited PDF exists: offer Download
	RawJSON        string // pretty, presignedUrl removed, personal values masked
	DocView        *DocView
	// LiveFinished: the run finished while the page was open; the panel
	// was rendered from history, so it asks for a reload to show the
	// filled values.
	LiveFinished bool
	// Lineage is what Editwatch recorded of the run's re-runs; nil when
	// the session may not read the workspace's history.
	Lineage *RunLineage
}

func (p RunPage) failureTexts() (meaning, action string) {
	meaning, action = FailureExplanation(p.FailureReason)
	if p.FailureMeaning != "" {
		meaning = p.FailureMeaning
	}
	if p.FailureAction != "" {
		action = p.FailureAction
	}
	return meaning, action
}

func (p RunPage) deleteConfirmation() string {
	return "Delete run " + p.ID + " permanently? Extend removes the run and all its data; this cannot be undone."
}

func splitPages(s *ParentSplit) string {
	if s.StartPage == s.EndPage {
		return strconv.Itoa(s.StartPage)
	}
	return strconv.Itoa(s.StartPage) + "–" + strconv.Itoa(s.EndPage)
}
