package views

import (
	"slices"
	"time"
)

// Run statuses as Extend spells them; the views only compare strings so an
// unknown status still renders.
const (
	StatusProcessing = "PROCESSING"
	StatusProcessed  = "PROCESSED"
	StatusFailed     = "FAILED"
)

// Sort values of RunsFilter.
const (
	SortUpdated = "updatedAt"
	SortCreated = "createdAt"
	DirDesc     = "desc"
	DirAsc      = "asc"
)

// PageSizes are the page sizes the runs filter offers.
var PageSizes = []int{10, 25, 50, 100}

// RunsFilter is the runs list's state, all of it in the URL (see Query).
// Empty fields mean Extend's defaults.
type RunsFilter struct {
	Status           string
	Source           string
	FileNameContains string
	SortBy           string // SortUpdated or SortCreated
	SortDir          string // DirDesc or DirAsc
	PageSize         int
	// History filters: they apply when the list reads from history.
	Range       TimeRange
	Reason      string // failure reason
	RunIDPrefix string
	Stuck       bool // only runs processing past the stuck threshold
}

// Active reports whether anything narrows the list (sorting does not).
func (f RunsFilter) Active() bool {
	return f.Status != "" || f.Source != "" || f.FileNameContains != "" ||
		!f.Range.IsZero() || f.Reason != "" || f.RunIDPrefix != "" || f.Stuck
}

// RunListItem is one row of the runs table. Optional numbers are nil when
// Extend did not report them.
type RunListItem struct {
	ID             string
	Workspace      string // ws of the run; every link carries it
	FileName       string
	Status         string
	FailureReason  string
	FailureMessage string // shown on hover of the reason
	Source         string
	Pages          *int
	FieldsFilled   *int
	FieldsDetected *int
	ProcessingMs   *float64
	Credits        *float64
	CreatedAt      time.Time // zero when unknown
	UpdatedAt      time.Time
	// Stuck: still processing past the stuck threshold.
	Stuck bool
	// Selectable offers the row's checkbox for bulk actions.
	Selectable bool
}

// Pager links to neighbouring pages of a cursor-paged list; an empty URL
// disables that direction.
type Pager struct {
	PrevURL  string
	NextURL  string
	FirstURL string // optional "newest" link when not on the first page
	Summary  string // e.g. "25 runs on this page"
}

// RunsPage is the runs list (GET /runs).
type RunsPage struct {
	Base
	Filter RunsFilter
	Rows   []RunListItem
	Pager  Pager
	// Note is an optional informational line above the table, e.g. that
	// history is still syncing or where the list comes from.
	Note string
	// FromHistory: the list reads from Editwatch's history, so the
	// history filters (range, reason, run ID) and counts apply.
	FromHistory bool
	// Counts are the runs by status over the range (history only).
	Counts []StatusCount
	// Stuck flags runs processing past the threshold.
	Stuck StuckRuns
	// Reasons are the failure-reason filter's choices (besides "any"): the
	// documented reasons, then any other seen in history.
	Reasons []ReasonChoice
	// ExportCSV and ExportNDJSON download what the list shows.
	ExportCSV    string
	ExportNDJSON string
}

// ReasonChoice is one option of the runs list's failure-reason filter.
type ReasonChoice struct {
	Value, Label string
}

// StatusCount is how many runs the list shows with one status and the
// other filters kept, with a link there.
type StatusCount struct {
	Status string
	Count  int64
	// Exact is false when counting stopped: at least Count runs match.
	Exact  bool
	URL    string
	Active bool
}

// Display is the count for people: "1,234", or "10,000+" when counting
// stopped.
func (c StatusCount) Display() string {
	s := FormatCount(c.Count)
	if !c.Exact {
		s += "+"
	}
	return s
}

// defaultPageSize is what the size select shows when the URL names none.
const defaultPageSize = 25

func effectivePageSize(n int) int {
	if n <= 0 {
		return defaultPageSize
	}
	return n
}

// pageSizeOptions adds a size from the URL that is not one of PageSizes,
// so the select shows what is really in effect.
func pageSizeOptions(current int) []int {
	current = effectivePageSize(current)
	for _, n := range PageSizes {
		if n == current {
			return PageSizes
		}
	}
	opts := append([]int{current}, PageSizes...)
	slices.Sort(opts)
	return opts
}

func statusCountLabel(status string) string {
	if status == "" {
		return "All"
	}
	return statusLabel(status)
}
