package upstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// Work that outlives a request (a history sync, a bulk re-run) runs with
// the key of the session that started it while that session stays
// connected. Keys live in sessions, so once the person logs out (or
// disconnects the workspace) the work stops, unless the workspace opted in
// to a service key: then it goes on with that key, and the switch is
// audited.

// ErrStoppedAtLogout ends background work whose session is gone when the
// workspace has no service key.
var ErrStoppedAtLogout = errors.New("stopped: the person who started it logged out or disconnected the workspace, and the workspace has no service key")

// AuditServiceKeyUse is the audit action of one use of a service key.
const AuditServiceKeyUse = "service-key-use"

// Keys hands background work the key to go on with, and the reconciler
// its service-key reader.
type Keys struct {
	store     *store.Store
	connector *Connector
}

// NewKeys returns the keys of connections stored in st, whose clients
// connector builds.
func NewKeys(st *store.Store, connector *Connector) *Keys {
	return &Keys{store: st, connector: connector}
}

// Key is the key background work uses now.
type Key struct {
	key     string
	service bool // the workspace's service key, after the session left
}

// Service reports whether k is the workspace's service key, and its
// fingerprint when it is.
func (k Key) Service() (fingerprint string, ok bool) {
	if !k.service {
		return "", false
	}
	return store.ServiceKeyFingerprint(k.key), true
}

// Next returns the key for the next step of background work for conn
// started by sessionID: the session's own key while it is still stored,
// else the tenant's service key (each switch audited with why, once: later
// steps keep using it).
func (ks *Keys) Next(ctx context.Context, conn store.Connection, sessionID string, prev Key, why string) (Key, error) {
	if prev.service {
		return prev, nil
	}
	key, err := ks.store.ConnectionKey(ctx, sessionID, conn.ID)
	if err == nil {
		return Key{key: key}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return Key{}, err
	}
	key, err = ks.store.ServiceKey(ctx, conn.Tenant)
	if errors.Is(err, store.ErrNotFound) {
		return Key{}, ErrStoppedAtLogout
	}
	if err != nil {
		return Key{}, err
	}
	if err := ks.auditServiceKeyUse(ctx, conn.Tenant, key, why); err != nil {
		return Key{}, err
	}
	return Key{key: key, service: true}, nil
}

// auditServiceKeyUse records one use of a tenant's service key.
func (ks *Keys) auditServiceKeyUse(ctx context.Context, tenant, key, why string) error {
	fp := store.ServiceKeyFingerprint(key)
	if _, err := ks.store.AppendAudit(ctx, store.AuditEntry{Actor: "editwatch (service key " + fp + ")", Action: AuditServiceKeyUse,
		Tenant: tenant, Target: fp, Detail: why}); err != nil {
		return fmt.Errorf("audit service key use: %w", err)
	}
	return nil
}

// Client is a client of conn's deployment and workspace for k.
func (ks *Keys) Client(conn store.Connection, k Key) (*extendapi.Client, error) {
	return ks.connector.ConnectionClient(k.key, conn)
}

// ServiceKeyFetcher is the reconciler's reader of a tenant's runs (see
// monitor.Reconciler): a client made with the tenant's service key, each
// sweep's use audited with how many runs it asks about.
func (ks *Keys) ServiceKeyFetcher(ctx context.Context, tenant string, runs int) (func(ctx context.Context, runID string) (*extendapi.EditRun, error), error) {
	why := fmt.Sprintf("reconciling %d %s whose webhook never came", runs, map[bool]string{true: "run", false: "runs"}[runs == 1])
	cl, err := ks.ServiceClient(ctx, tenant, "reconcile", why)
	if err != nil {
		return nil, err
	}
	return cl.GetEditRun, nil
}

// ServiceClient is a client made with tenant's service key, for
// background work with nobody's session (the reconciler; the shared poll
// that alert rules on stuck runs and silence keep going), its use audited
// once with why; ErrNotFound (from store) when the tenant has none. what
// names the work for the error of a tenant named by a key.
func (ks *Keys) ServiceClient(ctx context.Context, tenant, what, why string) (*extendapi.Client, error) {
	key, err := ks.store.ServiceKey(ctx, tenant)
	if err != nil {
		return nil, err
	}
	deployment, ws := store.TenantParts(tenant)
	if ws == "" {
		// A tenant named by a key hash is reached with that key alone.
		return nil, fmt.Errorf("a tenant named by its key has no workspace to %s with a service key", what)
	}
	conn := store.Connection{Tenant: tenant, Deployment: deployment, WorkspaceID: ws}
	cl, err := ks.Client(conn, Key{key: key, service: true})
	if err != nil {
		return nil, err
	}
	if err := ks.auditServiceKeyUse(ctx, tenant, key, why); err != nil {
		return nil, err
	}
	return cl, nil
}
