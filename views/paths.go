package views

import (
	"net/url"
	"strconv"
	"strings"
)

// Query parameters the pages put in URLs and handlers read back.
const (
	ParamWorkspace = "ws"     // the workspace a run or list belongs to
	ParamStatus    = "status" // runs: PROCESSING, PROCESSED, FAILED
	ParamSource    = "source" // runs: opaque source value
	ParamFileName  = "q"      // runs: file name contains
	ParamSort      = "sort"   // runs: createdAt or updatedAt
	ParamDir       = "dir"    // runs: asc or desc
	ParamPageSize  = "size"   // runs: page size
	ParamCursor    = "cursor" // runs and audit: the page token
	ParamField     = "field"  // reveal: which value (a RevealKey)
	ParamActor     = "actor"  // audit
	ParamAction    = "action" // audit
	ParamTarget    = "target" // audit
	ParamSince     = "since"  // audit: YYYY-MM-DD (UTC)
	ParamUntil     = "until"  // audit: YYYY-MM-DD (UTC), inclusive
	ParamNext      = "next"   // connect: the page to return to afterwards
)

// Form fields of the connect and new-run pages.
const (
	FieldAPIKey       = "api_key"
	FieldWorkspaceID  = "workspace_id"
	FieldDeployment   = "deployment"
	FieldInput        = "input" // new run: InputUpload, InputURL or InputTemplate
	FieldFile         = "file"  // new run: the uploaded PDF (multipart)
	FieldFileID       = "file_id"
	FieldFileName     = "file_name"
	FieldFileURL      = "file_url"
	FieldTemplateID   = "template_id"
	FieldSchema       = "schema"
	FieldInstructions = "instructions"
)

// Route paths relative to the base path, in Echo syntax, for handlers to register. :id is
// the run ID.
const (
	RouteRuns       = "runs"
	RouteRun        = "runs/:id"
	RouteRunRow     = "runs/:id/row"      // GET: RunRow alone (polling)
	RouteRunStatus  = "runs/:id/status"   // GET: RunStatusPanel alone (polling)
	RouteDownload   = "runs/:id/download" // GET: redirect to a fresh presigned URL
	RouteReveal     = "runs/:id/reveal"   // POST field=<RevealKey>
	RouteRerun      = "runs/:id/rerun"    // POST
	RouteDelete     = "runs/:id/delete"   // POST confirmed=1
	RouteRunGone    = "runs/:id/gone"     // POST: mark a run Extend answers 404 for gone in history
	RouteDismiss    = "runs/:id/dismiss"  // POST: take a stuck run off the stuck-runs list
	RouteNewRun     = "runs/new"          // GET form, POST create (multipart)
	RouteDetect     = "runs/new/detect"   // POST: the form again, schema detected
	RouteAudit      = "audit"
	RouteConnect    = "connect"    // GET form, POST connect
	RouteDisconnect = "disconnect" // POST ws=<workspace>
	RouteSignOut    = "signout"    // POST: ends the session; GET: on to the proxy's sign-out
)

// RouteWebhookPrefix starts the path Extend delivers webhooks to:
// <base>webhooks/extend/<endpoint ID>.
const RouteWebhookPrefix = "webhooks/extend/"

// WebhookURL is where Extend posts endpointID's deliveries to a dashboard
// reached at dashboardURL (base path included).
func WebhookURL(dashboardURL, endpointID string) string {
	return strings.TrimRight(dashboardURL, "/") + "/" + RouteWebhookPrefix + endpointID
}

// joinPath prefixes p with the base path, which may come with or without
// its slashes.
func joinPath(basePath, p string) string {
	base := "/" + strings.Trim(basePath, "/") + "/"
	if base == "//" {
		base = "/"
	}
	return base + strings.TrimPrefix(p, "/")
}

func withQuery(p string, q url.Values) string {
	if enc := q.Encode(); enc != "" {
		return p + "?" + enc
	}
	return p
}

func wsQuery(ws string) url.Values {
	q := url.Values{}
	if ws != "" {
		q.Set(ParamWorkspace, ws)
	}
	return q
}

func runPath(basePath, id, suffix string) string {
	return joinPath(basePath, "runs/"+url.PathEscape(id)+suffix)
}

// RunURL links to a run's page in its workspace: /runs/:id?ws=….
func RunURL(basePath, ws, id string) string {
	return withQuery(runPath(basePath, id, ""), wsQuery(ws))
}

// RunRowURL is the polling URL of a runs-table row.
func RunRowURL(basePath, ws, id string) string {
	return withQuery(runPath(basePath, id, "/row"), wsQuery(ws))
}

// RunStatusURL is the polling URL of a run page's status panel.
func RunStatusURL(basePath, ws, id string) string {
	return withQuery(runPath(basePath, id, "/status"), wsQuery(ws))
}

