package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// A workspace may opt in to a service key: one API key kept (sealed) for
// the work that must go on with nobody logged in (backfill, reconciling
// runs whose webhook never came). Pages show it by fingerprint only.

func serviceKeyAD(tenant string) []byte { return []byte("editwatch/service-key/" + tenant) }

// ServiceKeyFingerprint names a key without revealing it.
func ServiceKeyFingerprint(key string) string {
	sum := sha256.Sum256([]byte("editwatch service key\x00" + key))
	return "fp_" + hex.EncodeToString(sum[:6])
}

// SetServiceKey stores (or replaces) a tenant's service key, sealed, and
// returns its fingerprint. Audit the call: the store does not.
func (s *Store) SetServiceKey(ctx context.Context, tenant, key, setBy string) (string, error) {
	if s.sealer == nil {
		return "", ErrNoSealer
	}
	if key == "" || setBy == "" {
		return "", errors.New("store: set service key: key and setter are required")
	}
	sealed, err := s.sealer.Seal([]byte(key), serviceKeyAD(tenant))
	if err != nil {
		return "", fmt.Errorf("store: set service key: %w", err)
	}
	fp := ServiceKeyFingerprint(key)
	err = s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.ensureTenant(ctx, tx, tenant, false, false); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE tenants SET service_key_sealed = ?, service_key_fingerprint = ?,
			service_key_set_by = ?, service_key_set_at = ? WHERE tenant = ?`), sealed, fp, setBy, millis(s.now()), tenant)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: set service key of %s: %w", tenant, err)
	}
	return fp, nil
}

// ServiceKey decrypts a tenant's service key; ErrNotFound when it has
// none. Audit every use.
func (s *Store) ServiceKey(ctx context.Context, tenant string) (string, error) {
	if s.sealer == nil {
		return "", ErrNoSealer
	}
	var sealed []byte
	err := s.queryRow(ctx, `SELECT service_key_sealed FROM tenants WHERE tenant = ? AND service_key_sealed IS NOT NULL`, tenant).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: service key of %s: %w", tenant, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: service key of %s: %w", tenant, err)
	}
	key, err := s.sealer.Open(sealed, serviceKeyAD(tenant))
	if legacy := legacyTenantName(tenant); err != nil && legacy != tenant {
		// Sealed before migration 7 renamed the key tenant: the
		// associated data is the old name. Setting the key again
		// seals it under the new one.
		key, err = s.sealer.Open(sealed, serviceKeyAD(legacy))
	}
	if err != nil {
		return "", fmt.Errorf("store: service key of %s: %w", tenant, err)
	}
	return string(key), nil
}

// RevokeServiceKey forgets a tenant's service key; ErrNotFound when it
// had none.
func (s *Store) RevokeServiceKey(ctx context.Context, tenant string) error {
	res, err := s.exec(ctx, `UPDATE tenants SET service_key_sealed = NULL, service_key_fingerprint = '', service_key_set_by = '',
		service_key_set_at = NULL WHERE tenant = ? AND service_key_sealed IS NOT NULL`, tenant)
	if err != nil {
		return fmt.Errorf("store: revoke service key of %s: %w", tenant, err)
	}
	return requireOneRow(res, "revoke service key of "+tenant)
}
