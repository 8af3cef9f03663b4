package views

import (
	"time"

	"github.com/a-h/templ"
)

// Representative page models shared by the tests and the preview writer.
// The base path is a sub-path on purpose, so tests catch links that forget it.

const (
	testBasePath = "/ew/"
	testCSRF     = "csrf-token-123"
	testNonce    = "nonce-abc"
	testWS       = "ws_demo"
	// secretValue must never appear in a page while masked.
	secretValue        = "Jane Q. Secret 123-45-6789"
	secretInstructions = "Applicant is Jane Q. Secret, SSN 123-45-6789"
)

var testNow = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

type fakeAssets struct{}

func (fakeAssets) URL(name string) string { return testBasePath + "static/" + name }

func ptr[T any](v T) *T { return &v }

func testBase(nav string) Base {
	return Base{
		Title:         "Runs",
		BasePath:      testBasePath,
		User:          "ops@example.com",
		SandboxBanner: true,
		CSRFToken:     testCSRF,
		CSPNonce:      testNonce,
		Assets:        fakeAssets{},
		Workspaces: []WorkspaceOption{
			{ID: testWS, Label: "Demo", Deployment: "sandbox", Current: true, SwitchURL: RunsURL(testBasePath, testWS, RunsFilter{}, "")},
			{ID: "ws_other", Label: "Other team", Deployment: "eu1", SwitchURL: RunsURL(testBasePath, "ws_other", RunsFilter{}, "")},
		},
		CurrentWorkspace: testWS,
		CanAct:           true,
		RequestID:        "req_ours_42",
		Now:              testNow,
		NavActive:        nav,
	}
}

func fixtureRunsPage() RunsPage {
	rows := []RunListItem{
		{ID: "edr_processing01", FileName: "w9-2024.pdf", Status: StatusProcessing, Source: "API", Pages: ptr(6), CreatedAt: testNow.Add(-40 * time.Second), UpdatedAt: testNow.Add(-10 * time.Second)},
		{ID: "edr_processed001", FileName: "lease-application.pdf", Status: StatusProcessed, Pages: ptr(4), FieldsFilled: ptr(31), FieldsDetected: ptr(34), ProcessingMs: ptr(8421.0), Credits: ptr(4.0), CreatedAt: testNow.Add(-25 * time.Minute), UpdatedAt: testNow.Add(-24 * time.Minute)},
		{ID: "edr_failed000001", FileName: "scan-unreadable.pdf", Status: StatusFailed, FailureReason: "CORRUPT_FILE", FailureMessage: "The file could not be parsed.", Pages: nil, CreatedAt: testNow.Add(-3 * time.Hour), UpdatedAt: testNow.Add(-3 * time.Hour)},
		{ID: "edr_processed002", FileName: "i-9 employment eligibility verification form (rev. 2023).pdf", Status: StatusProcessed, Pages: ptr(3), FieldsFilled: ptr(58), FieldsDetected: ptr(58), ProcessingMs: ptr(12950.0), Credits: ptr(3.0), CreatedAt: testNow.Add(-26 * time.Hour), UpdatedAt: testNow.Add(-26 * time.Hour)},
		{ID: "edr_failed000002", FileName: "contract.docx", Status: StatusFailed, FailureReason: "FILE_TYPE_NOT_SUPPORTED", FailureMessage: "Edit runs require a PDF.", CreatedAt: testNow.Add(-50 * time.Hour), UpdatedAt: testNow.Add(-50 * time.Hour)},
		{ID: "edr_processing02", FileName: "benefits-enrollment.pdf", Status: StatusProcessing, CreatedAt: testNow.Add(-2 * time.Minute), UpdatedAt: testNow.Add(-1 * time.Minute)},
		{ID: "edr_processed003", FileName: "vendor-onboarding.pdf", Status: StatusProcessed, Pages: ptr(12), FieldsFilled: ptr(102), FieldsDetected: ptr(117), ProcessingMs: ptr(61234.0), Credits: ptr(12.5), CreatedAt: testNow.Add(-9 * 24 * time.Hour), UpdatedAt: testNow.Add(-9 * 24 * time.Hour)},
		{ID: "edr_weird0000001", FileName: "", Status: "CANCELLING", CreatedAt: testNow.Add(-45 * 24 * time.Hour)},
	}
	for i := range rows {
		rows[i].Workspace = testWS
	}
	filter := RunsFilter{Status: "", FileNameContains: "", SortBy: SortCreated, SortDir: DirDesc, PageSize: 25}
	return RunsPage{
		Base:   testBase(NavRuns),
		Filter: filter,
		Rows:   rows,
		Pager: Pager{
			PrevURL: RunsURL(testBasePath, testWS, filter, "tok_prev"),
			NextURL: RunsURL(testBasePath, testWS, filter, "tok_next"),
			Summary: "8 runs on this page",
		},
		Note: "History is still syncing: older runs appear as Extend lists them.",
	}
}

