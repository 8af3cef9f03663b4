// Package views holds Editwatch's templ components and the typed view models
// they render. Handlers fill a page model and call Render; nothing here talks
// to the store or to Extend. Every page model embeds Base.
package views

import (
	"fmt"
	"math"
	"time"
)

// Form field names shared by every page and the handlers that read them.
const (
	// CSRFField carries the CSRF token in every POST form.
	CSRFField = "_csrf"
	// ConfirmField is "1" once a person confirmed a destructive action
	// (set by the confirm dialog, or by ConfirmView's form without JS).
	ConfirmField = "confirmed"
)

// ThemeStorageKey is the localStorage key holding "light", "dark" or
// "system"; end-to-end tests may set it before loading a page.
const ThemeStorageKey = "editwatch-theme"

// Theme choices for Base.ThemeDefault.
const (
	ThemeSystem = "system"
	ThemeLight  = "light"
	ThemeDark   = "dark"
)

// Values of Base.NavActive: which top-bar entry is the current page.
const (
	NavRuns    = "runs"
	NavNewRun  = "new"
	NavAudit   = "audit"
	NavConnect = "connect"
)

// DefaultPollInterval is how often PROCESSING rows and panels refresh.
const DefaultPollInterval = 5 * time.Second

// AssetURLs resolves an asset's file name ("app.css") to its hashed URL.
// *static.Assets satisfies it.
type AssetURLs interface {
	URL(name string) string
}

// FlashKind styles a one-time message.
type FlashKind string

// Flash kinds.
const (
	FlashInfo    FlashKind = "info"
	FlashSuccess FlashKind = "success"
	FlashWarning FlashKind = "warning"
	FlashError   FlashKind = "error"
)

// Flash is a one-time message shown under the top bar; empty Message means
// none.
type Flash struct {
	Kind    FlashKind
	Message string
}

// WorkspaceOption is one connected workspace in the header's switcher.
type WorkspaceOption struct {
	ID         string // Extend workspace ID, the value of ?ws=
	Label      string // shown name; ID when empty
	Deployment string // "us", "us2", "eu1" or a custom URL's host
	Current    bool
	SwitchURL  string // where "Open" links on the connect page go
}

// Base is embedded by every page model: what the layout needs.
type Base struct {
	Title    string
	BasePath string // "/" or "/sub/path/"; every URL starts with it
	User     string // identity from the SSO proxy; "" in single-user mode
	// RefreshTo, when set, sends the browser on to this address at once
	// (the signed-out page, to the proxy's sign-out).
	RefreshTo         string
	SingleUserWarning bool // single-user mode on a non-loopback address
	SandboxBanner     bool // data comes from the embedded sandbox
	CSRFToken         string
	CSPNonce          string
	Flash             Flash
	Assets            AssetURLs
	Workspaces        []WorkspaceOption
	CurrentWorkspace  string
	ReadOnly          bool // --read-only: every action is hidden
	CanAct            bool // the role may delete, re-run and create
	ThemeDefault      string
	RequestID         string
	Now               time.Time     // relative times are computed from it
	NavActive         string        // one of the Nav* constants
	PollInterval      time.Duration // 0 means DefaultPollInterval
	// LiveUpdates: pages subscribe to the workspace's event stream (the
	// polling stays as the fallback).
	LiveUpdates bool
	// Alerts: the alerts page exists (the nav links it).
	Alerts bool
	// Upstream is how Extend has been answering lately; the layout shows a
	// banner when it is degraded or rate limiting the workspace.
	Upstream UpstreamStatus
}

// UpstreamStatus is what the layout says about Extend's recent answers.
type UpstreamStatus struct {
	// Degraded: Failed of the last Attempts calls, within Window, were
	// server errors, timeouts or network failures.
	Degraded         bool
	Failed, Attempts int
	Window           time.Duration
	// RateLimited: Extend answered the workspace's latest call with 429.
	RateLimited bool
	// RefreshIn is when Editwatch asks Extend again: the wait Extend asked
	// for when rate limited, else the polling interval.
	RefreshIn time.Duration
}

