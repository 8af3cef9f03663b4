package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/alerts"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// Audit actions of the alerts page.
const (
	auditSilence   = "silence"
	auditUnsilence = "unsilence"
	auditAlertTest = "alert-test"
	// Rules and channels made on the page.
	auditAlertRule    = "alert-rule"
	auditAlertChannel = "alert-channel"
)

// Bounds of the alerts page.
const (
	alertsHistoryRows = 50
	maxSilence        = 30 * 24 * time.Hour
	maxSilenceReason  = 200
)

// workspaceRules are the rules in force (file and page) and those
// watching the connected workspace.
func (a *dashboard) workspaceRules(c echo.Context, tenant string) (alerts.Rules, []alerts.Rule, error) {
	all, err := a.Alerts.AllRules(c.Request().Context())
	if err != nil {
		return all, nil, err
	}
	var out []alerts.Rule
	for _, r := range all.Rules {
		if r.Tenant() == tenant {
			out = append(out, r)
		}
	}
	return all, out, nil
}

// alertsPage is GET /alerts?ws=: the workspace's rules and where they
// stand, what fired, and the delivery log. Everyone granted the workspace
// sees it; the forms are for those who may act.
func (a *dashboard) alertsPage(c echo.Context) error {
	conn, _, err := a.settingsTarget(c)
	if errors.Is(err, errNoConnection) {
		return a.toConnect(c)
	}
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	b, err := a.base(c, "Alerts", views.NavAlerts)
	if err != nil {
		return err
	}
	now := a.Store.Now()
	page := views.AlertsPage{Base: b, Workspace: conn.Ref(), Interval: a.Alerts.Interval(), Now: now, Kinds: alerts.Kinds}
	all, rules, err := a.workspaceRules(c, conn.Tenant)
	if err != nil {
		return err
	}
	page.NoRulesFile = len(a.Alerts.Rules().Rules) == 0
	specs := map[string]string{}
	if pageRules, err := a.Store.AlertPageRules(ctx); err == nil {
		for _, pr := range pageRules {
			specs[pr.Name] = pr.Spec
		}
	}
	for _, ch := range all.Channels {
		if ch.Tenant != "" && ch.Tenant != conn.Tenant {
			continue
		}
		v := views.AlertChannelView{Name: ch.Name, Type: ch.Type, Origin: "from file", Target: channelTarget(ch), Signed: ch.Secret != ""}
		if ch.Origin == alerts.FromPage {
			v.Origin, v.Deletable = "from this page", true
		}
		page.Channels = append(page.Channels, v)
	}
	states, err := a.Store.AlertStates(ctx)
	if err != nil {
		return err
	}
	withServiceKey, err := a.Store.ServiceKeyTenants(ctx)
	if err != nil {
		return err
	}
	mine := map[string]bool{}
	for _, r := range rules {
		mine[r.Name] = true
		st := states[r.Name]
		v := views.AlertRuleView{Name: r.Name, Kind: r.Kind, Condition: describeRule(r), Origin: "from file", Enabled: r.Enabled,
			FromPage: r.Origin == alerts.FromPage, Spec: specs[r.Name],
			Status: orDefault(st.Status, store.AlertOK), Notify: strings.Join(r.Notify, ", "),
			SilencedUntil: st.SilencedUntil, SilencedBy: st.SilencedBy, Why: st.SilenceReason,
			RunsURL: alerts.RunsLink(strings.TrimSuffix(a.BasePath, "/"), r, ruleLinkScope(r), now)}
		if v.FromPage {
			v.Origin = "from this page"
		}
		switch st.Status {
		case store.AlertFiring:
			v.Since = st.FiredAt
		case store.AlertPending:
			v.Since = st.PendingSince
		}
		if st.Status != "" {
			v.Value = formatAlertValue(r, st.Value)
		}
		if (r.Kind == alerts.KindStuck || r.Kind == alerts.KindSilence) && !slices.Contains(withServiceKey, r.Tenant()) {
			v.Blind = "This workspace has no service key, so runs started outside Editwatch reach history only when their webhook arrives (when they finish) or while someone watches the workspace. Store a service key in Settings and Editwatch polls the workspace's newest runs for this rule."
		}
		page.Rules = append(page.Rules, v)
		if v.FromPage && page.CanAct && r.Name == c.QueryParam(views.ParamAlertEdit) {
			page.EditName, page.EditSpec = r.Name, v.Spec
		}
	}
	events, err := a.Store.AlertEvents(ctx, "", 500)
	if err != nil {
		return err
	}
	fired := map[string]time.Time{}
	for i := len(events) - 1; i >= 0; i-- { // oldest first, to pair firings with resolutions
		if e := events[i]; e.Status == store.AlertFiring {
			fired[e.FiringID] = e.At
		}
	}
	for _, e := range events {
		if e.Tenant != conn.Tenant || !mine[e.Rule] || len(page.Events) >= alertsHistoryRows {
			continue
		}
		ev := views.AlertEventView{Rule: e.Rule, Status: e.Status, Actor: e.Actor, Detail: e.Detail, At: e.At}
		if start, ok := fired[e.FiringID]; ok && e.Status == store.AlertResolved {
			ev.Lasted = e.At.Sub(start)
		}
		page.Events = append(page.Events, ev)
	}
	log, err := a.Store.AlertNotifications(ctx, "", 500)
	if err != nil {
		return err
	}
	for _, n := range log {
		if !mine[n.Rule] || len(page.Log) >= alertsHistoryRows {
			continue
		}
		d := views.AlertDeliveryView{ID: n.ID, Rule: n.Rule, Channel: n.Channel, Kind: n.Kind, At: n.CreatedAt, Attempts: n.Attempts, Error: n.LastError}
		switch {
		case !n.SentAt.IsZero():
			d.Outcome = "sent"
		case !n.GaveUpAt.IsZero():
			d.Outcome = "gave up"
		default:
			d.Outcome = "retrying"
		}
		page.Log = append(page.Log, d)
	}
	return a.render(c, http.StatusOK, views.AlertsView(page))
}

