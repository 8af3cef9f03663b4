package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// privateMode is what the database's files get: they hold run history,
// sessions and sealed keys, readable by the process's user only.
const privateMode fs.FileMode = 0o600

// sqliteCompanions are the files SQLite keeps beside a database.
var sqliteCompanions = []string{"-wal", "-shm", "-journal"}

// privateSQLiteFiles creates the database file with mode 0600 when it is
// missing (SQLite gives its -wal, -shm and -journal files the database
// file's mode, so they follow), and takes group and other access away from
// an existing database and its companions, logging each file it tightened.
func (s *Store) privateSQLiteFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, privateMode)
	switch {
	case err == nil:
		return f.Close()
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	for _, name := range append([]string{path}, companionPaths(path)...) {
		info, err := os.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if !info.Mode().IsRegular() || info.Mode().Perm()&0o077 == 0 {
			continue
		}
		tightened := info.Mode().Perm() &^ 0o077
		if err := os.Chmod(name, tightened); err != nil {
			return fmt.Errorf("store: restrict %s to its owner: %w", name, err)
		}
		s.logger.Info("store: restricted a database file to its owner", "file", name,
			"was", info.Mode().Perm().String(), "now", tightened.String())
	}
	return nil
}

func companionPaths(path string) []string {
	paths := make([]string, len(sqliteCompanions))
	for i, suffix := range sqliteCompanions {
		paths[i] = path + suffix
	}
	return paths
}
