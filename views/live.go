package views

import (
	"strconv"
	"time"
)

// Routes of history and live updates, relative to the base path.
const (
	RouteEvents            = "events"                      // GET: Server-Sent Events of a workspace
	RouteSettings          = "settings"                    // GET: the workspace's settings
	RouteSettingsLive      = "settings/live"               // POST: enable live updates (register an endpoint)
	RouteSettingsEndpoints = "settings/endpoints"          // POST: add an endpoint made in Extend's dashboard
	RouteServiceKey        = "settings/service-key"        // POST: set the service key
	RouteServiceKeyRevoke  = "settings/service-key/revoke" // POST: revoke it
	RouteDeliveries        = "settings/deliveries"         // GET: webhook deliveries
	RouteSync              = "settings/sync"               // GET progress partial, POST start a backfill
)

// Parameters and fields of the live pages.
const (
	ParamRun             = "run"    // events: a run to watch (repeatable)
	ParamBefore          = "before" // deliveries: cursor
	FieldWebhookSecret   = "signing_secret"
	FieldWebhookExtendID = "extend_id"
	FieldServiceKey      = "service_key"
)

// NavSettings marks the settings and deliveries pages in the header.
const NavSettings = "settings"

// LiveRunEvent names the SSE event announcing a change of one run (JSON,
// for scripts).
func LiveRunEvent(runID string) string { return "run-" + runID }

// LiveRowEvent names the SSE event carrying a run's runs-table row,
// rendered by the server for that stream; the row swaps itself with it.
func LiveRowEvent(runID string) string { return "row-" + runID }

// LiveStatusEvent names the SSE event carrying a run page's status panel.
func LiveStatusEvent(runID string) string { return "status-" + runID }

// LiveEventCreated names the SSE event carrying the row of a run new to
// the workspace that matches the list's filters.
const LiveEventCreated = "created"

// LiveEventDeleted names the SSE event carrying the ID of a run deleted
// (in Editwatch or found gone in Extend): a runs list showing it drops
// its row (app.js), whatever its status.
const LiveEventDeleted = "deleted"

// What an event stream renders its fragments for (ParamLiveView).
const (
	LiveViewRuns = "runs" // a runs list: rows, new rows
	LiveViewRun  = "run"  // a run page: its status panel
)

// runStatusBadgeID is the run page header's status badge, which live
// updates replace.
const runStatusBadgeID = "run-status-badge"

// ParamLiveView names the page an event stream serves.
const ParamLiveView = "view"

// ParamLiveRunPrefix carries a runs list's run-ID prefix filter on its
// event stream, where "run" names the runs to watch.
const ParamLiveRunPrefix = "run_prefix"

// RunsEventsURL is the runs list's event stream: it watches the rows
// still processing and sends new runs that match the list's filter.
func RunsEventsURL(basePath, ws string, f RunsFilter, runs []string) string {
	q := f.Query()
	q.Del(ParamRunID)
	if f.RunIDPrefix != "" {
		q.Set(ParamLiveRunPrefix, f.RunIDPrefix)
	}
	q.Set(ParamWorkspace, ws)
	q.Set(ParamLiveView, LiveViewRuns)
	for _, id := range runs {
		q.Add(ParamRun, id)
	}
	return withQuery(joinPath(basePath, RouteEvents), q)
}

// RunEventsURL is a run page's event stream, watching that run.
func RunEventsURL(basePath, ws, runID string) string {
	q := wsQuery(ws)
	q.Set(ParamLiveView, LiveViewRun)
	q.Add(ParamRun, runID)
	return withQuery(joinPath(basePath, RouteEvents), q)
}

// EventsURL is a workspace's event stream, watching runs (those still
// processing on the page).
func EventsURL(basePath, ws string, runs []string) string {
	q := wsQuery(ws)
	for _, id := range runs {
		q.Add(ParamRun, id)
	}
	return withQuery(joinPath(basePath, RouteEvents), q)
}

// SettingsURL is a workspace's settings page.
func SettingsURL(basePath, ws string) string {
	return withQuery(joinPath(basePath, RouteSettings), wsQuery(ws))
}

// SettingsActionURL is where a settings form posts (a Route* above).
func SettingsActionURL(basePath, route, ws string) string {
	return withQuery(joinPath(basePath, route), wsQuery(ws))
}

// DeliveriesURL lists a workspace's webhook deliveries before a cursor.
func DeliveriesURL(basePath, ws string, before int64) string {
	q := wsQuery(ws)
	if before > 0 {
		q.Set(ParamBefore, strconv.FormatInt(before, 10))
	}
	return withQuery(joinPath(basePath, RouteDeliveries), q)
}

// liveSwap is the sse-swap of a PROCESSING row or status panel: the event
// whose data replaces it (none without live updates). Its hx-trigger is
// the timer alone, the fallback that app.js pauses while the stream is
// open.
func (b Base) liveSwap(event string) string {
	if !b.LiveUpdates {
		return ""
	}
	return event
}

// livePaged: new runs do not go at the top of this list (a later page, or
// oldest first) but only count in its "N new runs" bar.
func (p RunsPage) livePaged() bool {
	return p.Pager.PrevURL != "" || p.Filter.SortDir == DirAsc
}

// processingRunIDs are the runs of the page the stream should watch.
func (p RunsPage) processingRunIDs() []string {
	var ids []string
	for _, r := range p.Rows {
		if r.Status == StatusProcessing {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// WebhookEndpointView is one webhook endpoint on the settings page.
type WebhookEndpointView struct {
	ID             string
	ExtendID       string
	URL            string // where Extend delivers
	Origin         string // registered, pasted, sandbox
	Status         string // pending, enabled, disabled
	SecretHints    []string
	CreatedBy      string
	CreatedAt      time.Time
	LastDeliveryAt time.Time
}

// ServiceKeyView describes the workspace's service key, if any.
type ServiceKeyView struct {
	Fingerprint string
	SetBy       string
	SetAt       time.Time
}

// SyncView is a backfill's progress.
type SyncView struct {
	Running  bool
	Pages    int
	Seen     int
	New      int
	Started  time.Time
	Finished time.Time
	Outcome  string // how it ended
	Failed   bool
	SyncedAt time.Time // when the last complete sync ended (zero: never)
}

// SettingsPage is a workspace's settings (GET /settings?ws=).
type SettingsPage struct {
	Base
	Workspace     string
	Tenant        string
	PublicURL     string // "" : --public-url is not set
	Sandbox       bool
	Endpoints     []WebhookEndpointView
	PastedURL     string // the URL to give an endpoint just added by pasting its secret
	ServiceKey    *ServiceKeyView
	Sync          SyncView
	HistorySince  time.Time
	DeliveriesURL string
}

// DeliveryView is one webhook delivery.
type DeliveryView struct {
	ID         int64
	EndpointID string
	EventID    string
	EventType  string
	RunID      string
	ReceivedAt time.Time
	Verified   bool
	Error      string
	Deliveries int64
	AppliedAt  time.Time
	Outcome    string
}

// DeliveriesPage lists what arrived at the workspace's endpoints.
type DeliveriesPage struct {
	Base
	Workspace  string
	Deliveries []DeliveryView
	NextURL    string
	FirstURL   string
}

func syncURL(basePath, ws string) string {
	return SettingsActionURL(basePath, RouteSync, ws)
}

func runLink(basePath, ws, id string) string { return RunURL(basePath, ws, id) }
