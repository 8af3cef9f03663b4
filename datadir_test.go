package main

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/config"
)

// TestRestrictDataDir: a data folder left readable by others (an older
// Editwatch, a loose umask) is restricted at start: folders 0700, files
// 0600 (owner bits kept), symbolic links untouched, one log line; a second
// start finds nothing to do and says nothing.
func TestRestrictDataDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	outside := filepath.Join(root, "outside.txt")
	layout := []struct {
		path string
		mode fs.FileMode
		dir  bool
	}{
		{"", 0o755, true},
		{"editwatch.db", 0o644, false},
		{"editwatch.db-wal", 0o664, false},
		{"editwatch.db-shm", 0o644, false},
		{"secrets.json", 0o600, false},
		{"backup-2026-12-01.db", 0o644, false},
		{"sandbox", 0o775, true},
		{"sandbox/state.json", 0o644, false},
		{"sandbox/files", 0o755, true},
		{"sandbox/files/file_1", 0o640, false},
		{"tool.sh", 0o755, false},
	}
	for _, l := range layout {
		p := filepath.Join(dir, l.path)
		if l.dir {
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, l.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	if err := restrictDataDir(dir, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	got := map[string]fs.FileMode{}
	want := map[string]fs.FileMode{}
	for _, l := range layout {
		info, err := os.Stat(filepath.Join(dir, l.path))
		if err != nil {
			t.Fatal(err)
		}
		got[l.path] = info.Mode().Perm()
		want[l.path] = 0o600
		if l.dir || l.path == "tool.sh" {
			want[l.path] = 0o700
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
	if info, err := os.Stat(outside); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("the file a link points to outside the folder changed: %v, %v", info.Mode().Perm(), err)
	}
	if n := strings.Count(logs.String(), "restricted the data folder"); n != 1 || !strings.Contains(logs.String(), "changed=10") {
		t.Errorf("want one log line counting 10 changes:\n%s", logs.String())
	}

	logs.Reset()
	if err := restrictDataDir(dir, slog.New(slog.NewTextHandler(&logs, nil))); err != nil || logs.Len() != 0 {
		t.Errorf("second start: %v, logged %q", err, logs.String())
	}
	if err := restrictDataDir(filepath.Join(root, "missing"), slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "missing")); err == nil {
		t.Error("restricting a missing folder created it")
	}
}

// TestServeRestrictsDataFolder: `editwatch --sandbox` restricts a data
// folder it finds readable by others before it opens anything in it, and
// everything it creates there while running (database, WAL, shared
// memory, secrets, the sandbox's state and files) is private.
func TestServeRestrictsDataFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, stop := startServe(t, dir)
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		seen[filepath.Base(path)] = true
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, open to others", path, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"editwatch.db", "editwatch.db-wal", "editwatch.db-shm", secretsFileName, "sandbox", "files"} {
		if !seen[name] {
			t.Errorf("no %s in the data folder while serving; found %v", name, seen)
		}
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func TestKeyHint(t *testing.T) {
	tests := []struct{ key, want string }{
		{"sk_sandbox_demo", "…demo"},
		{"sk_live_0123456789abcdef", "…cdef"},
		{"short", "…(hidden)"},
		{"", "…(hidden)"},
	}
	for _, tt := range tests {
		if got := keyHint(tt.key); got != tt.want {
			t.Errorf("keyHint(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestSandboxPrintsOnlyKeyEnds: the standalone sandbox's start banner
// tells keys apart by their last four characters and never prints one
// whole.
func TestSandboxPrintsOnlyKeyEnds(t *testing.T) {
	keys := map[string]string{"sk_sandbox_demo": "ws_demo", "sk_org_0123456789abcdef": "*"}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	cfg := config.Sandbox{Listen: "127.0.0.1:0", APIKeys: keys}
	if err := runSandbox(ctx, cfg, slog.New(slog.DiscardHandler), &out); err != nil {
		t.Fatal(err)
	}
	for key := range keys {
		if strings.Contains(out.String(), key) {
			t.Errorf("the banner prints key %q whole:\n%s", key, out.String())
		}
	}
	for _, hint := range []string{"…demo for ws_demo", "…cdef for any workspace"} {
		if !strings.Contains(out.String(), hint) {
			t.Errorf("the banner lacks %q:\n%s", hint, out.String())
		}
	}
}
