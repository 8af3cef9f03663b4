package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/editwatch/editwatch/store"
)

// Janitor applies retention, the process's one purge loop: run history
// (with its rollups), webhook deliveries, audit entries, background jobs,
// re-run lineage and stuck-run dismissals older than the retention go, and
// so do expired sessions (with their connections and sealed keys).
type Janitor struct {
	store     *store.Store
	retention time.Duration
	interval  time.Duration
	now       func() time.Time
	logger    *slog.Logger
}

// JanitorOptions configure NewJanitor; the zero value is fine.
type JanitorOptions struct {
	Interval time.Duration // between passes; default DefaultJanitorInterval
	Now      func() time.Time
	Logger   *slog.Logger
}

// DefaultJanitorInterval is the default time between passes: it bounds
// how long an expired session's keys stay stored.
const DefaultJanitorInterval = 10 * time.Minute

// JanitorReport says what one pass removed.
type JanitorReport struct {
	Cutoff        time.Time
	Runs          int64
	WebhookEvents int64
	AuditEntries  int64
	Sessions      int64 // expired sessions
	Jobs          int64 // background jobs (bulk re-runs and deletes, history syncs)
	Lineage       int64 // "re-run of" links
	Dismissals    int64 // stuck runs dismissed
}

// NewJanitor returns a janitor keeping retention (--retention) of history.
func NewJanitor(st *store.Store, retention time.Duration, opts JanitorOptions) (*Janitor, error) {
	if retention <= 0 {
		return nil, errors.New("monitor: janitor: retention must be positive")
	}
	j := &Janitor{store: st, retention: retention, interval: opts.Interval, now: opts.Now, logger: opts.Logger}
	if j.interval <= 0 {
		j.interval = DefaultJanitorInterval
	}
	if j.now == nil {
		j.now = time.Now
	}
	if j.logger == nil {
		j.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return j, nil
}

// RunOnce purges the sessions expired by now and everything older than
// now minus the retention.
func (j *Janitor) RunOnce(ctx context.Context) (JanitorReport, error) {
	now := j.now()
	rep := JanitorReport{Cutoff: now.Add(-j.retention)}
	var err error
	if rep.Sessions, err = j.store.DeleteExpiredSessions(ctx, now); err != nil {
		return rep, fmt.Errorf("monitor: janitor: %w", err)
	}
	if rep.Runs, err = j.store.PurgeHistoryBefore(ctx, rep.Cutoff); err != nil {
		return rep, fmt.Errorf("monitor: janitor: %w", err)
	}
	if rep.WebhookEvents, err = j.store.PurgeWebhookEventsBefore(ctx, rep.Cutoff); err != nil {
		return rep, fmt.Errorf("monitor: janitor: %w", err)
	}
	if rep.AuditEntries, err = j.store.PurgeAuditBefore(ctx, rep.Cutoff); err != nil {
		return rep, fmt.Errorf("monitor: janitor: %w", err)
	}
	if rep.Jobs, err = j.store.PurgeJobsBefore(ctx, rep.Cutoff); err != nil {
		return rep, fmt.Errorf("monitor: janitor: %w", err)
	}
	if rep.Lineage, err = j.store.PurgeLineageBefore(ctx, rep.Cutoff); err != nil {
		return rep, fmt.Errorf("monitor: janitor: %w", err)
	}
	if rep.Dismissals, err = j.store.PurgeDismissalsBefore(ctx, rep.Cutoff); err != nil {
		return rep, fmt.Errorf("monitor: janitor: %w", err)
	}
	if rep.Runs > 0 {
		if err := j.store.Optimize(ctx); err != nil {
			return rep, fmt.Errorf("monitor: janitor: %w", err)
		}
	}
	if rep.Runs+rep.WebhookEvents+rep.AuditEntries+rep.Sessions+rep.Jobs+rep.Lineage+rep.Dismissals > 0 {
		j.logger.InfoContext(ctx, "monitor: retention purge", "cutoff", rep.Cutoff, "runs", rep.Runs,
			"webhook_events", rep.WebhookEvents, "audit_entries", rep.AuditEntries, "expired_sessions", rep.Sessions, "jobs", rep.Jobs,
			"lineage", rep.Lineage, "dismissals", rep.Dismissals)
	}
	return rep, nil
}

// Run purges at once and then every interval until ctx ends. A failed
// pass is logged and tried again at the next interval.
func (j *Janitor) Run(ctx context.Context) {
	ticker := time.NewTicker(j.interval)
	defer ticker.Stop()
	for {
		if _, err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
			j.logger.ErrorContext(ctx, "monitor: retention purge failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
