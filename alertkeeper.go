package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
)

// keeperIdle is how long a workspace stays polled after the last Keep:
// the engine calls Keep at every evaluation (30 s by default), so a rule
// that is deleted or disabled lets its workspace go after a few minutes.
const keeperIdle = 5 * time.Minute

// keeperRetry is how long the keeper waits after failing to start a
// workspace's poll for another reason than a missing service key (that
// one it looks for at every Keep: a person may store it at any time, and
// the lookup is one row read per evaluation).
const keeperRetry = time.Minute

// pollKeeper keeps the shared poll of the workspaces that stuck and
// silence rules watch going with nobody watching (alerts.WorkspaceKeeper):
// a "alerts" want on monitor.WorkspacePoller, listing with the
// workspace's service key. Runs started outside Editwatch reach history
// otherwise only when their webhook arrives, which a stuck run never
// sends. Without a service key the workspace is not polled and the
// alerts page says what such rules cannot see.
type pollKeeper struct {
	poller *monitor.WorkspacePoller
	keys   *upstream.Keys
	logger *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	kept  map[string]*keptWorkspace
	close sync.Once
}

type keptWorkspace struct {
	stop          func() // nil while the workspace has no service key
	lastKeep      time.Time
	retryAt       time.Time
	saidNoService bool // logged once that it has no service key
}

func newPollKeeper(live liveParts, logger *slog.Logger) *pollKeeper {
	k := &pollKeeper{keys: live.keys, logger: logger, now: time.Now, kept: map[string]*keptWorkspace{}}
	if live.live != nil {
		k.poller = live.live.Poller
	}
	return k
}

// Keep implements alerts.WorkspaceKeeper.
func (k *pollKeeper) Keep(deployment, workspace string) {
	if k.poller == nil || k.keys == nil || workspace == "" {
		return
	}
	tenant := store.TenantFor(deployment, workspace, "")
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweepLocked(now)
	kw := k.kept[tenant]
	if kw == nil {
		kw = &keptWorkspace{}
		k.kept[tenant] = kw
	}
	kw.lastKeep = now
	if kw.stop != nil || now.Before(kw.retryAt) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := k.keys.ServiceClient(ctx, tenant, "poll", "polling the newest runs for alert rules on stuck runs and silence")
	if errors.Is(err, store.ErrNotFound) {
		if !kw.saidNoService {
			kw.saidNoService = true
			k.logger.Info("no service key: runs started outside Editwatch reach alert rules only by webhook", "tenant", tenant)
		}
		return
	}
	if err != nil {
		kw.retryAt = now.Add(keeperRetry)
		k.logger.Warn("background poll for alert rules not started", "tenant", tenant, "err", err)
		return
	}
	kw.stop = k.poller.Want(tenant, "alerts", monitor.ListFirstPage(cl))
}

// sweepLocked lets go of workspaces no rule has kept for keeperIdle.
func (k *pollKeeper) sweepLocked(now time.Time) {
	for tenant, kw := range k.kept {
		if now.Sub(kw.lastKeep) < keeperIdle {
			continue
		}
		if kw.stop != nil {
			kw.stop()
		}
		delete(k.kept, tenant)
	}
}

// Close drops every want.
func (k *pollKeeper) Close() {
	k.close.Do(func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		for tenant, kw := range k.kept {
			if kw.stop != nil {
				kw.stop()
			}
			delete(k.kept, tenant)
		}
	})
}