// ruleLinkScope narrows a rule's runs link as its notifications do.
func ruleLinkScope(r alerts.Rule) alerts.Measurement {
	var m alerts.Measurement
	switch r.Kind {
	case alerts.KindFailureRate:
		m.Status = store.StatusFailed
		if len(r.Reasons) == 1 {
			m.Reason = r.Reasons[0]
		}
	case alerts.KindReason:
		m.Status, m.Reason = store.StatusFailed, r.Reason
	case alerts.KindStuck:
		m.Stuck = true
	case alerts.KindSlow:
		m.Status = store.StatusProcessed
	}
	return m
}

func describeRule(r alerts.Rule) string {
	switch r.Kind {
	case alerts.KindFailureRate:
		s := fmt.Sprintf("more than %.0f%% of at least %d finished runs failed in %s", 100*r.Above, r.MinRuns, r.Window)
		if len(r.Reasons) > 0 {
			s += " (" + strings.Join(r.Reasons, ", ") + ")"
		}
		return s
	case alerts.KindReason:
		return fmt.Sprintf("at least %d runs failed with %s in %s", r.AtLeast, r.Reason, r.Window)
	case alerts.KindStuck:
		if r.LongerThan > 0 {
			return fmt.Sprintf("a run processing for longer than %s", r.LongerThan)
		}
		return "a run processing past the stuck threshold"
	case alerts.KindSlow:
		return fmt.Sprintf("p95 processing time above %s over %s", time.Duration(r.Above)*time.Millisecond, r.Window)
	case alerts.KindSilence:
		s := fmt.Sprintf("no run seen for %s", r.Window)
		if h := r.Hours.String(); h != "" {
			s += " between " + h + " h UTC"
		}
		return s
	case alerts.KindCredits:
		return fmt.Sprintf("more than %.0f credits spent in %s", r.Above, r.Window)
	}
	return r.Kind
}

