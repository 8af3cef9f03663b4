package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func TestTenantNames(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	ref := KeyRef(key, "sk_live_secret")
	if ref == KeyRef(key, "sk_live_other") || ref != KeyRef(key, "sk_live_secret") || len(ref) != len(KeyRefPrefix)+20 {
		t.Fatalf("KeyRef %q not a stable, distinct 10-byte hash", ref)
	}
	tests := []struct {
		dep, ws, hash, tenant, wantDep, wantWS string
	}{
		{"us", "ws_demo", "", "us/ws_demo", "us", "ws_demo"},
		{"sandbox", "ws_demo", ref, "sandbox/ws_demo", "sandbox", "ws_demo"},
		{"eu1", "", ref, "eu1/" + ref, "eu1", ""},
		{"http://127.0.0.1:8081/_sandbox", "ws_x", "", "http://127.0.0.1:8081/_sandbox/ws_x", "http://127.0.0.1:8081/_sandbox", "ws_x"},
	}
	for _, tt := range tests {
		got := TenantFor(tt.dep, tt.ws, tt.hash)
		if got != tt.tenant {
			t.Errorf("TenantFor(%q, %q) = %q, want %q", tt.dep, tt.ws, got, tt.tenant)
		}
		if dep, ws := TenantParts(got); dep != tt.wantDep || ws != tt.wantWS {
			t.Errorf("TenantParts(%q) = %q, %q", got, dep, ws)
		}
	}
}

func TestTenantHistoryFlagsAndProof(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn)
		if _, err := s.GetTenant(ctx, tenantA); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown tenant: %v", err)
		}
		if err := s.InsertSyntheticRuns(ctx, tenantA, []RunSnapshot{{RunID: "edr_seed", RunFacts: RunFacts{Status: StatusProcessed, CreatedAt: at(1)}}}); err != nil {
			t.Fatal(err)
		}
		tn, err := s.GetTenant(ctx, tenantA)
		if err != nil || !tn.HistorySynthetic || tn.HistoryFromExtend || tn.WorkspaceID != "ws_alpha" || tn.Deployment != "us" {
			t.Fatalf("after seed: %+v %v", tn, err)
		}
		// Synthetic runs never prove access.
		if _, err := s.ProofRunIDs(ctx, tenantA, 3); !errors.Is(err, ErrNotFound) {
			t.Fatalf("proof from synthetic history: %v", err)
		}
		if _, err := s.UpsertRuns(ctx, tenantA, []RunObservation{processing("edr_real", 2), processing("edr_newer", 3)}); err != nil {
			t.Fatal(err)
		}
		ids, err := s.ProofRunIDs(ctx, tenantA, 3)
		if err != nil || strings.Join(ids, ",") != "edr_newer,edr_real" {
			t.Fatalf("proofs = %q, %v; want the runs from Extend, newest first", ids, err)
		}
		// A run known deleted proves nothing.
		if _, err := s.MarkRunDeleted(ctx, tenantA, "edr_newer", at(4)); err != nil {
			t.Fatal(err)
		}
		if ids, err := s.ProofRunIDs(ctx, tenantA, 3); err != nil || strings.Join(ids, ",") != "edr_real" {
			t.Fatalf("proofs after a deletion = %q, %v", ids, err)
		}
		if err := s.MarkTenantSynced(ctx, tenantA, at(9)); err != nil {
			t.Fatal(err)
		}
		tn, _ = s.GetTenant(ctx, tenantA)
		if !tn.HistorySynthetic || !tn.HistoryFromExtend || !tn.SyncedAt.Equal(at(9)) {
			t.Fatalf("flags: %+v", tn)
		}
		since, err := s.HistorySince(ctx, tenantA)
		if err != nil || !since.Equal(at(1)) {
			t.Fatalf("history since %s %v", since, err)
		}
	})
}

func TestPurgeHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn)
		var obs []RunObservation
		for i := range 10 {
			obs = append(obs, withCreated(processed("edr_"+string(rune('a'+i)), 0, 1000), i*6*60))
		}
		if _, err := s.UpsertRuns(ctx, tenantA, obs); err != nil {
			t.Fatal(err)
		}
		// Cut at 10:00 on the third day: the runs before its midnight
		// (39 hours after the first) go: 7 of them, with their days.
		n, err := s.PurgeHistoryBefore(ctx, testStart.Add(49*time.Hour))
		if err != nil || n != 7 {
			t.Fatalf("purged %d, %v; want 7", n, err)
		}
		if diff := cmp.Diff(recomputedRollups(t, s, tenantA), storedRollups(t, s, tenantA)); diff != "" {
			t.Fatalf("rollups and snapshots disagree after the purge (-recomputed +stored):\n%s", diff)
		}
		page, _ := s.ListRuns(ctx, RunFilter{Tenant: tenantA, FileName: "edr_a"})
		if len(page.Runs) != 0 {
			t.Fatalf("purged run still found by name: %v", runIDs(page.Runs))
		}
		counts, _ := s.CountRuns(ctx, tenantA, time.Time{}, time.Time{})
		if counts.Total != 3 {
			t.Fatalf("counts after purge: %+v", counts)
		}
	})
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, storetest.SQLiteDSN(t))
	if _, err := s.UpsertRuns(ctx, tenantA, []RunObservation{processed("edr_1", 1, 500)}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "backups", "copy.db")
	if err := s.Backup(ctx, out); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, out); err == nil {
		t.Fatal("backup over an existing file succeeded")
	}
	info, err := os.Stat(out)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", info, err)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*tmp"))
	if len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
	copyStore := openMigrated(t, out)
	got, err := copyStore.GetRun(ctx, tenantA, "edr_1")
	if err != nil || got.Status != StatusProcessed {
		t.Fatalf("run in the copy: %+v %v", got, err)
	}
	page, err := copyStore.ListRuns(ctx, RunFilter{Tenant: tenantA, FileName: "edr_1"})
	if err != nil || len(page.Runs) != 1 {
		t.Fatalf("search in the copy: %v %v", page, err)
	}
}

func TestBackupRefusesPostgres(t *testing.T) {
	s := openMigrated(t, storetest.PostgresDSN(t))
	if err := s.Backup(context.Background(), filepath.Join(t.TempDir(), "x.db")); !errors.Is(err, ErrBackupUnsupported) {
		t.Fatalf("Backup on PostgreSQL: %v", err)
	}
}