func fixtureRunPage() RunPage {
	return RunPage{
		Base:      testBase(NavRuns),
		ID:        "edr_xK9mLPqRtN3vS8wF5hB2cQ",
		Workspace: testWS,
		Status:    StatusProcessed,
		CreatedAt: testNow.Add(-25 * time.Minute),
		UpdatedAt: testNow.Add(-24 * time.Minute),
		File: RunFile{
			ID: "file_Vh3k2", Name: "lease-application.pdf", Type: "PDF", Pages: ptr(4),
			ParentFileID: "file_parent9",
			ParentSplit:  &ParentSplit{ID: "spl_1", Type: "split", Identifier: "Applicant section", StartPage: 2, EndPage: 5},
		},
		Config: RunConfig{
			SchemaGiven: true,
			Schema: []SchemaField{
				{Name: "applicant_name", Type: "string", FieldType: "text", PageIndex: ptr(0), Required: true, Description: "Full legal name",
					Value: &MaskedValue{Text: secretValue, Masked: true, RevealKey: "schema:applicant_name"}},
				{Name: "has_pets", Type: "boolean", FieldType: "checkbox", PageIndex: ptr(1)},
				{Name: "employment", Type: "object", Children: []SchemaField{
					{Name: "employer", Type: "string", FieldType: "text", PageIndex: ptr(1)},
					{Name: "status", Type: "string", FieldType: "radio", Enum: []string{"full_time", "part_time", "self_employed"}, PageIndex: ptr(1)},
				}},
			},
			Instructions:    &MaskedValue{Text: secretInstructions, Masked: true, RevealKey: "config:instructions"},
			AdvancedOptions: []AdvancedOptionValue{{Name: "flattenPdf", Value: "true"}, {Name: "tableParsingEnabled", Value: "false"}, {Name: "radioEnumsEnabled", Value: "default"}},
			EngineVersion:   "1.0.0",
		},
		FilledValues: []FilledValue{
			{Field: "applicant_name", Type: "text", Value: MaskedValue{Text: secretValue, Masked: true, RevealKey: "applicant_name"}},
			{Field: "has_pets", Type: "checkbox", Value: MaskedValue{Text: "true", Masked: false}},
			{Field: "employment.employer", Type: "text", Value: MaskedValue{Text: "Initech LLC", Masked: false, RevealKey: "employment.employer"}},
			{Field: "employment.status", Type: "radio", Value: MaskedValue{Masked: true, RevealKey: "employment.status"}},
		},
		Timings: StageTimings{ProcessingMs: ptr(8421.0), DetectionMs: ptr(3120.0), AnnotationMs: ptr(2210.5), FillingMs: ptr(640.0)},
		Counts:  RunCounts{FieldsInSchema: ptr(34), Detected: ptr(34), Annotated: ptr(33), Filled: ptr(31)},
		Usage: &RunUsage{Credits: 4, TotalCredits: ptr(4.0), Breakdown: []UsageEntry{
			{Object: "edit_run", ID: "edr_xK9mLPqRtN3vS8wF5hB2cQ", Credits: 4, Charges: []UsageCharge{
				{Product: "edit", Unit: "page", Quantity: 4, Credits: 4, Pages: []int{1, 2, 3, 4}},
			}},
		}},
		HasOutput: true,
		RawJSON:   "{\n  \"object\": \"edit_run\",\n  \"id\": \"edr_xK9mLPqRtN3vS8wF5hB2cQ\",\n  \"status\": \"PROCESSED\",\n  \"output\": {\n    \"filledValues\": {\n      \"applicant_name\": \"••••••••\"\n    }\n  }\n}",
	}
}

func fixtureFailedRunPage() RunPage {
	p := fixtureRunPage()
	p.ID = "edr_failed000001"
	p.Status = StatusFailed
	p.FailureReason = "PASSWORD_PROTECTED_FILE"
	p.FailureMessage = "The PDF requires a password to open."
	p.FilledValues = nil
	p.HasOutput = false
	p.Usage = nil
	p.Timings = StageTimings{ProcessingMs: ptr(410.0)}
	p.Counts = RunCounts{}
	return p
}

func fixtureProcessingRunPage() RunPage {
	p := fixtureRunPage()
	p.ID = "edr_processing01"
	p.Status = StatusProcessing
	p.FilledValues = nil
	p.HasOutput = false
	p.Usage = nil
	p.Timings = StageTimings{}
	p.Counts = RunCounts{}
	return p
}

