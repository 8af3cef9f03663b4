package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// KeyRefPrefix starts the workspace part of a tenant named by a key's
// hash rather than a workspace ID. Its '.' is a character no Extend
// workspace ID has (ValidWorkspaceID), so a key's tenant and a
// workspace's can never share a name, whatever someone types as a
// workspace ID. Migration 7 renamed the "key_" tenants of earlier
// versions.
const KeyRefPrefix = "key."

// legacyKeyRefPrefix named key tenants before migration 7.
const legacyKeyRefPrefix = "key_"

// maxWorkspaceIDLength bounds a workspace ID; Extend's are about 25
// characters.
const maxWorkspaceIDLength = 128

// ValidWorkspaceID reports whether id looks like an Extend workspace ID:
// "ws_" and then letters, digits, '_' or '-'. Only such IDs name tenants.
func ValidWorkspaceID(id string) bool {
	rest, ok := strings.CutPrefix(id, "ws_")
	if !ok || rest == "" || len(id) > maxWorkspaceIDLength {
		return false
	}
	for _, r := range rest {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// TenantFor names the tenant of a deployment ("us", "sandbox", or a base
// URL) and a workspace: "us/ws_abc". A key connected without a workspace
// ID passes workspace "" and keyHash, the keyed hash that names it (see
// KeyRef): "us/key.…". The deployment may itself contain slashes (a URL);
// the workspace part never does, so TenantParts splits at the last one.
func TenantFor(deployment, workspace, keyHash string) string {
	if workspace != "" {
		return deployment + "/" + workspace
	}
	return deployment + "/" + keyHash
}

// KeyRef is the keyed hash naming a key connected without a workspace ID:
// every user of one key lands in one tenant, and the name reveals nothing
// about the key. hashKey is a per-installation secret shared by replicas.
func KeyRef(hashKey []byte, apiKey string) string {
	mac := hmac.New(sha256.New, hashKey)
	mac.Write([]byte("editwatch tenant\x00" + apiKey))
	return KeyRefPrefix + hex.EncodeToString(mac.Sum(nil)[:10])
}

// IsKeyRef reports whether a workspace reference (a tenant's last part,
// or ?ws= of a link) names a key connected without a workspace ID.
func IsKeyRef(ref string) bool { return strings.HasPrefix(ref, KeyRefPrefix) }

// TenantParts splits a tenant into its deployment and its workspace ID;
// a tenant named by a key hash has workspace "".
func TenantParts(tenant string) (deployment, workspace string) {
	i := strings.LastIndexByte(tenant, '/')
	if i < 0 {
		return "", tenant
	}
	deployment, ref := tenant[:i], tenant[i+1:]
	if IsKeyRef(ref) {
		return deployment, ""
	}
	return deployment, ref
}

// CurrentKeyRef turns a key ref of the form used before migration 7
// ("key_" and 20 hex digits, in bookmarked links and older sessions) into
// today's; anything else is returned as it is. No workspace can be named
// like that any more, so the old form can only mean a key.
func CurrentKeyRef(ref string) string {
	hexPart, ok := strings.CutPrefix(ref, legacyKeyRefPrefix)
	if !ok || len(hexPart) != 20 || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return ref
	}
	return KeyRefPrefix + hexPart
}

// legacyTenantName is the name a key tenant had before migration 7; other
// tenants kept theirs.
func legacyTenantName(tenant string) string {
	deployment, ref := tenant, ""
	if i := strings.LastIndexByte(tenant, '/'); i >= 0 {
		deployment, ref = tenant[:i], tenant[i+1:]
	}
	if !IsKeyRef(ref) {
		return tenant
	}
	return deployment + "/" + legacyKeyRefPrefix + strings.TrimPrefix(ref, KeyRefPrefix)
}

// Tenant is what the store knows about a tenant.
type Tenant struct {
	Tenant      string
	Deployment  string
	WorkspaceID string // "" for a tenant named by a key hash
	CreatedAt   time.Time
	// HistoryFromExtend: some of its runs came from Extend (a call under
	// a granted tenant, or a webhook), so a newcomer must fetch one of them
	// (ProofRunID) before it is granted this history.
	HistoryFromExtend bool
	// HistorySynthetic: `editwatch seed` wrote some of its runs.
	HistorySynthetic bool
	// SyncedAt is when a backfill last completed; zero until one has.
	SyncedAt time.Time
	// ServiceKeyFingerprint names the opted-in service key ("" if none).
	ServiceKeyFingerprint string
	ServiceKeySetBy       string
	ServiceKeySetAt       time.Time
}

const tenantUpsert = `INSERT INTO tenants
		(tenant, deployment, workspace_id, created_at, history_from_extend, history_synthetic)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant) DO UPDATE SET
			history_from_extend = CASE WHEN excluded.history_from_extend > tenants.history_from_extend
				THEN excluded.history_from_extend ELSE tenants.history_from_extend END,
			history_synthetic = CASE WHEN excluded.history_synthetic > tenants.history_synthetic
				THEN excluded.history_synthetic ELSE tenants.history_synthetic END
		WHERE excluded.history_from_extend > tenants.history_from_extend
			OR excluded.history_synthetic > tenants.history_synthetic`

// Tenant history-source flags, as remembered in Store.tenantFlags.
const (
	tenantKnown      = 1
	tenantFromExtend = 2
	tenantSynthetic  = 4
)

func tenantFlagBits(fromExtend, synthetic bool) uint8 {
	f := uint8(tenantKnown)
	if fromExtend {
		f |= tenantFromExtend
	}
	if synthetic {
		f |= tenantSynthetic
	}
	return f
}

// checkTenant refuses a tenant name that is not deployment/workspace.
func checkTenant(tenant string) error {
	if tenant == "" || !strings.Contains(tenant, "/") {
		return fmt.Errorf("tenant %q: want deployment/workspace", tenant)
	}
	return nil
}

// ensureTenant creates the tenant row when missing and raises its
// history-source flags; it never lowers them. It skips the write when
// this process already committed the same flags (noteTenant).
func (s *Store) ensureTenant(ctx context.Context, tx *sql.Tx, tenant string, fromExtend, synthetic bool) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	want := tenantFlagBits(fromExtend, synthetic)
	if known, ok := s.tenantFlags.Load(tenant); ok && known.(uint8)&want == want {
		return nil
	}
	dep, ws := TenantParts(tenant)
	_, err := s.txExec(ctx, tx, tenantUpsert, tenant, dep, ws, millis(s.now()), boolInt(fromExtend), boolInt(synthetic))
	if err != nil {
		return fmt.Errorf("tenant %s: %w", tenant, err)
	}
	return nil
}

