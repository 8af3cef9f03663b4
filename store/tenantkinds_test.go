package store

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidWorkspaceID(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		id   string
		want bool
	}{
		{"ws_demo", true},
		{"ws_AbC123", true},
		{"ws_a-b_c", true},
		{"ws_" + strings.Repeat("a", maxWorkspaceIDLength-3), true},
		{"ws_" + strings.Repeat("a", maxWorkspaceIDLength-2), false},
		{"", false},
		{"ws_", false},
		{"acme", false},
		{"WS_abc", false},
		{"ws_a.b", false},
		{"ws_a/b", false},
		{"ws_a b", false},
		{"ws_é", false},
		{"key_0123456789abcdef0123", false},
		{KeyRef(key, "sk_live_secret"), false},
	}
	for _, tt := range tests {
		if got := ValidWorkspaceID(tt.id); got != tt.want {
			t.Errorf("ValidWorkspaceID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// FuzzTenantKinds: a workspace ID the store accepts names a workspace's
// tenant, which TenantParts reads back as that workspace, and is never
// the name of a key's tenant, whatever the key.
func FuzzTenantKinds(f *testing.F) {
	hashKey := []byte("0123456789abcdef0123456789abcdef")
	for _, seed := range []string{"ws_demo", "key_0123456789abcdef0123", KeyRef(hashKey, "sk_a"), "ws_key.abc", "ws_-"} {
		f.Add(seed, "sk_live_secret")
	}
	f.Fuzz(func(t *testing.T, ws, apiKey string) {
		ref := KeyRef(hashKey, apiKey)
		if !IsKeyRef(ref) || ValidWorkspaceID(ref) {
			t.Fatalf("key ref %q is a valid workspace ID or not a key ref", ref)
		}
		if !ValidWorkspaceID(ws) {
			return
		}
		workspaceTenant, keyTenant := TenantFor("us", ws, ""), TenantFor("us", "", ref)
		if workspaceTenant == keyTenant {
			t.Fatalf("workspace %q and key tenant share the name %q", ws, keyTenant)
		}
		if dep, got := TenantParts(workspaceTenant); dep != "us" || got != ws {
			t.Fatalf("TenantParts(%q) = %q, %q", workspaceTenant, dep, got)
		}
		if _, got := TenantParts(keyTenant); got != "" {
			t.Fatalf("key tenant %q read as workspace %q", keyTenant, got)
		}
	})
}

// TestMigrationRenamesKeyTenants: migration 7 moves everything of a key
// tenant named the old way ("us/key_…") to its new name ("us/key.…"):
// runs, rollups, the tenant row with its service key, connections,
// webhook endpoints and the audit trail; it drops a connection that gave
// the key's name as its workspace ID (a claim on another key's history),
// leaves workspace tenants alone, and keeps the audit log append-only.
func TestMigrationRenamesKeyTenants(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openAt(t, dsn, 6)
		const hex = "0123456789abcdef0123"
		oldRef, newRef := "key_"+hex, KeyRefPrefix+hex
		oldTenant, newTenant := "us/"+oldRef, "us/"+newRef
		const workspaceTenant = "us/ws_alpha"

		for _, tenant := range []string{oldTenant, workspaceTenant} {
			if _, err := s.UpsertRuns(ctx, tenant, []RunObservation{withCreated(processed("edr_1", 1, 900), 1)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SetServiceKey(ctx, oldTenant, "sk_service_secret", "ana@example.com"); err != nil {
			t.Fatal(err)
		}
		owner := newSessionFor(t, s, "owner@example.com")
		claimer := newSessionFor(t, s, "mallory@example.com")
		if _, err := s.AddConnection(ctx, NewConnection{SessionID: owner, Deployment: "us", BaseURL: "https://api.extend.ai",
			Tenant: oldTenant, Key: "sk_owner_key"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddConnection(ctx, NewConnection{SessionID: claimer, Deployment: "us", BaseURL: "https://api.extend.ai",
			WorkspaceID: oldRef, Tenant: oldTenant, Key: "sk_org_key"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateWebhookEndpoint(ctx, NewWebhookEndpoint{Tenant: oldTenant, Origin: "test", Status: "active", CreatedBy: "owner@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendAudit(ctx, AuditEntry{At: at(1), Actor: "owner@example.com", Action: AuditConnect, Tenant: oldTenant, Target: oldRef}); err != nil {
			t.Fatal(err)
		}

		dropFieldReports(t, s, 6)
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		s.noMinuteRollups = false

		runs := func(tenant string) int {
			t.Helper()
			page, err := s.ListRuns(ctx, RunFilter{Tenant: tenant, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Runs)
		}
		total := func(tenant string) int64 {
			t.Helper()
			agg, err := s.RunTotal(ctx, tenant, at(-60), at(60))
			if err != nil {
				t.Fatal(err)
			}
			return agg.Runs[StatusProcessed]
		}
		got := map[string][]int64{
			"runs":    {int64(runs(oldTenant)), int64(runs(newTenant)), int64(runs(workspaceTenant))},
			"rollups": {total(oldTenant), total(newTenant), total(workspaceTenant)},
		}
		want := map[string][]int64{"runs": {0, 1, 1}, "rollups": {0, 1, 1}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("old name, new name, workspace (-want +got):\n%s", diff)
		}
		names, err := s.TenantNames(ctx, 10)
		if err != nil || strings.Join(names, ",") != newTenant+","+workspaceTenant {
			t.Errorf("tenants %q, %v", names, err)
		}
		if tn, err := s.GetTenant(ctx, newTenant); err != nil || tn.WorkspaceID != "" || tn.Deployment != "us" {
			t.Errorf("renamed tenant: %+v, %v", tn, err)
		}
		if key, err := s.ServiceKey(ctx, newTenant); err != nil || key != "sk_service_secret" {
			t.Errorf("service key after the rename: %q, %v", key, err)
		}
		if conns, err := s.ListConnections(ctx, owner); err != nil || len(conns) != 1 || conns[0].Tenant != newTenant {
			t.Errorf("owner's connections: %+v, %v", conns, err)
		}
		if conns, err := s.ListConnections(ctx, claimer); err != nil || len(conns) != 0 {
			t.Errorf("the claim on the key's tenant survived: %+v, %v", conns, err)
		}
		if eps, err := s.ListWebhookEndpoints(ctx, newTenant); err != nil || len(eps) != 1 {
			t.Errorf("webhook endpoints of the new name: %+v, %v", eps, err)
		}
		entries, _, err := s.ListAudit(ctx, AuditFilter{Tenant: newTenant})
		if err != nil || len(entries) != 1 || entries[0].Target != newRef {
			t.Errorf("audit trail under the new name: %+v, %v", entries, err)
		}
		if _, err := s.exec(ctx, `UPDATE audit_log SET actor = 'x'`); err == nil {
			t.Error("the audit log accepts updates after the migration")
		}

		// Down restores the old names.
		provider, err := s.migrationProvider(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := provider.DownTo(ctx, 6); err != nil {
			t.Fatal(err)
		}
		if runs(oldTenant) != 1 || runs(newTenant) != 0 {
			t.Errorf("after down: %d runs under the old name, %d under the new", runs(oldTenant), runs(newTenant))
		}
	})
}

// openAt opens dsn migrated up to version only.
func openAt(t *testing.T, dsn string, version int64) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, dsn, nil, WithSealer(newTestSealer(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	provider, err := s.migrationProvider(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	s.noMinuteRollups = version < 10
	if version < 13 {
		// Today's code writes the field_reports column of migration 13:
		// give the old rollup tables that column while the test writes
		// history the old schema would hold (dropFieldReports removes it).
		for _, table := range fieldReportTables(version) {
			if _, err := s.exec(ctx, `ALTER TABLE `+table+` ADD COLUMN field_reports INTEGER NOT NULL DEFAULT 0`); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

// fieldReportTables are the rollup tables of a schema at version.
func fieldReportTables(version int64) []string {
	tables := []string{hourRollups.name, dayRollups.name}
	if version >= 10 {
		tables = append(tables, minuteRollups.name)
	}
	return tables
}

// dropFieldReports takes back what openAt added to a schema at version,
// before the test migrates it.
func dropFieldReports(t *testing.T, s *Store, version int64) {
	t.Helper()
	for _, table := range fieldReportTables(version) {
		if _, err := s.exec(context.Background(), `ALTER TABLE `+table+` DROP COLUMN field_reports`); err != nil {
			t.Fatal(err)
		}
	}
}

func newSessionFor(t *testing.T, s *Store, identity string) string {
	t.Helper()
	sess, err := s.CreateSession(context.Background(), identity, []byte("{}"), testLifetime)
	if err != nil {
		t.Fatal(err)
	}
	return sess.ID
}

func TestCurrentKeyRef(t *testing.T) {
	const hex = "0123456789abcdef0123"
	tests := []struct{ in, want string }{
		{"key_" + hex, KeyRefPrefix + hex},
		{KeyRefPrefix + hex, KeyRefPrefix + hex},
		{"ws_demo", "ws_demo"},
		{"key_" + hex + "0", "key_" + hex + "0"},
		{"key_0123456789ABCDEF0123", "key_0123456789ABCDEF0123"},
		{"key_", "key_"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := CurrentKeyRef(tt.in); got != tt.want {
			t.Errorf("CurrentKeyRef(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
