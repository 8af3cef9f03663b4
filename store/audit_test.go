package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func TestAuditAppendAndList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clock := storetest.NewClock(testStart)
		s := openMigrated(t, dsn, WithClock(clock.Now))

		entries := []AuditEntry{
			{Actor: "ada@example.com", SessionID: "session-a", Action: AuditConnect, Tenant: "us/ws_1", Detail: "key …1234", RequestID: "req_1"},
			{Actor: "ada@example.com", SessionID: "session-a", Action: AuditCreate, Tenant: "us/ws_1", Target: "edr_1"},
			{Actor: "bob@example.com", SessionID: "session-b", Action: AuditReveal, Tenant: "us/ws_2", Target: "edr_2", Detail: "field ssn"},
			{Actor: "ada@example.com", SessionID: "session-a", Action: AuditDelete, Tenant: "us/ws_1", Target: "edr_1"},
			{Actor: AuditActorSingleUser, Action: AuditDownload, Tenant: "us/ws_1", Target: "edr_3"},
		}
		ids := make([]int64, len(entries))
		for i, e := range entries {
			id, err := s.AppendAudit(ctx, e)
			if err != nil {
				t.Fatalf("AppendAudit %d: %v", i, err)
			}
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("AppendAudit IDs not increasing: %d after %d", id, ids[i-1])
			}
			ids[i] = id
			clock.Advance(time.Minute)
		}
		// What ListAudit returns for entry i: the session ID replaced by its
		// fingerprint, the time set by the clock.
		stored := func(i int) AuditEntry {
			e := entries[i]
			e.ID = ids[i]
			e.At = testStart.Add(time.Duration(i) * time.Minute)
			e.SessionRef = SessionFingerprint(e.SessionID)
			e.SessionID = ""
			return e
		}
		tests := []struct {
			name string
			f    AuditFilter
			want []int // indexes into entries, newest first
		}{
			{"all", AuditFilter{}, []int{4, 3, 2, 1, 0}},
			{"actor", AuditFilter{Actor: "ada@example.com"}, []int{3, 1, 0}},
			{"action", AuditFilter{Action: AuditReveal}, []int{2}},
			{"tenant", AuditFilter{Tenant: "us/ws_1"}, []int{4, 3, 1, 0}},
			{"target", AuditFilter{Target: "edr_1"}, []int{3, 1}},
			{"since inclusive", AuditFilter{Since: testStart.Add(3 * time.Minute)}, []int{4, 3}},
			{"until exclusive", AuditFilter{Until: testStart.Add(2 * time.Minute)}, []int{1, 0}},
			{"combined", AuditFilter{Actor: "ada@example.com", Tenant: "us/ws_1", Since: testStart.Add(time.Minute)}, []int{3, 1}},
			{"before cursor", AuditFilter{Before: ids[2]}, []int{1, 0}},
			{"nothing", AuditFilter{Actor: "nobody"}, []int{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, next, err := s.ListAudit(ctx, tt.f)
				if err != nil {
					t.Fatalf("ListAudit: %v", err)
				}
				want := make([]AuditEntry, 0, len(tt.want))
				for _, i := range tt.want {
					want = append(want, stored(i))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("ListAudit (-want +got):\n%s", diff)
				}
				if next != 0 {
					t.Fatalf("nextCursor = %d, want 0 (everything fits one page)", next)
				}
			})
		}

		t.Run("paging", func(t *testing.T) {
			var seen []int64
			var cursor int64
			for page := 0; ; page++ {
				got, next, err := s.ListAudit(ctx, AuditFilter{Limit: 2, Before: cursor})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) > 2 {
					t.Fatalf("page %d has %d entries, limit 2", page, len(got))
				}
				for _, e := range got {
					seen = append(seen, e.ID)
				}
				if next == 0 {
					break
				}
				if next != got[len(got)-1].ID {
					t.Fatalf("page %d: nextCursor %d is not the last entry's ID %d", page, next, got[len(got)-1].ID)
				}
				cursor = next
			}
			want := []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}
			if diff := cmp.Diff(want, seen); diff != "" {
				t.Fatalf("paged IDs (-want +got):\n%s", diff)
			}
		})

		t.Run("no session id stored", func(t *testing.T) {
			var refs string
			if err := s.queryRow(ctx, `SELECT session_ref FROM audit_log WHERE id = ?`, ids[0]).Scan(&refs); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(refs, "session-a") || refs != SessionFingerprint("session-a") {
				t.Fatalf("session_ref = %q, want the fingerprint %q", refs, SessionFingerprint("session-a"))
			}
		})

		t.Run("append only", func(t *testing.T) {
			if _, err := s.exec(ctx, `UPDATE audit_log SET actor = ? WHERE id = ?`, "mallory", ids[0]); err == nil {
				t.Fatal("UPDATE audit_log succeeded; the table must be append-only")
			}
		})

		t.Run("purge", func(t *testing.T) {
			n, err := s.PurgeAuditBefore(ctx, testStart.Add(2*time.Minute))
			if err != nil || n != 2 {
				t.Fatalf("PurgeAuditBefore = %d, %v; want 2", n, err)
			}
			got, _, err := s.ListAudit(ctx, AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got[len(got)-1].ID != ids[2] {
				t.Fatalf("after purge: %d entries, oldest %d; want 3, oldest %d", len(got), got[len(got)-1].ID, ids[2])
			}
		})
	})
}

func TestAuditValidation(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, storetest.SQLiteDSN(t))
	for _, e := range []AuditEntry{{Action: AuditConnect}, {Actor: "ada"}} {
		if _, err := s.AppendAudit(ctx, e); err == nil {
			t.Errorf("AppendAudit(%+v) succeeded without actor or action", e)
		}
	}
	got, _, err := s.ListAudit(ctx, AuditFilter{Limit: 10_000})
	if err != nil || len(got) != 0 {
		t.Fatalf("ListAudit = %d entries, %v", len(got), err)
	}
}

func TestSettings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn)
		steps := []struct {
			op, key, value string
			want           string
			wantErr        error
		}{
			{op: "get", key: "webhooks", wantErr: ErrNotFound},
			{op: "put", key: "webhooks", value: `{"a":1}`},
			{op: "get", key: "webhooks", want: `{"a":1}`},
			{op: "put", key: "webhooks", value: `{"a":2}`},
			{op: "get", key: "webhooks", want: `{"a":2}`},
			{op: "get", key: "other", wantErr: ErrNotFound},
			{op: "delete", key: "webhooks"},
			{op: "get", key: "webhooks", wantErr: ErrNotFound},
			{op: "delete", key: "webhooks"},
		}
		for i, st := range steps {
			var (
				got string
				err error
			)
			switch st.op {
			case "get":
				got, err = s.GetSetting(ctx, st.key)
			case "put":
				err = s.PutSetting(ctx, st.key, st.value)
			case "delete":
				err = s.DeleteSetting(ctx, st.key)
			}
			if st.wantErr != nil {
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("step %d %s %s: err = %v, want %v", i, st.op, st.key, err, st.wantErr)
				}
				continue
			}
			if err != nil || got != st.want {
				t.Fatalf("step %d %s %s = %q, %v; want %q", i, st.op, st.key, got, err, st.want)
			}
		}
	})
}
