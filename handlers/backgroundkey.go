package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
)

// Work that outlives a request (a history sync, a bulk re-run) runs with
// the key of the session that started it while that session stays
// connected. Keys live in sessions, so once the person logs out (or
// disconnects the workspace) the work stops, unless the workspace opted in
// to a service key: then it goes on with that key, and the switch is
// audited.

// errStoppedAtLogout ends background work whose session is gone when the
// workspace has no service key.
var errStoppedAtLogout = errors.New("stopped: the person who started it logged out or disconnected the workspace, and the workspace has no service key")

// backgroundKey is the key background work uses now.
type backgroundKey struct {
	key     string
	service bool // the workspace's service key, after the session left
}

// nextBackgroundKey returns the key for the next step of background work
// for conn started by sessionID: the session's own key while it is still
// stored, else the tenant's service key (each switch audited with why,
// once: later steps keep using it).
func (a *App) nextBackgroundKey(ctx context.Context, conn connection, sessionID string, prev backgroundKey, why string) (backgroundKey, error) {
	if prev.service {
		return prev, nil
	}
	key, err := a.Store.ConnectionKey(ctx, sessionID, conn.ID)
	if err == nil {
		return backgroundKey{key: key}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return backgroundKey{}, err
	}
	key, err = a.Store.ServiceKey(ctx, conn.Tenant)
	if errors.Is(err, store.ErrNotFound) {
		return backgroundKey{}, errStoppedAtLogout
	}
	if err != nil {
		return backgroundKey{}, err
	}
	if err := a.auditServiceKeyUse(ctx, conn.Tenant, key, why); err != nil {
		return backgroundKey{}, err
	}
	return backgroundKey{key: key, service: true}, nil
}

// auditServiceKeyUse records one use of a tenant's service key.
func (a *App) auditServiceKeyUse(ctx context.Context, tenant, key, why string) error {
	fp := store.ServiceKeyFingerprint(key)
	if _, err := a.Store.AppendAudit(ctx, store.AuditEntry{Actor: "editwatch (service key " + fp + ")", Action: auditServiceKeyUse,
		Tenant: tenant, Target: fp, Detail: why}); err != nil {
		return fmt.Errorf("audit service key use: %w", err)
	}
	return nil
}

// backgroundClient is a client of conn's deployment and workspace for k.
func (a *App) backgroundClient(conn connection, k backgroundKey) (*extendapi.Client, error) {
	return a.newClient(extendapi.APIKey(k.key), a.baseURLOf(conn), conn.WorkspaceID)
}

// ServiceKeyFetcher is the reconciler's reader of a tenant's runs (see
// monitor.Reconciler): a client made with the tenant's service key, each
// sweep's use audited with how many runs it asks about.
func (a *App) ServiceKeyFetcher(ctx context.Context, tenant string, runs int) (monitor.RunFetcher, error) {
	key, err := a.Store.ServiceKey(ctx, tenant)
	if err != nil {
		return nil, err
	}
	deployment, ws := store.TenantParts(tenant)
	conn := connection{store.Connection{Tenant: tenant, Deployment: deployment, BaseURL: a.deploymentBaseURL(deployment), WorkspaceID: ws}}
	if conn.WorkspaceID == "" {
		// A tenant named by a key hash is reached with that key alone.
		return nil, errors.New("a tenant named by its key has no workspace to reconcile with a service key")
	}
	cl, err := a.backgroundClient(conn, backgroundKey{key: key, service: true})
	if err != nil {
		return nil, err
	}
	why := fmt.Sprintf("reconciling %d %s whose webhook never came", runs, map[bool]string{true: "run", false: "runs"}[runs == 1])
	if err := a.auditServiceKeyUse(ctx, tenant, key, why); err != nil {
		return nil, err
	}
	return cl.GetEditRun, nil
}
