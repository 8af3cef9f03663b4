package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/editwatch/editwatch/store"
)

// LeaseName is the store lease whose holder evaluates and sends.
const LeaseName = "alerts"

// Delivery retries: the wait doubles from the evaluation interval up to
// maxBackoff; after maxAttempts a notification is given up (the delivery
// log says why).
const (
	maxAttempts = 8
	maxBackoff  = 10 * time.Minute
)

// WorkspaceKeeper keeps a workspace's history fresh while nobody watches
// it: the shared per-workspace poll of "Live pages" (#12). stuck and
// silence rules need it for runs started outside Editwatch, which reach
// history otherwise only when their webhook arrives. The engine calls
// Keep at every evaluation for each enabled stuck or silence rule, so a
// keeper may let a workspace go once the calls stop. main wires it once
// that poll exists; until then Options.Keeper is nil and those rules see
// what webhooks and open pages bring.
type WorkspaceKeeper interface {
	Keep(deployment, workspace string)
}

// Options configures an Engine.
type Options struct {
	Store    *store.Store
	Sender   *Sender
	Interval time.Duration // how often rules are evaluated; 30s when 0
	// Holder names this replica for the lease (unique per process).
	Holder string
	// LinkBase prefixes the runs links in notifications: the public URL
	// and base path, or the base path alone.
	LinkBase string
	Keeper   WorkspaceKeeper
	// Retention: state changes and finished deliveries older than this
	// are purged (hourly); 0 keeps them.
	Retention time.Duration
	Logger    *slog.Logger
	Now       func() time.Time // time.Now when nil
}

// Engine evaluates the rules and sends the notifications, on the one
// replica that holds the lease.
type Engine struct {
	opts      Options
	fileRules atomic.Pointer[Rules]
	mu        sync.Mutex // one Tick at a time
	leader    atomic.Bool
	lastPurge time.Time
	// crashOnStop: Run stops without giving the lease up, as a killed
	// process would (tests of the takeover).
	crashOnStop bool
}

// Leader reports whether this replica held the lease at its last try.
func (e *Engine) Leader() bool { return e.leader.Load() }

// NewEngine builds an Engine with the rules from the file (may be empty).
func NewEngine(opts Options, fileRules Rules) *Engine {
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Holder == "" {
		opts.Holder = newID("replica_")
	}
	e := &Engine{opts: opts}
	e.SetFileRules(fileRules)
	return e
}

// SetFileRules replaces the rules from the file (on SIGHUP).
func (e *Engine) SetFileRules(r Rules) {
	for i := range r.Rules {
		r.Rules[i].Origin = FromFile
	}
	for i := range r.Channels {
		r.Channels[i].Origin = FromFile
	}
	e.fileRules.Store(&r)
}

// Rules returns the rules of the file.
func (e *Engine) Rules() Rules { return *e.fileRules.Load() }

// AllRules returns the rules in force: the file's, and those made on the
// alerts page with their channels (a page rule or channel whose name the
// file uses is left out: the file wins).
func (e *Engine) AllRules(ctx context.Context) (Rules, error) {
	file := e.Rules()
	out := Rules{Channels: slices.Clone(file.Channels), Rules: slices.Clone(file.Rules)}
	chans, err := e.opts.Store.AlertPageChannels(ctx)
	if err != nil {
		return out, err
	}
	for _, c := range chans {
		if _, taken := file.Channel(c.Name); taken {
			continue
		}
		out.Channels = append(out.Channels, Channel{Name: c.Name, Type: c.Type, URL: c.URL, Secret: c.Secret, To: c.To,
			Origin: FromPage, Tenant: c.Tenant})
	}
	rules, err := e.opts.Store.AlertPageRules(ctx)
	if err != nil {
		return out, err
	}
	for _, pr := range rules {
		if _, taken := file.Rule(pr.Name); taken {
			continue
		}
		deployment, workspace := store.TenantParts(pr.Tenant)
		r, err := ParseRuleYAML(pr.Spec, deployment, workspace)
		if err != nil || r.Tenant() != pr.Tenant {
			e.opts.Logger.Warn("alerts: a stored rule no longer reads", "rule", pr.Name, "err", err)
			continue
		}
		r.Name, r.Enabled, r.Origin = pr.Name, pr.Enabled, FromPage
		out.Rules = append(out.Rules, r)
	}
	return out, nil
}

