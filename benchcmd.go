package main

import (
	"context"
	"fmt"
	"io"

	"github.com/editwatch/editwatch/bench"
	"github.com/editwatch/editwatch/config"
)

// runBench is `editwatch bench`: the load harness runs this very binary as
// `editwatch seed` and `editwatch --sandbox` and prints what it measured.
// The report is printed whatever happened during the load; failed requests
// then make the command fail too, so `make bench` cannot pass on errors.
func runBench(ctx context.Context, cfg config.Bench, stdout io.Writer) error {
	rep, err := bench.Run(ctx, bench.Options{Bench: cfg, Progress: stdout})
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if cfg.Out != "" {
		if err := rep.WriteJSON(cfg.Out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "result written to %s\n", cfg.Out)
	}
	if n := rep.Errors(); n > 0 {
		return fmt.Errorf("%d requests, streams or run creations failed during the load: see the errors column and the messages under the table", n)
	}
	return nil
}
