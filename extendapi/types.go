// Package extendapi is Editwatch's typed client for the Extend Edit API
// (version 2026-02-09), plus the webhook signature check.
//
// The wire types in this file are shared with the sandbox, which serves the
// same contract. Decoding is deliberately tolerant: enum-like fields are plain
// string types so unknown values survive a round trip, optional objects are
// pointers, and optional numbers are pointers so "absent" never reads as zero.
package extendapi

import (
	"encoding/json"
	"time"
)

// APIVersion is the Extend API version every request pins.
const APIVersion = "2026-02-09"

// RunStatus is an edit or form-detection run's state. Unknown values are kept
// as-is and treated as non-terminal (the SDKs treat anything that is not
// PROCESSING/PENDING/CANCELLING as terminal; we are more conservative and
// only trust the two documented terminal states).
type RunStatus string

const (
	StatusProcessing RunStatus = "PROCESSING"
	StatusProcessed  RunStatus = "PROCESSED"
	StatusFailed     RunStatus = "FAILED"
)

// Terminal reports whether the run has finished for good.
func (s RunStatus) Terminal() bool { return s == StatusProcessed || s == StatusFailed }

// FailureReason is Extend's machine-readable failure code. The list is
// open-ended upstream, so unknown values must be displayed, not rejected.
type FailureReason string

const (
	ReasonUnableToDownloadFile  FailureReason = "UNABLE_TO_DOWNLOAD_FILE"
	ReasonFileTypeNotSupported  FailureReason = "FILE_TYPE_NOT_SUPPORTED"
	ReasonFileSizeTooLarge      FailureReason = "FILE_SIZE_TOO_LARGE"
	ReasonCorruptFile           FailureReason = "CORRUPT_FILE"
	ReasonFieldDetectionError   FailureReason = "FIELD_DETECTION_ERROR"
	ReasonPasswordProtectedFile FailureReason = "PASSWORD_PROTECTED_FILE"
	ReasonFailedToConvertToPDF  FailureReason = "FAILED_TO_CONVERT_TO_PDF"
	ReasonInternalError         FailureReason = "INTERNAL_ERROR"
	ReasonInvalidOptions        FailureReason = "INVALID_OPTIONS"
	ReasonEmptySchema           FailureReason = "EMPTY_SCHEMA"
	ReasonOutOfCredits          FailureReason = "OUT_OF_CREDITS"
	ReasonSchemaValidationError FailureReason = "SCHEMA_VALIDATION_ERROR"
)

// FailureReasons lists the documented reasons in the docs' order.
var FailureReasons = []FailureReason{
	ReasonUnableToDownloadFile, ReasonFileTypeNotSupported, ReasonFileSizeTooLarge,
	ReasonCorruptFile, ReasonFieldDetectionError, ReasonPasswordProtectedFile,
	ReasonFailedToConvertToPDF, ReasonInternalError, ReasonInvalidOptions,
	ReasonEmptySchema, ReasonOutOfCredits, ReasonSchemaValidationError,
}

// FileType is the detected type of a file (PDF, CSV, IMG, TXT, DOCX, EXCEL,
// XML, HTML); optional and open-ended.
type FileType string

// FileSummary is the file as embedded in runs (§3.2). The docs' examples trim
// it to object/id/name, so everything else is optional.
type FileSummary struct {
	Object       string        `json:"object"`
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	Type         FileType      `json:"type,omitempty"`
	ParentFileID string        `json:"parentFileId,omitempty"`
	Metadata     *FileMetadata `json:"metadata,omitempty"`
	CreatedAt    *time.Time    `json:"createdAt,omitempty"`
	UpdatedAt    *time.Time    `json:"updatedAt,omitempty"`
}

// FileMetadata holds what Extend knows about a file's content.
type FileMetadata struct {
	PageCount   *int         `json:"pageCount,omitempty"`
	ParentSplit *ParentSplit `json:"parentSplit,omitempty"`
}

// ParentSplit says which part of a parent file a split file is.
type ParentSplit struct {
	ID         string `json:"id"`
	Type       string `json:"type,omitempty"`
	Identifier string `json:"identifier,omitempty"`
	StartPage  int    `json:"startPage"`
	EndPage    int    `json:"endPage"`
}

// File is the Files API object (§6). PresignedURL is set only by GET
// /files/{id} and expires after 15 minutes: never cache or display it.
type File struct {
	Object       string          `json:"object"`
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Type         FileType        `json:"type,omitempty"`
	PresignedURL string          `json:"presignedUrl,omitempty"`
	ParentFileID string          `json:"parentFileId,omitempty"`
	Contents     json.RawMessage `json:"contents,omitempty"` // deprecated upstream; kept opaque
	Metadata     *FileMetadata   `json:"metadata,omitempty"`
	CreatedAt    *time.Time      `json:"createdAt,omitempty"`
	UpdatedAt    *time.Time      `json:"updatedAt,omitempty"`
}