// Interval is how often rules are evaluated.
func (e *Engine) Interval() time.Duration { return e.opts.Interval }

// leaseTTL is how long the lease outlives its holder's last renewal:
// three intervals, between 3s and 45s, so another replica takes over
// within a minute of the holder's death.
func (e *Engine) leaseTTL() time.Duration {
	return min(max(3*e.opts.Interval, 3*time.Second), 45*time.Second)
}

// Run evaluates every interval while this replica holds the lease, until
// ctx ends; then it gives the lease up.
func (e *Engine) Run(ctx context.Context) {
	ttl := e.leaseTTL()
	tick := min(e.opts.Interval, ttl/3)
	t := time.NewTicker(tick)
	defer t.Stop()
	var last time.Time
	held := false
	for {
		ok, err := e.opts.Store.TryLease(ctx, LeaseName, e.opts.Holder, ttl)
		if err != nil && ctx.Err() == nil {
			e.opts.Logger.Warn("alerts: lease", "err", err)
		}
		if ok != held {
			e.opts.Logger.Info("alerts: evaluation lease", "held", ok, "holder", e.opts.Holder)
			held = ok
			e.leader.Store(ok)
		}
		if ok && time.Since(last) >= e.opts.Interval-tick/2 {
			last = time.Now()
			if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
				e.opts.Logger.Warn("alerts: evaluation", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			e.leader.Store(false)
			if held && !e.crashOnStop {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = e.opts.Store.ReleaseLease(rctx, LeaseName, e.opts.Holder)
				cancel()
			}
			return
		case <-t.C:
		}
	}
}

// Tick evaluates every enabled rule once and delivers the notifications
// that are due. Only the lease holder calls it.
func (e *Engine) Tick(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Now()
	rules, err := e.AllRules(ctx)
	if err != nil {
		return err
	}
	states, err := e.opts.Store.AlertStates(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rules.Rules {
		if !r.Enabled {
			continue
		}
		if e.opts.Keeper != nil && (r.Kind == KindStuck || r.Kind == KindSilence) {
			e.opts.Keeper.Keep(r.Deployment, r.Workspace)
		}
		if err := e.evaluate(ctx, rules, r, states[r.Name], now); err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Name, err))
		}
	}
	if err := e.deliver(ctx, rules); err != nil {
		errs = append(errs, err)
	}
	if e.opts.Retention > 0 && now.Sub(e.lastPurge) >= time.Hour {
		if _, err := e.opts.Store.PurgeAlertHistoryBefore(ctx, now.Add(-e.opts.Retention)); err != nil {
			errs = append(errs, err)
		} else {
			e.lastPurge = now
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) evaluate(ctx context.Context, rules Rules, r Rule, before store.AlertState, now time.Time) error {
	m, err := Measure(ctx, e.opts.Store, r, now)
	if err != nil {
		return err
	}
	after, events, kind := advance(before, r, m, now)
	if kind == "" && len(events) == 0 && after == before {
		return nil
	}
	var notes []store.AlertNotification
	if kind != "" {
		p := e.payload(r, m, after, kind, now)
		for _, name := range r.Notify {
			if _, ok := rules.ChannelFor(r, name); !ok {
				continue
			}
			p.NotificationID = newID("ntf_")
			body, err := json.Marshal(p)
			if err != nil {
				return err
			}
			notes = append(notes, store.AlertNotification{ID: p.NotificationID, Rule: r.Name, Channel: name, Kind: kind,
				CreatedAt: now, Body: string(body), NextAttemptAt: now})
		}
	}
	return e.opts.Store.SaveAlertState(ctx, after, events, notes)
}

func (e *Engine) payload(r Rule, m Measurement, st store.AlertState, kind string, now time.Time) Payload {
	p := Payload{Kind: kind, Rule: r.Name, RuleKind: r.Kind, Deployment: r.Deployment, Workspace: r.Workspace,
		State: NotifyFiring, Value: m.Value, Threshold: r.Threshold(), Unit: r.Unit(), Window: r.Window.String(),
		StartedAt: st.FiredAt, RunsURL: RunsLink(e.opts.LinkBase, r, m, now), ExampleRunIDs: m.Examples, Summary: m.Summary}
	if p.ExampleRunIDs == nil {
		p.ExampleRunIDs = []string{}
	}
	if kind == NotifyResolved {
		end := now
		p.State, p.EndedAt = NotifyResolved, &end
	}
	return p
}

// deliver sends the notifications that are due, each recorded before it
// is sent and marked sent (or failed, with the next attempt) after.
func (e *Engine) deliver(ctx context.Context, rules Rules) error {
	due, err := e.opts.Store.DueAlertNotifications(ctx, e.opts.Now(), 50)
	if err != nil {
		return err
	}
	for _, n := range due {
		ch, ok := rules.Channel(n.Channel)
		if !ok {
			if err := e.opts.Store.MarkAlertNotificationFailed(ctx, n.ID, 0, "the channel no longer exists", e.opts.Now(), true); err != nil {
				return err
			}
			continue
		}
		var p Payload
		if err := json.Unmarshal([]byte(n.Body), &p); err != nil {
			return fmt.Errorf("notification %s: %w", n.ID, err)
		}
		status, sendErr := e.opts.Sender.Deliver(ctx, ch, p)
		now := e.opts.Now()
		if sendErr == nil {
			if err := e.opts.Store.MarkAlertNotificationSent(ctx, n.ID, status, now); err != nil {
				return err
			}
			e.opts.Logger.Info("alerts: notification sent", "rule", n.Rule, "channel", ch, "kind", n.Kind, "id", n.ID)
			continue
		}
		attempt := n.Attempts + 1
		backoff := min(e.opts.Interval<<min(attempt-1, 16), maxBackoff)
		giveUp := attempt >= maxAttempts || errors.Is(sendErr, ErrPrivateDestination)
		e.opts.Logger.Warn("alerts: notification not delivered", "rule", n.Rule, "channel", ch, "id", n.ID,
			"attempt", attempt, "gave_up", giveUp, "err", sendErr)
		if err := e.opts.Store.MarkAlertNotificationFailed(ctx, n.ID, status, sendErr.Error(), now.Add(backoff), giveUp); err != nil {
			return err
		}
	}
	return nil
}

// SendTest records and sends a test notification to one channel at once,
// and says how it went.
func (e *Engine) SendTest(ctx context.Context, ch Channel, r Rule) error {
	now := e.opts.Now()
	p := Payload{NotificationID: newID("ntf_"), Kind: NotifyTest, Rule: r.Name, RuleKind: r.Kind, Deployment: r.Deployment,
		Workspace: r.Workspace, State: NotifyTest, Threshold: r.Threshold(), Unit: r.Unit(), Window: r.Window.String(),
		StartedAt: now, RunsURL: RunsLink(e.opts.LinkBase, r, Measurement{}, now), ExampleRunIDs: []string{},
		Summary: "A test notification from Editwatch: this channel works."}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	// Recorded as given up so the sender loop never resends it: a test
	// is tried once, in front of the person who asked.
	if err := e.opts.Store.RecordAlertNotification(ctx, store.AlertNotification{ID: p.NotificationID, Rule: r.Name,
		Channel: ch.Name, Kind: NotifyTest, CreatedAt: now, Body: string(body), NextAttemptAt: now.Add(100 * 365 * 24 * time.Hour)}); err != nil {
		return err
	}
	status, sendErr := e.opts.Sender.Deliver(ctx, ch, p)
	if sendErr != nil {
		_ = e.opts.Store.MarkAlertNotificationFailed(ctx, p.NotificationID, status, sendErr.Error(), now, true)
		return sendErr
	}
	return e.opts.Store.MarkAlertNotificationSent(ctx, p.NotificationID, status, e.opts.Now())
}
