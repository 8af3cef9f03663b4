package views

import "net/url"

// Outcomes of a field in the document view: how its box is drawn.
const (
	OutcomeFilled = "filled" // the run wrote a value
	OutcomeEmpty  = "empty"  // in the schema or the form, left empty
	OutcomeFailed = "failed" // a FAILED run's message names it
)

// DocBox is one rectangle of a field in PDF points, measured from the
// top-left corner of its unrotated page, as extend_edit:bbox carries it.
type DocBox struct {
	Left   float64 `json:"left"`
	Top    float64 `json:"top"`
	Right  float64 `json:"right"`
	Bottom float64 `json:"bottom"`
}

// DocField is one field as the document view draws it. Without Page and
// Boxes (a run started from instructions), the view finds the field among
// the input PDF's widgets by Name. No values here: the view reads them
// from the PDFs it renders (which a person who may view may download), and
// the values table keeps its own masking.
type DocField struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	FieldType   string   `json:"fieldType,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Page        *int     `json:"page,omitempty"` // 0-based, as extend_edit:page_index
	Boxes       []DocBox `json:"boxes,omitempty"`
	Outcome     string   `json:"outcome"`
}

// DocView is the document view of a run's page: the run's PDFs rendered by
// PDF.js with every field marked. Nil when the run has no file to show.
type DocView struct {
	EditedURL string // the streaming route for the edited PDF; "" when there is none
	InputURL  string // the same for the input; "" when Extend named no input file
	// PDFJSBase is the vendored PDF.js folder's URL, with a trailing slash;
	// ModuleURL is the view's own script, loaded only when it opens;
	// LoaderURL is the few lines that load it.
	PDFJSBase string
	ModuleURL string
	LoaderURL string
	Fields    []DocField
	Failed    bool // a FAILED run: fields its message names are marked
	Preview   bool // the new-run page: the input with the detected fields
}

// RouteFile (GET) streams a file uploaded to Extend, such as the input of
// a run being prepared, for the preview after Detect fields.
const RouteFile = "files/:fileId"

// FileURL streams an uploaded file through the dashboard.
func FileURL(basePath, ws, fileID string) string {
	return withQuery(basePath+"files/"+url.PathEscape(fileID), wsQuery(ws))
}