// RunDownloadURL asks for a fresh presigned URL and redirects to it.
func RunDownloadURL(basePath, ws, id string) string {
	return withQuery(runPath(basePath, id, "/download"), wsQuery(ws))
}

// RouteRunFile (GET) streams a run's input or edited PDF (FileInput,
// FileEdited) through the dashboard.
const RouteRunFile = "runs/:id/file/:kind"

// Kinds of a run's file in RouteRunFile.
const (
	FileInput  = "input"
	FileEdited = "edited"
)

// RunFileURL streams a run's input or edited PDF (FileInput, FileEdited)
// through the dashboard, for the browser's viewer.
func RunFileURL(basePath, ws, id, kind string) string {
	return withQuery(runPath(basePath, id, "/file/"+url.PathEscape(kind)), wsQuery(ws))
}

// RunRevealURL is where a reveal form posts.
func RunRevealURL(basePath, ws, id string) string {
	return withQuery(runPath(basePath, id, "/reveal"), wsQuery(ws))
}

// RunRerunURL is where the re-run form posts.
func RunRerunURL(basePath, ws, id string) string {
	return withQuery(runPath(basePath, id, "/rerun"), wsQuery(ws))
}

// RunDeleteURL is where the delete form posts.
func RunDeleteURL(basePath, ws, id string) string {
	return withQuery(runPath(basePath, id, "/delete"), wsQuery(ws))
}

// RunGoneURL marks a run Extend no longer has gone in history.
func RunGoneURL(basePath, ws, id string) string {
	return withQuery(runPath(basePath, id, "/gone"), wsQuery(ws))
}

// RunDismissURL takes a stuck run off the stuck-runs list.
func RunDismissURL(basePath, ws, id string) string {
	return withQuery(runPath(basePath, id, "/dismiss"), wsQuery(ws))
}

// NewRunURL is the new-run form of a workspace.
func NewRunURL(basePath, ws string) string {
	return withQuery(joinPath(basePath, RouteNewRun), wsQuery(ws))
}

// DetectFieldsURL is where "Detect fields" posts.
func DetectFieldsURL(basePath, ws string) string {
	return withQuery(joinPath(basePath, RouteDetect), wsQuery(ws))
}

// ConnectURL is the connect page; workspaceID pre-fills its field.
func ConnectURL(basePath, workspaceID string) string {
	return ConnectURLNext(basePath, workspaceID, "")
}

// ConnectURLNext is ConnectURL that comes back to next (a path under the
// base path, sanitized by the handler) after connecting.
func ConnectURLNext(basePath, workspaceID, next string) string {
	q := url.Values{}
	if workspaceID != "" {
		q.Set(FieldWorkspaceID, workspaceID)
	}
	if next != "" {
		q.Set(ParamNext, next)
	}
	return withQuery(joinPath(basePath, RouteConnect), q)
}

// DisconnectURL is where disconnect forms post.
func DisconnectURL(basePath string) string { return joinPath(basePath, RouteDisconnect) }

// SignOutURL is the sign-out form's action.
func SignOutURL(basePath string) string { return joinPath(basePath, RouteSignOut) }

// AuditURL is the audit log with a filter and cursor.
func AuditURL(basePath string, f AuditFilter, cursor string) string {
	q := f.Query()
	if cursor != "" {
		q.Set(ParamCursor, cursor)
	}
	return withQuery(joinPath(basePath, RouteAudit), q)
}

// RunsURL is the runs list of a workspace with a filter and cursor; zero
// fields are left out so URLs stay short.
func RunsURL(basePath, ws string, f RunsFilter, cursor string) string {
	q := f.Query()
	if ws != "" {
		q.Set(ParamWorkspace, ws)
	}
	if cursor != "" {
		q.Set(ParamCursor, cursor)
	}
	return withQuery(joinPath(basePath, RouteRuns), q)
}

// Query encodes the filter's non-default values.
func (f RunsFilter) Query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set(ParamStatus, f.Status)
	set(ParamSource, f.Source)
	set(ParamFileName, f.FileNameContains)
	set(ParamSort, f.SortBy)
	set(ParamDir, f.SortDir)
	if f.PageSize > 0 {
		q.Set(ParamPageSize, strconv.Itoa(f.PageSize))
	}
	f.Range.addTo(q)
	set(ParamReason, f.Reason)
	set(ParamRunID, f.RunIDPrefix)
	if f.Stuck {
		q.Set(ParamStuck, "1")
	}
	return q
}

// Query encodes the filter's non-empty values.
func (f AuditFilter) Query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{
		ParamActor: f.Actor, ParamAction: f.Action, ParamTarget: f.Target,
		ParamSince: f.Since, ParamUntil: f.Until,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}
