package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The shapes of the runs list's queries, per dialect: which index drives
// a search is what keeps its cost bounded on a large history, so a change
// of shape must be deliberate.
func TestRunSQL(t *testing.T) {
	const cols = "COLS"
	tests := []struct {
		name     string
		dialect  *dialect
		query    runQuery
		wantSQL  string
		wantArgs []any
	}{
		{"list", sqliteDialect, runQuery{filter: RunFilter{Tenant: "t", Status: "FAILED"}, limit: 5},
			`SELECT COLS FROM run_snapshots WHERE tenant = ? AND deleted_at IS NULL AND status = ? ORDER BY at DESC, id DESC LIMIT ?`,
			[]any{"t", "FAILED", 5}},
		{"common name, window", postgresDialect, runQuery{filter: RunFilter{Tenant: "t", FileName: "acme"}, limit: 5, window: 2000},
			`SELECT COLS FROM (SELECT COLS FROM run_snapshots WHERE tenant = $1 AND deleted_at IS NULL ORDER BY at DESC, id DESC LIMIT $2) w ` +
				`WHERE file_name ILIKE $3 ESCAPE '\' ORDER BY at DESC, id DESC LIMIT $4`,
			[]any{"t", 2000, "%acme%", 5}},
		{"window count", sqliteDialect, runQuery{filter: RunFilter{Tenant: "t", FileName: "acme"}, window: 2000, countWindow: true},
			`SELECT COUNT(*) FROM (SELECT 1 FROM run_snapshots WHERE tenant = ? AND deleted_at IS NULL LIMIT ?) w`,
			[]any{"t", 2000}},
		{"rare name, SQLite: from the trigram table", sqliteDialect,
			runQuery{filter: RunFilter{Tenant: "t", FileName: "ac_me", Status: "FAILED"}, limit: 5, byIndex: true},
			`SELECT COLS FROM run_snapshots WHERE id IN (SELECT rowid FROM run_snapshot_names WHERE run_snapshot_names MATCH ?) ` +
				`AND +tenant = ? AND deleted_at IS NULL AND +status = ? AND file_name LIKE ? ESCAPE '\' ORDER BY at DESC, id DESC LIMIT ?`,
			[]any{`"ac_me"`, "t", "FAILED", `%ac\_me%`, 5}},
		{"rare name, PostgreSQL: the ILIKE reads pg_trgm", postgresDialect,
			runQuery{filter: RunFilter{Tenant: "t", FileName: "acme"}, limit: 5, byIndex: true},
			`SELECT COLS FROM run_snapshots WHERE tenant = $1 AND deleted_at IS NULL AND file_name ILIKE $2 ESCAPE '\' ORDER BY at DESC, id DESC LIMIT $3`,
			[]any{"t", "%acme%", 5}},
		{"rare prefix, SQLite: the run-ID index", sqliteDialect,
			runQuery{filter: RunFilter{Tenant: "t", RunIDPrefix: "edr_"}, limit: 5, byIndex: true},
			`SELECT COLS FROM run_snapshots INDEXED BY run_snapshots_run WHERE tenant = ? AND deleted_at IS NULL AND run_id >= ? AND run_id < ? ORDER BY at DESC, id DESC LIMIT ?`,
			[]any{"t", "edr_", "edr`", 5}},
		{"short name by index: no trigram, plain", sqliteDialect,
			runQuery{filter: RunFilter{Tenant: "t", FileName: "ac"}, limit: 5, byIndex: true},
			`SELECT COLS FROM run_snapshots WHERE tenant = ? AND deleted_at IS NULL AND file_name LIKE ? ESCAPE '\' ORDER BY at DESC, id DESC LIMIT ?`,
			[]any{"t", "%ac%", 5}},
	}
	for _, tt := range tests {
		s := &Store{d: tt.dialect}
		q, args, err := s.runSQL(tt.query)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := strings.Join(strings.Fields(strings.ReplaceAll(tt.dialect.rebind(q), snapshotColumns, cols)), " ")
		if diff := cmp.Diff(tt.wantSQL, got); diff != "" {
			t.Errorf("%s: SQL (-want +got):\n%s", tt.name, diff)
		}
		if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
			t.Errorf("%s: args (-want +got):\n%s", tt.name, diff)
		}
	}
	if _, _, err := (&Store{d: sqliteDialect}).runSQL(runQuery{filter: RunFilter{Tenant: "t", Cursor: "bad"}}); !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("a bad cursor: %v, want ErrInvalidCursor", err)
	}
}