// noteTenant remembers flags a committed transaction stored. Flags only
// ever rise, so what is remembered stays true on every replica.
func (s *Store) noteTenant(tenant string, fromExtend, synthetic bool) {
	for {
		bits := tenantFlagBits(fromExtend, synthetic)
		old, loaded := s.tenantFlags.LoadOrStore(tenant, bits)
		if !loaded || old.(uint8)|bits == old.(uint8) || s.tenantFlags.CompareAndSwap(tenant, old, old.(uint8)|bits) {
			return
		}
	}
}

// EnsureTenant records a tenant (at connect time, say) without history.
func (s *Store) EnsureTenant(ctx context.Context, tenant string) error {
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error { return s.ensureTenant(ctx, tx, tenant, false, false) })
	if err != nil {
		return fmt.Errorf("store: ensure tenant: %w", err)
	}
	s.noteTenant(tenant, false, false)
	return nil
}

// GetTenant returns a tenant, or ErrNotFound when it has never been
// recorded.
func (s *Store) GetTenant(ctx context.Context, tenant string) (Tenant, error) {
	var (
		t                       Tenant
		created                 int64
		fromExtend, synthetic   int64
		synced, serviceKeySetAt sql.NullInt64
	)
	err := s.queryRow(ctx, `SELECT tenant, deployment, workspace_id, created_at, history_from_extend,
			history_synthetic, synced_at, service_key_fingerprint, service_key_set_by, service_key_set_at
		FROM tenants WHERE tenant = ?`, tenant).Scan(&t.Tenant, &t.Deployment, &t.WorkspaceID, &created,
		&fromExtend, &synthetic, &synced, &t.ServiceKeyFingerprint, &t.ServiceKeySetBy, &serviceKeySetAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, fmt.Errorf("store: tenant %s: %w", tenant, ErrNotFound)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("store: tenant %s: %w", tenant, err)
	}
	t.CreatedAt = fromMillis(created)
	t.HistoryFromExtend, t.HistorySynthetic = fromExtend != 0, synthetic != 0
	t.SyncedAt = nullTime(synced)
	t.ServiceKeySetAt = nullTime(serviceKeySetAt)
	return t, nil
}

// MarkTenantSynced records that a backfill of the tenant completed at t:
// from then on its runs list can read from history.
func (s *Store) MarkTenantSynced(ctx context.Context, tenant string, t time.Time) error {
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.ensureTenant(ctx, tx, tenant, false, false); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE tenants SET synced_at = ? WHERE tenant = ?`), millis(t), tenant)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: mark tenant %s synced: %w", tenant, err)
	}
	return nil
}

// ProofRunIDs returns up to n of the tenant's newest runs that came from
// Extend and are not known deleted, newest first: what a newcomer's key
// must read before it is granted the tenant's history (see
// upstream.DecideGrant). Synthetic runs never serve. ErrNotFound when there
// is none.
func (s *Store) ProofRunIDs(ctx context.Context, tenant string, n int) ([]string, error) {
	ids, err := s.queryStrings(ctx, `SELECT run_id FROM run_snapshots
		WHERE tenant = ? AND synthetic = 0 AND deleted_at IS NULL
		ORDER BY at DESC, id DESC LIMIT ?`, tenant, max(n, 1))
	if err != nil {
		return nil, fmt.Errorf("store: proof runs of %s: %w", tenant, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("store: proof runs of %s: %w", tenant, ErrNotFound)
	}
	return ids, nil
}

// HistorySince is the time of the tenant's oldest run in history (what
// the overview's "history covers" note shows); zero when it has none.
func (s *Store) HistorySince(ctx context.Context, tenant string) (time.Time, error) {
	var at sql.NullInt64
	err := s.queryRow(ctx, `SELECT MIN(at) FROM run_snapshots WHERE tenant = ?`, tenant).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: history of %s: %w", tenant, err)
	}
	return nullTime(at), nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func nullTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMillis(v.Int64)
}