// FileRef names the input file of a run: either a URL (with optional name and
// password) or an uploaded file's ID. Exactly one of URL or ID is set.
type FileRef struct {
	URL      string        `json:"url,omitempty"`
	ID       string        `json:"id,omitempty"`
	Name     string        `json:"name,omitempty"`
	Settings *FileSettings `json:"settings,omitempty"`
}

// FileSettings carries per-file options; today only a PDF password.
type FileSettings struct {
	Password string `json:"password,omitempty"`
}

// EditAdvancedOptions are the edit pipeline switches. Pointers so that "not
// given" (the server applies its default) differs from an explicit false.
type EditAdvancedOptions struct {
	FlattenPDF                   *bool `json:"flattenPdf,omitempty"`
	TableParsingEnabled          *bool `json:"tableParsingEnabled,omitempty"`
	RadioEnumsEnabled            *bool `json:"radioEnumsEnabled,omitempty"`
	NativeFieldsOnly             *bool `json:"nativeFieldsOnly,omitempty"`
	ConditionalGenerationEnabled *bool `json:"conditionalGenerationEnabled,omitempty"`
}

// EditConfig is the edit configuration (§2.2), echoed back on the run with
// defaults applied. The schema is kept as raw JSON: it is JSON-Schema-like
// with conditional keywords and `extend_edit:*` extensions, and Editwatch
// must show it faithfully rather than through a lossy struct.
type EditConfig struct {
	EngineVersion                string               `json:"engineVersion,omitempty"`
	Schema                       json.RawMessage      `json:"schema,omitempty"`
	Instructions                 string               `json:"instructions,omitempty"`
	SchemaGenerationInstructions string               `json:"schemaGenerationInstructions,omitempty"`
	AdvancedOptions              *EditAdvancedOptions `json:"advancedOptions,omitempty"`
}

// CreateEditRunRequest is the body of POST /edit_runs and POST /edit.
// Exactly one of File or TemplateID is set.
type CreateEditRunRequest struct {
	File       *FileRef    `json:"file,omitempty"`
	TemplateID string      `json:"templateId,omitempty"`
	Config     *EditConfig `json:"config,omitempty"`
}

// EditedFile is the output file of a processed run.
type EditedFile struct {
	ID           string `json:"id"`
	PresignedURL string `json:"presignedUrl,omitempty"`
}

// EditRunOutput is set once a run is PROCESSED.
type EditRunOutput struct {
	EditedFile   EditedFile                 `json:"editedFile"`
	FilledValues map[string]json.RawMessage `json:"filledValues,omitempty"`
}

// EditRunMetrics are the run's counts and stage timings (§3.4). Only
// processingTimeMs, pageCount and fieldCount appear in every example, so all
// are optional; the timings are float because the docs type them "number".
type EditRunMetrics struct {
	ProcessingTimeMs      *float64 `json:"processingTimeMs,omitempty"`
	PageCount             *int     `json:"pageCount,omitempty"`
	FieldCount            *int     `json:"fieldCount,omitempty"`
	FieldsDetectedCount   *int     `json:"fieldsDetectedCount,omitempty"`
	FieldsAnnotatedCount  *int     `json:"fieldsAnnotatedCount,omitempty"`
	FieldDetectionTimeMs  *float64 `json:"fieldDetectionTimeMs,omitempty"`
	FieldAnnotationTimeMs *float64 `json:"fieldAnnotationTimeMs,omitempty"`
	FieldFillingTimeMs    *float64 `json:"fieldFillingTimeMs,omitempty"`
}

// UsageCharge is one line of a usage breakdown entry.
type UsageCharge struct {
	Product  string  `json:"product"`
	Unit     string  `json:"unit"`
	Quantity float64 `json:"quantity"`
	Credits  float64 `json:"credits"`
	Pages    []int   `json:"pages,omitempty"`
}

// UsageBreakdownEntry attributes credits to one run (this or a child run).
type UsageBreakdownEntry struct {
	Object  string        `json:"object"`
	ID      string        `json:"id"`
	Credits float64       `json:"credits"`
	Charges []UsageCharge `json:"charges,omitempty"`
}

// RunUsage is what a run cost (§3.5). Missing for old runs and legacy billing.
type RunUsage struct {
	Credits      float64               `json:"credits"`
	TotalCredits *float64              `json:"totalCredits,omitempty"`
	Breakdown    []UsageBreakdownEntry `json:"breakdown,omitempty"`
}

