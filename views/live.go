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

// LiveRunEvent names the SSE event announcing a change of one run.
func LiveRunEvent(runID string) string { return "run-" + runID }

// liveEventCreated names the SSE event carrying a new-run notice.
const liveEventCreated = "created"

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

// liveTrigger is the hx-trigger of a PROCESSING row or status panel: the
// timer (the fallback, skipped by app.js while the stream is open) and the
// run's own event.
func (b Base) liveTrigger(runID string) string {
	if !b.LiveUpdates {
		return b.pollTrigger()
	}
	return b.pollTrigger() + ", sse:" + LiveRunEvent(runID)
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

// liveRunIDs is the run page's watch list: the run while it processes.
func (p RunPage) liveRunIDs() []string { return []string{p.ID} }

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
