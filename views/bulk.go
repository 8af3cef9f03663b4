package views

import "strconv"

// Bulk actions of the runs list.
const (
	BulkRerun  = "rerun"
	BulkDelete = "delete"
)

// Form fields of a bulk action.
const (
	FieldBulkAction  = "action"
	FieldBulkRun     = "run"          // repeated: the selected run IDs
	FieldBulkAll     = "all"          // "1": every run matching the filter
	FieldSkipFailing = "skip_failing" // "1": leave out runs that will fail again
)

// MaxBulkRuns is the most runs one bulk action takes.
const MaxBulkRuns = 1000

// failsAgain are the failure reasons a re-run with the same file and
// config meets again: only a new file (or a password) changes them.
var failsAgain = map[string]string{
	"FILE_TYPE_NOT_SUPPORTED": "the file type is not supported",
	"PASSWORD_PROTECTED_FILE": "the PDF needs a password the run was not given",
	"CORRUPT_FILE":            "the file is corrupt",
	"FILE_SIZE_TOO_LARGE":     "the file is too large",
}

// FailsAgain reports whether a run that failed with reason fails again
// when re-run unchanged.
func FailsAgain(reason string) bool {
	_, ok := failsAgain[reason]
	return ok
}

// BulkConfirmPage asks to confirm a bulk action before anything runs.
type BulkConfirmPage struct {
	Base
	Action    string // BulkRerun or BulkDelete
	Count     int    // runs the action takes (before leaving any out)
	Capped    bool   // the selection had more than MaxBulkRuns
	Credits   float64
	NoUsage   int // runs with no usage recorded (not in Credits)
	FailAgain int // re-run: runs that failed for a reason that fails again
	// FailAgainWhy names those reasons with their counts.
	FailAgainWhy string
	ActionURL    string
	CancelURL    string
	Hidden       []HiddenField // the selection, re-posted
}

func (p BulkConfirmPage) heading() string {
	if p.Action == BulkDelete {
		return "Delete " + RunsCount(p.Count) + "?"
	}
	return "Re-run " + RunsCount(p.Count) + "?"
}

func (p BulkConfirmPage) confirmLabel() string {
	if p.Action == BulkDelete {
		return "Delete " + RunsCount(p.Count)
	}
	return "Re-run"
}

func (p BulkConfirmPage) creditsText() string {
	s := formatNumber(p.Credits) + " credits"
	if p.NoUsage > 0 {
		s += " (at least: " + RunsCount(p.NoUsage) + " have no usage recorded)"
	}
	return s
}

// RunsCount is "1 run" or "N runs".
func RunsCount(n int) string {
	if n == 1 {
		return "1 run"
	}
	return strconv.Itoa(n) + " runs"
}

// selectAllText offers every run matching the filter, with their number
// when the status counts give it exactly (no filter beyond status and
// period).
func (p RunsPage) selectAllText() string {
	f := p.Filter
	if f.Source == "" && f.FileNameContains == "" && f.Reason == "" && f.RunIDPrefix == "" && !f.Stuck {
		for _, c := range p.Counts {
			if c.Status == f.Status {
				return "Select all " + strconv.FormatInt(c.Count, 10) + " matching the filter"
			}
		}
	}
	return "Select all runs matching the filter"
}

// RunsBulkURL is the bulk action of the runs list; the filter rides along
// for "select all matching".
func RunsBulkURL(basePath, ws string, f RunsFilter) string {
	q := f.Query()
	if ws != "" {
		q.Set(ParamWorkspace, ws)
	}
	return withQuery(joinPath(basePath, RouteRunsBulk), q)
}

// RouteRunsBulk is POST: a bulk re-run or delete, confirmed first.
const RouteRunsBulk = "runs/bulk"