func fixtureConnectPage() ConnectPage {
	b := testBase(NavConnect)
	b.Title = "Connect"
	return ConnectPage{
		Base:        b,
		Deployments: DefaultDeployments("eu1"),
		WorkspaceID: testWS,
		SandboxKey:  "sk_sandbox_demo",
		Error:       "Extend rejected this key (401).",
		Connected: []ConnectedWorkspace{
			{ID: testWS, Label: "Demo", Deployment: "sandbox", KeyLast4: "demo", ConnectedAt: testNow.Add(-2 * time.Hour), Current: true, OpenURL: RunsURL(testBasePath, testWS, RunsFilter{}, "")},
			{ID: "ws_other", Label: "Other team", Deployment: "eu1", KeyLast4: "9f3a", ConnectedAt: testNow.Add(-50 * time.Hour), OpenURL: RunsURL(testBasePath, "ws_other", RunsFilter{}, "")},
		},
	}
}

const fixtureBadSchema = "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"name\": {\"type\": [\"string\", \"null\"]}\n    \"age\": {\"type\": [\"number\", \"null\"]}\n  }\n}"

func fixtureNewRunPage() NewRunPage {
	b := testBase(NavNewRun)
	b.Title = "New run"
	return NewRunPage{
		Base:           b,
		MaxUploadBytes: 50_000_000,
		Input:          InputUpload,
		FileID:         "file_up123",
		FileName:       "w9-2024.pdf",
		Schema:         fixtureBadSchema,
		SchemaError:    &SchemaError{Line: 5, Column: 5, Message: "expected ',' or '}' after object member"},
		Instructions:   "Fill the W-9 for ACME Corp.",
		FieldErrors:    map[string]string{FieldFileURL: "Not a URL: enter an https:// address."},
		DetectNote:     "Detected 23 fields: review the schema, then start the run.",
	}
}

func fixtureAuditPage() AuditPage {
	b := testBase(NavAudit)
	b.Title = "Audit log"
	return AuditPage{
		Base:   b,
		Filter: AuditFilter{Action: "reveal"},
		Entries: []AuditEntry{
			{At: testNow.Add(-5 * time.Minute), Actor: "ops@example.com", Action: "reveal", Target: "edr_xK9mLPqRtN3vS8wF5hB2cQ", Workspace: testWS, Detail: "field applicant_name", RequestID: "req_1"},
			{At: testNow.Add(-2 * time.Hour), Actor: "ops@example.com", Action: "delete", Target: "edr_gone00000001", Workspace: testWS, RequestID: "req_2"},
			{At: testNow.Add(-26 * time.Hour), Actor: "lead@example.com", Action: "connect", Target: testWS, Workspace: testWS, Detail: "key …demo", RequestID: "req_3"},
		},
		Pager: Pager{NextURL: AuditURL(testBasePath, AuditFilter{Action: "reveal"}, "tok_next"), Summary: "3 entries"},
	}
}

func fixtureErrorPage() ErrorPage {
	b := testBase("")
	b.Title = "Rate limited"
	return ErrorPage{
		Base:               b,
		Status:             429,
		Heading:            "Extend is rate limiting this workspace",
		Explanation:        "Too many requests reached Extend in a short time. Nothing was lost.",
		Category:           "RATE_LIMIT_EXCEEDED",
		ExtendRequestID:    "req_Xj8mK2pL9nR4vT7qY5wZ",
		RetryAfter:         30 * time.Second,
		ConnectWorkspaceID: "ws_other",
	}
}

func fixtureConfirmPage() ConfirmPage {
	b := testBase(NavRuns)
	b.Title = "Delete run"
	return ConfirmPage{
		Base:         b,
		Heading:      "Delete run edr_xK9mLPqRtN3vS8wF5hB2cQ?",
		Message:      "Extend removes the run and all its data; this cannot be undone.",
		ActionURL:    RunDeleteURL(testBasePath, testWS, "edr_xK9mLPqRtN3vS8wF5hB2cQ"),
		ConfirmLabel: "Delete run",
		CancelURL:    RunURL(testBasePath, testWS, "edr_xK9mLPqRtN3vS8wF5hB2cQ"),
	}
}

// allPages lists every page fixture by name, for the checks every page must
// pass.
func allPages() map[string]templ.Component {
	pages := map[string]templ.Component{
		"runs":           RunsView(fixtureRunsPage()),
		"runs-empty":     RunsView(RunsPage{Base: testBase(NavRuns), Filter: RunsFilter{Status: StatusFailed}}),
		"run":            RunView(fixtureRunPage()),
		"run-failed":     RunView(fixtureFailedRunPage()),
		"run-processing": RunView(fixtureProcessingRunPage()),
		"connect":        ConnectView(fixtureConnectPage()),
		"newrun":         NewRunView(fixtureNewRunPage()),
		"audit":          AuditView(fixtureAuditPage()),
		"error":          ErrorView(fixtureErrorPage()),
		"confirm":        ConfirmView(fixtureConfirmPage()),
	}
	for name, page := range historyPages() {
		pages[name] = page
	}
	return pages
}
