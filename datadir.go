package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// groupOtherBits are the permission bits a data folder and its files must
// not have: they hold run history, sessions, sealed keys, the sandbox's
// key secrets and state, and backups.
const groupOtherBits fs.FileMode = 0o077

// restrictDataDir takes group and other access away from dir and from
// everything in it (folders become 0700, files 0600), so a data folder
// made by an older Editwatch, by hand or under a loose umask is private
// from this start on. It logs what it tightened, once, and warns about
// what it could not (a file of another user): that does not stop the
// start, a data folder it cannot read does. A missing dir is fine:
// whoever first writes in it creates it 0700. Symbolic links are neither
// followed nor changed.
func restrictDataDir(dir string, logger *slog.Logger) error {
	if dir == "" {
		return nil
	}
	// A data folder that is a symbolic link (to another disk) is
	// restricted where it points.
	dir, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	var tightened, failed []string
	var firstErr error
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			failed, firstErr = append(failed, path), cmp.Or(firstErr, err)
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 || !(d.IsDir() || d.Type().IsRegular()) {
			return nil
		}
		info, err := d.Info()
		if err == nil && info.Mode().Perm()&groupOtherBits == 0 {
			return nil
		}
		if err == nil {
			err = os.Chmod(path, info.Mode().Perm()&^groupOtherBits)
		}
		if err != nil {
			failed, firstErr = append(failed, path), cmp.Or(firstErr, err)
			return nil
		}
		tightened = append(tightened, path)
		return nil
	})
	if err != nil {
		return fmt.Errorf("data folder %s: %w", dir, err)
	}
	const shown = 10
	if len(tightened) > 0 {
		logger.Info("restricted the data folder to its owner: it and its files were readable by others",
			"dir", dir, "changed", len(tightened), "paths", tightened[:min(shown, len(tightened))])
	}
	if len(failed) > 0 {
		logger.Warn("could not restrict some of the data folder to its owner: fix their owner or mode by hand",
			"dir", dir, "failed", len(failed), "paths", failed[:min(shown, len(failed))], "err", firstErr)
	}
	return nil
}
