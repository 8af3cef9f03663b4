package views

import (
	"fmt"
	"strings"
	"time"
)

// Routes of the alerts page.
const (
	RouteAlerts        = "alerts"         // GET ?ws=: the workspace's rules, what fired, the delivery log
	RouteAlertsSilence = "alerts/silence" // POST ?ws= rule, for, reason (for=0 lifts the silence)
	RouteAlertsTest    = "alerts/test"    // POST ?ws= rule: a test notification to the rule's channels
	// Rules and channels made on the page (those who may act).
	RouteAlertRules          = "alerts/rules"           // POST ?ws= spec: create or replace a rule (YAML)
	RouteAlertRuleChange     = "alerts/rules/change"    // POST ?ws= rule, change=enable|disable|delete
	RouteAlertChannels       = "alerts/channels"        // POST ?ws= name, type, url, to, secret
	RouteAlertChannelsDelete = "alerts/channels/delete" // POST ?ws= name
)

// Changes of a page rule (RouteAlertRuleChange).
const (
	AlertRuleEnable  = "enable"
	AlertRuleDisable = "disable"
	AlertRuleDelete  = "delete"
)

// AlertChannelView is one channel, its URL and secret never shown.
type AlertChannelView struct {
	Name, Type, Origin string
	// Target is where it goes, without secrets: the recipients of an
	// e-mail channel, the scheme and host of a URL.
	Target    string
	Signed    bool
	Deletable bool
}

// NavAlerts marks the alerts page in the header.
const NavAlerts = "alerts"

// AlertsURL is the alerts page of a workspace.
func AlertsURL(basePath, ws string) string {
	return withQuery(joinPath(basePath, RouteAlerts), wsQuery(ws))
}

// ParamAlertEdit names the page-made rule whose YAML the rule form opens
// with, to edit it.
const ParamAlertEdit = "edit"

// AlertEditURL opens the alerts page with rule's YAML in the rule form.
func AlertEditURL(basePath, ws, rule string) string {
	q := wsQuery(ws)
	q.Set(ParamAlertEdit, rule)
	return withQuery(joinPath(basePath, RouteAlerts), q) + "#rule-form-title"
}

// AlertsActionURL is where an alerts form posts.
func AlertsActionURL(basePath, route, ws string) string {
	return withQuery(joinPath(basePath, route), wsQuery(ws))
}

// AlertsPage is the alerts of one workspace.
type AlertsPage struct {
	Base
	Workspace string
	Interval  time.Duration
	Rules     []AlertRuleView
	Events    []AlertEventView
	Log       []AlertDeliveryView
	Channels  []AlertChannelView
	// NoRulesFile: no --alert-rules was given.
	NoRulesFile bool
	// Kinds are the rule kinds, for the form's hint.
	Kinds []string
	// EditName and EditSpec: the page-made rule the form opens with
	// (?edit=name); saving it under the same name replaces it.
	EditName, EditSpec string
	Now                time.Time
}

// AlertRuleView is one rule and where it stands.
type AlertRuleView struct {
	Name, Kind, Condition string
	Origin                string // "from file" or "from the settings page"
	Enabled               bool
	Status                string // ok, pending, firing
	Since                 time.Time
	Value                 string
	Notify                string
	SilencedUntil         time.Time
	SilencedBy, Why       string
	RunsURL               string
	// FromPage: made on this page, so it may be changed here; Spec is
	// its YAML.
	FromPage bool
	Spec     string
	// Blind says what the rule cannot see (stuck and silence without the
	// shared poll).
	Blind string
}

// Silenced reports whether the rule is silenced at now.
func (r AlertRuleView) Silenced(now time.Time) bool { return now.Before(r.SilencedUntil) }

// AlertEventView is one stored state change.
type AlertEventView struct {
	Rule, Status, Actor, Detail string
	At                          time.Time
	// Lasted: for a resolution, how long the firing lasted.
	Lasted time.Duration
}

// AlertDeliveryView is one line of the delivery log.
type AlertDeliveryView struct {
	ID, Rule, Channel, Kind, Outcome, Error string
	At                                      time.Time
	Attempts                                int
}

func formatLasted(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return d.Round(time.Minute).String()
}

// AlertRuleExample fills the new-rule form.
const AlertRuleExample = "name: failure-spike\nkind: failure_rate\nabove: 0.2\nmin_runs: 5\nwindow: 5m\nnotify: [ops-hook]\n"

func (p AlertsPage) kindsList() string { return strings.Join(p.Kinds, ", ") }
