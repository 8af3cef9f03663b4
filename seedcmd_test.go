package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store"
)

// TestSeedThenBackup runs the two commands as a person would: seed the
// sandbox's demo workspace, back the store up, and find the history in
// the copy under the tenant the dashboard uses for the demo key.
func TestSeedThenBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "editwatch.db")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"seed", "--sandbox", "--db", db, "--tenant", "ws_demo", "--runs", "3000", "--days", "7"}, func(string) string { return "" }, &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "seeded 3000 synthetic runs into sandbox/ws_demo") {
		t.Fatalf("seed exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	out := filepath.Join(dir, "backups", "copy.db")
	stdout.Reset()
	if code := run(ctx, []string{"backup", "--db", db, "--out", out}, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("backup exit %d: %s", code, stderr.String())
	}
	st, err := store.Open(ctx, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	counts, err := st.CountRuns(ctx, store.TenantFor("sandbox", "ws_demo", ""), time.Time{}, time.Time{})
	if err != nil || counts.Total != 3000 {
		t.Fatalf("runs in the backup: %+v %v", counts, err)
	}
	// A second backup to the same file is refused; PostgreSQL points to pg_dump.
	stderr.Reset()
	if code := run(ctx, []string{"backup", "--db", db, "--out", out}, func(string) string { return "" }, &stdout, &stderr); code == 0 {
		t.Fatal("backup over an existing file succeeded")
	}
	if dsn := os.Getenv("EDITWATCH_TEST_POSTGRES"); dsn != "" {
		stderr.Reset()
		if code := run(ctx, []string{"backup", "--db", dsn, "--out", filepath.Join(dir, "pg.db")}, func(string) string { return "" }, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "pg_dump") {
			t.Fatalf("PostgreSQL backup: exit %d, %s", code, stderr.String())
		}
	}
}
