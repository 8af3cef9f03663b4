package store

import (
	"context"
	"errors"
	"testing"
)

func TestServiceKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn, WithSealer(newTestSealer(t)))
		if _, err := s.ServiceKey(ctx, tenantA); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no key yet: %v", err)
		}
		fp, err := s.SetServiceKey(ctx, tenantA, "sk_live_service", "ada@example.com")
		if err != nil || fp != ServiceKeyFingerprint("sk_live_service") {
			t.Fatalf("set: %q %v", fp, err)
		}
		key, err := s.ServiceKey(ctx, tenantA)
		if err != nil || key != "sk_live_service" {
			t.Fatalf("key %q %v", key, err)
		}
		tn, _ := s.GetTenant(ctx, tenantA)
		if tn.ServiceKeyFingerprint != fp || tn.ServiceKeySetBy != "ada@example.com" || tn.ServiceKeySetAt.IsZero() {
			t.Fatalf("tenant %+v", tn)
		}
		// The sealed key is bound to its tenant.
		if _, err := s.SetServiceKey(ctx, tenantB, "sk_other", "bob"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.exec(ctx, `UPDATE tenants SET service_key_sealed = (SELECT service_key_sealed FROM tenants WHERE tenant = ?) WHERE tenant = ?`, tenantA, tenantB); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ServiceKey(ctx, tenantB); !errors.Is(err, ErrUndecryptable) {
			t.Fatalf("moved key opened: %v", err)
		}
		if err := s.RevokeServiceKey(ctx, tenantA); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ServiceKey(ctx, tenantA); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoked key: %v", err)
		}
		if err := s.RevokeServiceKey(ctx, tenantA); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
	})
}
