package views

import "time"

// ErrorPage is an error shown in the layout: never a raw upstream body or a
// stack trace. Base.RequestID is our request ID.
type ErrorPage struct {
	Base
	Status      int    // HTTP status, shown small
	Heading     string // e.g. "Run not found"
	Explanation string // what happened, in the person's terms
	Category    string // e.g. "not found", "rate limited", Extend's error code
	// ExtendRequestID is Extend's requestId when the error came from Extend.
	ExtendRequestID string
	RetryAfter      time.Duration // >0 for rate limits
	// ConnectWorkspaceID offers connecting the workspace a link points to.
	ConnectWorkspaceID string
	// ConnectNext is the page to come back to after connecting (already
	// sanitized); "" when there is none.
	ConnectNext string
	// Recorded is what Editwatch's history last knew about the page's
	// object, shown when Extend could not be asked (empty: nothing).
	Recorded []RecordedFact
	// MarkGoneURL, when set, offers marking the run gone in history (a
	// POST form): Extend answers 404 for it.
	MarkGoneURL string
}

// RecordedFact is one line of what history knows: "Status", "PROCESSED".
type RecordedFact struct {
	Label string
	Value string
}

// ConfirmPage asks for confirmation of a destructive action when the form
// arrived without it (JavaScript off); its form re-posts with ConfirmField=1.
type ConfirmPage struct {
	Base
	Heading      string
	Message      string
	ActionURL    string
	ConfirmLabel string
	CancelURL    string
	Hidden       []HiddenField // extra fields to re-post
}

// HiddenField is a name/value pair carried in a form.
type HiddenField struct {
	Name  string
	Value string
}

func (p ErrorPage) heading() string {
	if p.Heading != "" {
		return p.Heading
	}
	return "Something went wrong"
}

func (p ConfirmPage) confirmLabel() string {
	if p.ConfirmLabel != "" {
		return p.ConfirmLabel
	}
	return "Confirm"
}
