package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
)

// runSeed writes synthetic history into the tenant that the deployment
// flags and --tenant name, so it appears once someone connects to that
// workspace: `editwatch seed --sandbox --tenant ws_demo` fills the demo
// workspace of `editwatch --sandbox` on the same --db.
func runSeed(ctx context.Context, cfg config.Seed, logger *slog.Logger, stdout io.Writer) error {
	st, err := store.Open(ctx, cfg.DB, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	tenant := store.TenantFor(cfg.Deployment(), cfg.Tenant, "")
	started := time.Now()
	lastReport := started
	rep, err := monitor.Seed(ctx, st, tenant, monitor.SeedOptions{
		Runs: cfg.Runs, Days: cfg.Days, RandomSeed: cfg.RandomSeed,
		Progress: func(written int) {
			if now := time.Now(); now.Sub(lastReport) >= 5*time.Second || written == cfg.Runs {
				lastReport = now
				fmt.Fprintf(stdout, "  %d of %d runs (%.0f/s)\n", written, cfg.Runs, float64(written)/now.Sub(started).Seconds())
			}
		},
	})
	if err != nil {
		return err
	}
	elapsed := time.Since(started)
	fmt.Fprintf(stdout, "seeded %d synthetic runs into %s in %s (%.0f runs/s): %d processed, %d failed, %d processing; %s to %s\n",
		rep.Runs, tenant, elapsed.Round(time.Millisecond), float64(rep.Runs)/elapsed.Seconds(),
		rep.Processed, rep.Failed, rep.Processing, rep.From.Format(time.DateTime), rep.To.Format(time.DateTime))
	return nil
}
