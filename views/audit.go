package views

import "time"

// AuditActions are the actions the audit log records, for the filter.
var AuditActions = []string{"connect", "disconnect", "create", "rerun", "delete", "download", "view", "reveal", "silence", "unsilence", "alert-test", "alert-rule", "alert-channel"}

// AuditFilter is the audit page's state, all of it in the URL.
type AuditFilter struct {
	Actor  string
	Action string
	Target string
	Since  string // YYYY-MM-DD, UTC
	Until  string // YYYY-MM-DD, UTC, inclusive
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	At        time.Time
	Actor     string
	Action    string
	Target    string // a run ID, a workspace, a field path…
	Workspace string // links run targets to their run page
	Detail    string
	RequestID string
}

// AuditPage is the audit log (GET /audit).
type AuditPage struct {
	Base
	Filter  AuditFilter
	Actions []string // AuditActions when empty
	Entries []AuditEntry
	Pager   Pager
}

func (p AuditPage) actions() []string {
	if len(p.Actions) == 0 {
		return AuditActions
	}
	return p.Actions
}

func auditActionClass(action string) string {
	switch action {
	case "delete":
		return "bg-red-50 text-red-800 dark:bg-red-950/60 dark:text-red-300"
	case "reveal", "download":
		return "bg-amber-50 text-amber-800 dark:bg-amber-950/60 dark:text-amber-300"
	case "create", "rerun":
		return "bg-indigo-50 text-indigo-800 dark:bg-indigo-950/60 dark:text-indigo-300"
	}
	return "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300"
}
