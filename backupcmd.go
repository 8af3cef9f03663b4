package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/store"
)

// runBackup writes a consistent copy of a SQLite store (VACUUM INTO)
// while the dashboard may keep running on it. It does not migrate: a
// backup copies the store as it is.
func runBackup(ctx context.Context, cfg config.Backup, logger *slog.Logger, stdout io.Writer) error {
	if _, err := os.Stat(cfg.DB); err != nil && !config.IsPostgresDSN(cfg.DB) {
		return fmt.Errorf("backup: %w", err)
	}
	st, err := store.Open(ctx, cfg.DB, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	started := time.Now()
	if err := st.Backup(ctx, cfg.Out); err != nil {
		return err
	}
	info, err := os.Stat(cfg.Out)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes) in %s\n", cfg.DB, cfg.Out, info.Size(), time.Since(started).Round(time.Millisecond))
	return nil
}
