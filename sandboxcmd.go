package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/sandbox"
)

// runSandbox serves the Extend-compatible sandbox alone until ctx ends.
func runSandbox(ctx context.Context, cfg config.Sandbox, logger *slog.Logger, stdout io.Writer) error {
	if err := restrictDataDir(cfg.DataDir, logger); err != nil {
		return err
	}
	sb, err := sandbox.New(sandboxOptions(cfg, logger))
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer sb.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another --listen)", cfg.Listen, err)
	}
	fmt.Fprintf(stdout, "Extend sandbox listening on http://%s\n", ln.Addr())
	keys := make([]string, 0, len(cfg.APIKeys))
	for k := range cfg.APIKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ws := cfg.APIKeys[k]
		if ws == "*" {
			ws = "any workspace (organization key: send x-extend-workspace-id)"
		}
		fmt.Fprintf(stdout, "  accepts key %s for %s\n", keyHint(k), ws)
	}
	if cfg.DataDir == "" {
		fmt.Fprintln(stdout, "  state is in memory: use --data-dir to keep it across restarts")
	}
	return serveHTTP(ctx, newHTTPServer(sb, logger), ln, logger, nil)
}

// keyHint names an API key by its last four characters, enough to tell
// keys apart in a terminal or a log collector without handing them out;
// a key too short for that is not shown at all.
func keyHint(key string) string {
	if last4 := extendapi.APIKey(key).Last4(); last4 != "" {
		return "…" + last4
	}
	return "…(hidden)"
}

func sandboxOptions(cfg config.Sandbox, logger *slog.Logger) sandbox.Options {
	return sandbox.Options{
		APIKeys:          cfg.APIKeys,
		DataDir:          cfg.DataDir,
		Seed:             cfg.Seed,
		SeedWorkspace:    cfg.FirstWorkspace,
		MaxUpload:        cfg.MaxUpload,
		AllowPrivateURLs: cfg.AllowPrivateURLs,
		Credits:          cfg.Credits,
		RateLimit:        cfg.RateLimit,
		Faults: sandbox.Faults{
			Latency:         cfg.FaultLatency,
			Rate5xx:         cfg.Fault5xx,
			Rate429:         cfg.Fault429,
			RateFail:        cfg.FaultFail,
			FailReason:      extendapi.FailureReason(cfg.FaultFailReason),
			RateStuck:       cfg.FaultStuck,
			RateWebhookFail: cfg.FaultWebhook,
			ProcessingTime:  cfg.FaultProcessingTime,
		},
		Logger: logger,
	}
}
