package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrBackupUnsupported reports a backup asked of a PostgreSQL store.
var ErrBackupUnsupported = errors.New("store: backup copies SQLite stores only; back up PostgreSQL with pg_dump (for example `pg_dump --format=custom --file=editwatch.dump \"$DATABASE_URL\"`)")

// Backup writes a consistent copy of a SQLite store to path with VACUUM
// INTO, while the store stays in use: the copy is one read transaction's
// view, compacted. It writes to a temporary file beside path and links it
// into place, so path never holds half a copy; an existing path is an error.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.d.name != DialectSQLite {
		return ErrBackupUnsupported
	}
	if path == "" {
		return errors.New("store: backup: no output file")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup: %s exists; choose a new file name", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	// VACUUM INTO refuses a file that exists and is not empty; the empty
	// temporary file is fine, and it reserved a unique name.
	defer os.Remove(tmpPath)
	if _, err := s.write.ExecContext(ctx, `VACUUM INTO ?`, tmpPath); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := os.Chmod(tmpPath, 0o600); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	// A hard link, unlike a rename, never replaces a file that appeared
	// at path meanwhile.
	if err := os.Link(tmpPath, path); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}
