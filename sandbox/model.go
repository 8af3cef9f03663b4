package sandbox

import (
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// Run sources (GET /edit_runs?source=). Upstream values are not documented:
// the sandbox says API for runs created through the API and STUDIO for the
// seeded history that stands for runs made by hand.
const (
	SourceAPI    = "API"
	SourceStudio = "STUDIO"
)

// workspaceData is everything one workspace owns. It is only touched under
// Server.mu, and is what the state file holds.
type workspaceData struct {
	ID             string                             `json:"id"`
	Files          map[string]*fileRecord             `json:"files"`
	EditRuns       map[string]*editRunRecord          `json:"editRuns"`
	DetectionRuns  map[string]*detectionRunRecord     `json:"detectionRuns"`
	Webhooks       map[string]*webhookRecord          `json:"webhooks"`
	Deliveries     map[string][]*deliveryRecord       `json:"deliveries"` // by endpoint ID, oldest first
	CreditsUsed    float64                            `json:"creditsUsed"`
	Templates      map[string]*extendapi.EditTemplate `json:"-"` // rebuilt at start
	templatesReady bool
}

func newWorkspaceData(id string) *workspaceData {
	return &workspaceData{
		ID:            id,
		Files:         map[string]*fileRecord{},
		EditRuns:      map[string]*editRunRecord{},
		DetectionRuns: map[string]*detectionRunRecord{},
		Webhooks:      map[string]*webhookRecord{},
		Deliveries:    map[string][]*deliveryRecord{},
		Templates:     map[string]*extendapi.EditTemplate{},
	}
}

// fileRecord is a stored file; its bytes are in the blob store under its ID.
type fileRecord struct {
	File extendapi.File `json:"file"` // never holds a presigned URL
	Size int64          `json:"size"`
	// Password is the upload's password, used when a run names the file by ID.
	Password string `json:"password,omitempty"`
	// ConvertToPDF records ?convertToPdf=true; the sandbox converts nothing,
	// so a run on a non-PDF uploaded this way fails FAILED_TO_CONVERT_TO_PDF.
	ConvertToPDF bool `json:"convertToPdf,omitempty"`
}

// runInput is where a run's document comes from, resolved at creation.
type runInput struct {
	FileID   string `json:"fileId,omitempty"` // an uploaded (or template) file
	URL      string `json:"url,omitempty"`    // fetched by the worker into Run.File.ID
	Password string `json:"password,omitempty"`
}

// editRunRecord is an edit run. Run is the full wire object without
// presigned URLs (minted per answer); Source, CreatedAt and UpdatedAt are set.
type editRunRecord struct {
	Run   extendapi.EditRun `json:"run"`
	Input runInput          `json:"input"`
	// Stuck runs (fault injection) never reach a worker.
	Stuck bool `json:"stuck,omitempty"`
	// BaseURL is the public base of the request that created the run, for
	// the presigned URLs of its webhook payloads.
	BaseURL string `json:"baseUrl,omitempty"`
	// delayed marks a seeded run that a timer queues later; a restart
	// queues it at once.
	delayed bool
}

// detectionRunRecord is a form detection run. The wire type has no
// timestamps, so they live beside it.
type detectionRunRecord struct {
	Run     extendapi.FormDetectionRun `json:"run"`
	Input   runInput                   `json:"input"`
	Stuck   bool                       `json:"stuck,omitempty"`
	BaseURL string                     `json:"baseUrl,omitempty"`
	// Hidden runs back the deprecated POST /edit_schemas/generate, which has
	// no run resource: they cannot be fetched and emit no webhooks.
	Hidden    bool      `json:"hidden,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// webhookRecord is a webhook endpoint and its signing secret.
type webhookRecord struct {
	Endpoint extendapi.WebhookEndpoint `json:"endpoint"` // SigningSecret always empty
	Secret   string                    `json:"secret"`
}
