package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/store"
)

// runMigrate applies the store's migrations to --db and reports the schema
// version. Serving does the same at start; this command lets a deployment
// migrate once before rolling out replicas.
func runMigrate(ctx context.Context, cfg config.Serve, logger *slog.Logger, stdout io.Writer) error {
	st, err := store.Open(ctx, cfg.DB, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	current, latest, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s store at schema version %d (latest %d)\n", st.Dialect(), current, latest)
	return nil
}