func formatAlertValue(r alerts.Rule, v float64) string {
	switch r.Kind {
	case alerts.KindFailureRate:
		return fmt.Sprintf("%.0f%%", 100*v)
	case alerts.KindSlow:
		return (time.Duration(v) * time.Millisecond).String()
	case alerts.KindSilence:
		return (time.Duration(v) * time.Second).String()
	case alerts.KindCredits:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// alertRuleTarget reads the rule a form names, among the workspace's.
func (a *dashboard) alertRuleTarget(c echo.Context) (connection, alerts.Rule, error) {
	conn, _, err := a.settingsTarget(c)
	if err != nil {
		return conn, alerts.Rule{}, err
	}
	name := c.FormValue("rule")
	_, rules, err := a.workspaceRules(c, conn.Tenant)
	if err != nil {
		return conn, alerts.Rule{}, err
	}
	for _, r := range rules {
		if r.Name == name {
			return conn, r, nil
		}
	}
	return conn, alerts.Rule{}, &PageError{Status: http.StatusNotFound, Heading: "No such alert rule",
		Explanation: fmt.Sprintf("This workspace has no alert rule named %q.", clipField(name)), Category: "not-found"}
}

// silenceAlert is POST /alerts/silence?ws=: silence a rule for a while
// (for=0 lifts it), naming why; audited.
func (a *dashboard) silenceAlert(c echo.Context) error {
	conn, r, err := a.alertRuleTarget(c)
	if err != nil {
		return err
	}
	back := views.AlertsURL(a.BasePath, conn.Ref())
	d, perr := time.ParseDuration(c.FormValue("for"))
	why := strings.TrimSpace(c.FormValue("reason"))
	if perr != nil || d < 0 || d > maxSilence || len(why) > maxSilenceReason || (d > 0 && why == "") {
		if err := a.setFlash(c, views.FlashError, "Silence a rule for up to 30 days (for example 4h), and say why."); err != nil {
			return err
		}
		return redirect(c, back)
	}
	var until time.Time
	action, msg := auditUnsilence, "The silence of "+r.Name+" is lifted."
	if d > 0 {
		until = a.Store.Now().Add(d)
		action, msg = auditSilence, fmt.Sprintf("%s is silenced until %s UTC.", r.Name, until.UTC().Format("2006-01-02 15:04"))
	}
	if err := a.Store.SilenceAlert(c.Request().Context(), r.Name, r.Tenant(), until, actorOf(c), why); err != nil {
		return err
	}
	if err := a.audit(c, action, conn.Tenant, r.Name, why); err != nil {
		return err
	}
	if err := a.setFlash(c, views.FlashSuccess, msg); err != nil {
		return err
	}
	return redirect(c, back)
}

// testAlert is POST /alerts/test?ws=: a test notification to each of a
// rule's channels, now; audited. The flash says how each went.
func (a *dashboard) testAlert(c echo.Context) error {
	conn, r, err := a.alertRuleTarget(c)
	if err != nil {
		return err
	}
	rules, err := a.Alerts.AllRules(c.Request().Context())
	if err != nil {
		return err
	}
	var failed []string
	for _, name := range r.Notify {
		ch, ok := rules.ChannelFor(r, name)
		if !ok {
			continue
		}
		if err := a.Alerts.SendTest(c.Request().Context(), ch, r); err != nil {
			a.Logger.Warn("alerts: test notification failed", "rule", r.Name, "channel", ch, "err", err)
			failed = append(failed, err.Error())
		}
	}
	if err := a.audit(c, auditAlertTest, conn.Tenant, r.Name, strings.Join(r.Notify, ",")); err != nil {
		return err
	}
	kind, msg := views.FlashSuccess, "A test notification went to "+strings.Join(r.Notify, ", ")+"."
	if len(failed) > 0 {
		kind, msg = views.FlashError, "The test notification was not delivered: "+strings.Join(failed, "; ")
	}
	if err := a.setFlash(c, kind, msg); err != nil {
		return err
	}
	return redirect(c, views.AlertsURL(a.BasePath, conn.Ref()))
}

// channelTarget says where a channel goes without its secrets: the
// recipients, or the URL's scheme and host.
func channelTarget(ch alerts.Channel) string {
	if ch.Type == alerts.ChannelEmail {
		return strings.Join(ch.To, ", ")
	}
	u, err := url.Parse(ch.URL)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// alertFlashBack sets a flash and goes back to the alerts page.
func (a *dashboard) alertFlashBack(c echo.Context, conn connection, kind views.FlashKind, msg string) error {
	if err := a.setFlash(c, kind, msg); err != nil {
		return err
	}
	return redirect(c, views.AlertsURL(a.BasePath, conn.Ref()))
}

// saveAlertRule is POST /alerts/rules?ws=: create or replace a rule of
// this workspace, given in the rules file's YAML form; audited.
func (a *dashboard) saveAlertRule(c echo.Context) error {
	conn, _, err := a.settingsTarget(c)
	if err != nil {
		return err
	}
	spec := strings.TrimSpace(c.FormValue("spec"))
	deployment, workspace := store.TenantParts(conn.Tenant)
	r, perr := alerts.ParseRuleYAML(spec, deployment, workspace)
	switch {
	case len(spec) > 4000:
		perr = errors.New("the rule is longer than 4,000 characters")
	case perr == nil && r.Tenant() != conn.Tenant:
		perr = fmt.Errorf("a rule made here watches this workspace (%s); leave deployment and workspace out", workspace)
	}
	all, _, err := a.workspaceRules(c, conn.Tenant)
	if err != nil {
		return err
	}
	if perr == nil {
		if fr, taken := a.Alerts.Rules().Rule(r.Name); taken {
			perr = fmt.Errorf("the rules file already has a rule named %q (line %d): choose another name", r.Name, fr.Line)
		}
		for _, name := range r.Notify {
			if _, ok := all.ChannelFor(r, name); !ok && perr == nil {
				perr = fmt.Errorf("notify: there is no channel %q for this workspace: add it under Channels first", name)
			}
		}
	}
	if perr != nil {
		return a.alertFlashBack(c, conn, views.FlashError, "The rule was not saved: "+perr.Error())
	}
	err = a.Store.PutAlertRule(c.Request().Context(), store.AlertPageRule{Name: r.Name, Tenant: conn.Tenant, Spec: spec,
		Enabled: r.Enabled, UpdatedBy: actorOf(c)})
	if errors.Is(err, store.ErrAlertNameTaken) {
		return a.alertFlashBack(c, conn, views.FlashError, fmt.Sprintf("The rule was not saved: another workspace has a rule named %q.", r.Name))
	}
	if err != nil {
		return err
	}
	if err := a.audit(c, auditAlertRule, conn.Tenant, r.Name, "saved"); err != nil {
		return err
	}
	return a.alertFlashBack(c, conn, views.FlashSuccess, "Rule "+r.Name+" saved.")
}

// changeAlertRule is POST /alerts/rules/change?ws=: enable, disable or
// delete a rule made on this page; audited.
func (a *dashboard) changeAlertRule(c echo.Context) error {
	conn, _, err := a.settingsTarget(c)
	if err != nil {
		return err
	}
	ctx, name, change, by := c.Request().Context(), c.FormValue("rule"), c.FormValue("change"), actorOf(c)
	switch change {
	case views.AlertRuleEnable, views.AlertRuleDisable:
		err = a.Store.SetAlertRuleEnabled(ctx, conn.Tenant, name, change == views.AlertRuleEnable, by)
	case views.AlertRuleDelete:
		err = a.Store.DeleteAlertRule(ctx, conn.Tenant, name)
	default:
		return a.alertFlashBack(c, conn, views.FlashError, "Choose enable, disable or delete.")
	}
	if errors.Is(err, store.ErrNotFound) {
		return a.alertFlashBack(c, conn, views.FlashError, fmt.Sprintf("This workspace has no rule named %q made on this page (rules from the file change in the file).", clipField(name)))
	}
	if err != nil {
		return err
	}
	if err := a.audit(c, auditAlertRule, conn.Tenant, name, change); err != nil {
		return err
	}
	return a.alertFlashBack(c, conn, views.FlashSuccess, "Rule "+name+": "+change+"d.")
}

// saveAlertChannel is POST /alerts/channels?ws=: create or replace a
// channel of this workspace; its URL and any signing secret are sealed.
// A new signing secret is shown once, in the flash. Audited.
func (a *dashboard) saveAlertChannel(c echo.Context) error {
	conn, _, err := a.settingsTarget(c)
	if err != nil {
		return err
	}
	ch := alerts.Channel{Name: strings.TrimSpace(c.FormValue("name")), Type: c.FormValue("type"), URL: strings.TrimSpace(c.FormValue("url"))}
	for _, to := range strings.Split(c.FormValue("to"), ",") {
		if to = strings.TrimSpace(to); to != "" {
			ch.To = append(ch.To, to)
		}
	}
	if ch.Type == alerts.ChannelEmail {
		ch.URL = ""
	} else {
		ch.To = nil
	}
	perr := alerts.CheckChannel(ch)
	if perr == nil && len(ch.URL) > 2000 {
		perr = errors.New("the URL is longer than 2,000 characters")
	}
	if _, taken := a.Alerts.Rules().Channel(ch.Name); taken && perr == nil {
		perr = fmt.Errorf("the rules file already has a channel named %q", ch.Name)
	}
	if perr != nil {
		return a.alertFlashBack(c, conn, views.FlashError, "The channel was not saved: "+perr.Error())
	}
	if c.FormValue("sign") == "1" && ch.Type == alerts.ChannelWebhook {
		ch.Secret = alerts.NewSigningSecret()
	}
	err = a.Store.PutAlertChannel(c.Request().Context(), store.AlertPageChannel{Name: ch.Name, Tenant: conn.Tenant, Type: ch.Type,
		To: ch.To, URL: ch.URL, Secret: ch.Secret, UpdatedBy: actorOf(c)})
	if errors.Is(err, store.ErrAlertNameTaken) {
		return a.alertFlashBack(c, conn, views.FlashError, fmt.Sprintf("The channel was not saved: another workspace has a channel named %q.", ch.Name))
	}
	if err != nil {
		return err
	}
	if err := a.audit(c, auditAlertChannel, conn.Tenant, ch.Name, "saved "+ch.Type); err != nil {
		return err
	}
	msg := "Channel " + ch.Name + " saved."
	if ch.Secret != "" {
		msg += " Its signing secret, shown this once: " + ch.Secret
	}
	return a.alertFlashBack(c, conn, views.FlashSuccess, msg)
}

// deleteAlertChannel is POST /alerts/channels/delete?ws=; audited.
func (a *dashboard) deleteAlertChannel(c echo.Context) error {
	conn, _, err := a.settingsTarget(c)
	if err != nil {
		return err
	}
	name := c.FormValue("name")
	err = a.Store.DeleteAlertChannel(c.Request().Context(), conn.Tenant, name)
	if errors.Is(err, store.ErrNotFound) {
		return a.alertFlashBack(c, conn, views.FlashError, fmt.Sprintf("This workspace has no channel named %q made on this page.", clipField(name)))
	}
	if err != nil {
		return err
	}
	if err := a.audit(c, auditAlertChannel, conn.Tenant, name, "deleted"); err != nil {
		return err
	}
	return a.alertFlashBack(c, conn, views.FlashSuccess, "Channel "+name+" deleted.")
}