// degradedSummary is the degraded banner's figures: "3 of the last 8
// calls failed in the last minute".
func (u UpstreamStatus) degradedSummary() string {
	return fmt.Sprintf("%d of the last %d %s failed %s", u.Failed, u.Attempts, plural(u.Attempts == 1, "call", "calls"), formatWindow(u.Window))
}

// refreshText says when data refreshes: "in ~5 s".
func (u UpstreamStatus) refreshText() string {
	if u.RefreshIn <= 0 {
		return "shortly"
	}
	return "in ~" + formatRetryAfter(u.RefreshIn)
}

// formatWindow names a look-back period: "in the last minute", "in the
// last 30 s".
func formatWindow(d time.Duration) string {
	switch {
	case d <= 0:
		return "recently"
	case d == time.Minute:
		return "in the last minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("in the last %d minutes", int(d/time.Minute))
	default:
		return fmt.Sprintf("in the last %d s", int(math.Ceil(d.Seconds())))
	}
}

// MayAct reports whether actions that change something are offered.
func (b Base) MayAct() bool { return b.CanAct && !b.ReadOnly }

// asset resolves an asset URL, falling back to the unhashed path when no
// resolver was set (tests, error pages rendered before wiring).
func (b Base) asset(name string) string {
	if b.Assets != nil {
		return b.Assets.URL(name)
	}
	return joinPath(b.BasePath, "static/"+name)
}

func (b Base) pageTitle() string {
	if b.Title == "" {
		return "Editwatch"
	}
	return b.Title + " · Editwatch"
}

func (b Base) themeDefault() string {
	switch b.ThemeDefault {
	case ThemeLight, ThemeDark:
		return b.ThemeDefault
	}
	return ThemeSystem
}

// htmlClass renders the dark class server side when dark is the default, so
// the page is right even before (or without) the theme script.
func (b Base) htmlClass() string {
	if b.themeDefault() == ThemeDark {
		return "dark"
	}
	return ""
}

// pollTrigger is the hx-trigger value of polling elements. Plain "every Ns":
// bracketed filters would need eval, which the CSP forbids.
func (b Base) pollTrigger() string {
	interval := b.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	secs := int(interval.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return fmt.Sprintf("every %ds", secs)
}

func (b Base) currentWorkspaceLabel() string {
	for _, ws := range b.Workspaces {
		if ws.ID == b.CurrentWorkspace {
			return ws.label()
		}
	}
	return b.CurrentWorkspace
}

func (w WorkspaceOption) label() string {
	if w.Label != "" && w.Label != w.ID {
		return w.Label + " (" + w.ID + ")"
	}
	return w.ID
}

// htmxConfig turns off everything in htmx that would need eval, inline
// scripts or inline styles, and keeps pages with personal data out of
// htmx's localStorage history cache.
//
// responseHandling also swaps 422 answers, so a form re-rendered with its
// validation errors (e.g. "Detect fields") replaces the old one.
const htmxConfig = `{"allowEval":false,"allowScriptTags":false,"includeIndicatorStyles":false,"historyCacheSize":0,"selfRequestsOnly":true,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"422","swap":true},{"code":"[45]..","swap":false,"error":true},{"code":"...","swap":false}]}`

// themeScript runs in <head> before the first paint so a dark choice does
// not flash light. It carries the CSP nonce and reads only localStorage and
// a data attribute.
const themeScript = `(function(){try{var d=document.documentElement,c=localStorage.getItem("` + ThemeStorageKey + `");if(c!=="light"&&c!=="dark"&&c!=="system"){c=d.getAttribute("data-theme-default")||"system"}var k=c==="dark"||(c==="system"&&window.matchMedia&&window.matchMedia("(prefers-color-scheme: dark)").matches);d.classList.toggle("dark",k)}catch(e){}})();`