// EditRun is the full run object (§3.1). CreatedAt/UpdatedAt are not on the
// documented full object (❓): we decode them when present (list summaries
// carry them, and a future full object may), and leave them nil otherwise.
type EditRun struct {
	Object         string          `json:"object"`
	ID             string          `json:"id"`
	File           FileSummary     `json:"file"`
	Status         RunStatus       `json:"status"`
	FailureReason  FailureReason   `json:"failureReason,omitempty"`
	FailureMessage string          `json:"failureMessage,omitempty"`
	Config         *EditConfig     `json:"config,omitempty"`
	Output         *EditRunOutput  `json:"output,omitempty"`
	Metrics        *EditRunMetrics `json:"metrics,omitempty"`
	Usage          *RunUsage       `json:"usage,omitempty"`
	// Source is only on list summaries (values are ❓ upstream: opaque).
	Source    string     `json:"source,omitempty"`
	CreatedAt *time.Time `json:"createdAt,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

// DeletedObject is the answer of every DELETE: the ID that was removed.
type DeletedObject struct {
	ID string `json:"id"`
}

// List is the envelope of every list endpoint. More pages exist while
// NextPageToken is non-empty.
type List[T any] struct {
	Object        string `json:"object"`
	Data          []T    `json:"data"`
	NextPageToken string `json:"nextPageToken,omitempty"`
}

// SortBy orders run lists; Extend defaults to updatedAt.
type SortBy string

const (
	SortByUpdatedAt SortBy = "updatedAt"
	SortByCreatedAt SortBy = "createdAt"
)

// SortDir is asc or desc (❓ inferred from the other list endpoints).
type SortDir string

const (
	SortAsc  SortDir = "asc"
	SortDesc SortDir = "desc"
)

// ListEditRunsParams are the query parameters of GET /edit_runs. Zero values
// are omitted from the query.
type ListEditRunsParams struct {
	Status           RunStatus
	Source           string
	FileNameContains string
	SortBy           SortBy
	SortDir          SortDir
	MaxPageSize      int
	NextPageToken    string
}

// ListFilesParams are the query parameters of GET /files.
type ListFilesParams struct {
	NameContains  string
	SortDir       SortDir
	MaxPageSize   int
	NextPageToken string
}

// EditSchemaGenerationAdvancedOptions are form detection's switches (no
// flattenPdf here).
type EditSchemaGenerationAdvancedOptions struct {
	TableParsingEnabled          *bool `json:"tableParsingEnabled,omitempty"`
	RadioEnumsEnabled            *bool `json:"radioEnumsEnabled,omitempty"`
	NativeFieldsOnly             *bool `json:"nativeFieldsOnly,omitempty"`
	ConditionalGenerationEnabled *bool `json:"conditionalGenerationEnabled,omitempty"`
}

// EditSchemaGenerationConfig configures form detection.
type EditSchemaGenerationConfig struct {
	InputSchema     json.RawMessage                      `json:"inputSchema,omitempty"`
	Instructions    string                               `json:"instructions,omitempty"`
	AdvancedOptions *EditSchemaGenerationAdvancedOptions `json:"advancedOptions,omitempty"`
}

// DetectFormRequest is the body of POST /detect_form, POST
// /form_detection_runs and the deprecated POST /edit_schemas/generate.
type DetectFormRequest struct {
	File   FileRef                     `json:"file"`
	Config *EditSchemaGenerationConfig `json:"config,omitempty"`
}

// MappingMatch pairs an input schema path with the form field it landed on.
type MappingMatch struct {
	InputPath    string `json:"inputPath"`
	FormFieldKey string `json:"formFieldKey"`
}

// MappingResult says how an input schema mapped onto detected fields.
type MappingResult struct {
	Matches             []MappingMatch `json:"matches"`
	UnmatchedInputPaths []string       `json:"unmatchedInputPaths"`
	UnusedFormFieldKeys []string       `json:"unusedFormFieldKeys"`
}

// EditSchemaGenerationResponse is form detection's result (§3.8).
type EditSchemaGenerationResponse struct {
	Schema          json.RawMessage `json:"schema"`
	AnnotatedSchema json.RawMessage `json:"annotatedSchema,omitempty"`
	MappingResult   *MappingResult  `json:"mappingResult,omitempty"`
}

// FormDetectionRun is a form detection run (§3.7), IDs prefixed sgr_.
type FormDetectionRun struct {
	Object         string                        `json:"object"`
	ID             string                        `json:"id"`
	File           FileSummary                   `json:"file"`
	Status         RunStatus                     `json:"status"`
	FailureReason  FailureReason                 `json:"failureReason,omitempty"`
	FailureMessage string                        `json:"failureMessage,omitempty"`
	Config         *EditSchemaGenerationConfig   `json:"config,omitempty"`
	Output         *EditSchemaGenerationResponse `json:"output,omitempty"`
	Metrics        *EditRunMetrics               `json:"metrics,omitempty"`
	Usage          *RunUsage                     `json:"usage,omitempty"`
}

// EditTemplate is a saved edit template (§2.6).
type EditTemplate struct {
	Object       string                      `json:"object"`
	ID           string                      `json:"id"`
	Name         string                      `json:"name"`
	Description  *string                     `json:"description"`
	File         FileSummary                 `json:"file"`
	Config       EditConfig                  `json:"config"`
	SchemaConfig *EditSchemaGenerationConfig `json:"schemaConfig"`
	CreatedAt    *time.Time                  `json:"createdAt,omitempty"`
	UpdatedAt    *time.Time                  `json:"updatedAt,omitempty"`
}

// Webhook event types that concern edits.
const (
	EventEditRunProcessed          = "edit_run.processed"
	EventEditRunFailed             = "edit_run.failed"
	EventFormDetectionRunProcessed = "form_detection_run.processed"
	EventFormDetectionRunFailed    = "form_detection_run.failed"
)

// WebhookPayloadOptions chooses between inline JSON payloads and signed URLs
// for large ones.
type WebhookPayloadOptions struct {
	Format            string `json:"format"` // "json" or "url"
	URLThresholdBytes *int   `json:"urlThresholdBytes,omitempty"`
}

// WebhookAdvancedOptions are an endpoint's extra headers and payload mode.
type WebhookAdvancedOptions struct {
	Headers map[string]string      `json:"headers,omitempty"`
	Payload *WebhookPayloadOptions `json:"payload,omitempty"`
}

// WebhookCreator says who made an endpoint: {type:"user",email} or
// {type:"api_key",name}.
type WebhookCreator struct {
	Type  string `json:"type"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// WebhookEndpoint is a registered webhook receiver (§5.5). SigningSecret is
// set only in the answer to create, once.
type WebhookEndpoint struct {
	Object          string                  `json:"object"`
	ID              string                  `json:"id"`
	URL             string                  `json:"url"`
	Name            string                  `json:"name"`
	Status          string                  `json:"status"` // "enabled" or "disabled"
	EnabledEvents   []string                `json:"enabledEvents"`
	APIVersion      string                  `json:"apiVersion"`
	AdvancedOptions *WebhookAdvancedOptions `json:"advancedOptions,omitempty"`
	CreatedAt       *time.Time              `json:"createdAt,omitempty"`
	CreatedBy       *WebhookCreator         `json:"createdBy,omitempty"`
	SigningSecret   string                  `json:"signingSecret,omitempty"`
}

// CreateWebhookEndpointRequest is the body of POST /webhook_endpoints.
type CreateWebhookEndpointRequest struct {
	URL             string                  `json:"url"`
	Name            string                  `json:"name"`
	EnabledEvents   []string                `json:"enabledEvents"`
	APIVersion      string                  `json:"apiVersion"`
	Status          string                  `json:"status,omitempty"`
	AdvancedOptions *WebhookAdvancedOptions `json:"advancedOptions,omitempty"`
}

// UpdateWebhookEndpointRequest is a partial update (POST, not PATCH, upstream).
type UpdateWebhookEndpointRequest struct {
	URL             *string                 `json:"url,omitempty"`
	Name            *string                 `json:"name,omitempty"`
	Status          *string                 `json:"status,omitempty"`
	EnabledEvents   []string                `json:"enabledEvents,omitempty"`
	AdvancedOptions *WebhookAdvancedOptions `json:"advancedOptions,omitempty"`
}

// ListWebhookEndpointsParams are the query parameters of GET /webhook_endpoints.
type ListWebhookEndpointsParams struct {
	Status        string
	SortDir       SortDir
	MaxPageSize   int
	NextPageToken string
}

// WebhookEvent is the delivery envelope (§5.2). Payload is raw: an EditRun,
// a FormDetectionRun, or a SignedDataURL in large-payload mode.
type WebhookEvent struct {
	EventID   string          `json:"eventId"`
	EventType string          `json:"eventType"`
	Payload   json.RawMessage `json:"payload"`
}

// SignedDataURL replaces a large payload: GET Data (valid one hour) for it.
type SignedDataURL struct {
	Object   string          `json:"object"` // "signed_data_url"
	Data     string          `json:"data"`
	ID       string          `json:"id"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// ErrorBody is Extend's flat error object (§4.1). The client also accepts
// the wrapped form {"error": {...}}.
type ErrorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
	RequestID string `json:"requestId,omitempty"`
	DocURL    string `json:"docUrl,omitempty"`
}

// Headers the contract names.
const (
	HeaderAPIVersion       = "x-extend-api-version"
	HeaderWorkspaceID      = "x-extend-workspace-id"
	HeaderRequestID        = "x-extend-request-id"
	HeaderWebhookSignature = "x-extend-request-signature"
	HeaderWebhookTimestamp = "x-extend-request-timestamp"
)
