package store

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/store/storetest"
)

// TestSQLiteFilesArePrivate: the database, its WAL and its shared-memory
// file are 0600 in a 0700 folder, whether Open creates them or finds them
// readable by others (then it tightens them and logs it).
func TestSQLiteFilesArePrivate(t *testing.T) {
	tests := []struct {
		name     string
		existing fs.FileMode // 0: Open creates the database
		wantLog  bool
	}{
		{"created", 0, false},
		{"existing, readable by all", 0o644, true},
		{"existing, writable by the group", 0o660, true},
		{"existing, private", 0o600, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := storetest.SQLiteDSN(t)
			if tt.existing != 0 {
				s := openMigrated(t, path)
				s.Close()
				// Close checkpointed and removed the WAL and the shared
				// memory; empty ones stand for those a crash leaves.
				for _, name := range []string{path + "-wal", path + "-shm"} {
					if err := os.WriteFile(name, nil, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				for _, name := range []string{path, path + "-wal", path + "-shm"} {
					if err := os.Chmod(name, tt.existing); err != nil {
						t.Fatal(err)
					}
				}
			}
			var logs bytes.Buffer
			s, err := Open(ctx, path, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.PutSetting(ctx, "file-modes-test", "x"); err != nil {
				t.Fatal(err)
			}
			if info, err := os.Stat(filepath.Dir(path)); err != nil || info.Mode().Perm() != 0o700 {
				t.Errorf("folder: %v, %v; want 0700", info.Mode().Perm(), err)
			}
			for _, name := range []string{path, path + "-wal", path + "-shm"} {
				info, err := os.Stat(name)
				if err != nil {
					t.Fatal(err)
				}
				if info.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v, want 0600", filepath.Base(name), info.Mode().Perm())
				}
			}
			if logged := strings.Contains(logs.String(), "restricted a database file"); logged != tt.wantLog {
				t.Errorf("logged the tightening: %v, want %v\n%s", logged, tt.wantLog, logs.String())
			}
		})
	}
}
