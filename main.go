// Command editwatch is a web dashboard in which operations teams watch the
// edit runs of the Extend API. main.go only wires: it reads the
// configuration, opens what is needed and runs the chosen command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/editwatch/editwatch/config"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// it comes from the module's build information.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code (2 for bad
// configuration) so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "config-reference" {
		fmt.Fprint(stdout, config.Reference())
		return 0
	}
	cfg, err := config.Load(args, getenv)
	if errors.Is(err, config.ErrHelp) {
		fmt.Fprint(stdout, config.Usage(commandOf(args)))
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "editwatch: %v\n\nRun `editwatch %s --help` for the list of flags.\n", err, commandOf(args))
		return 2
	}
	switch cfg.Command {
	case config.CommandVersion:
		fmt.Fprintln(stdout, "editwatch", buildVersion())
		return 0
	case config.CommandSandbox:
		logger := newLogger(stderr, cfg.Sandbox.LogFormat, cfg.Sandbox.LogLevel)
		return exitCode(logger, runSandbox(ctx, cfg.Sandbox, logger, stdout))
	case config.CommandMigrate:
		logger := newLogger(stderr, cfg.Serve.LogFormat, cfg.Serve.LogLevel)
		return exitCode(logger, runMigrate(ctx, cfg.Serve, logger, stdout))
	case config.CommandSeed:
		logger := newLogger(stderr, cfg.Seed.LogFormat, cfg.Seed.LogLevel)
		return exitCode(logger, runSeed(ctx, cfg.Seed, logger, stdout))
	case config.CommandBackup:
		logger := newLogger(stderr, cfg.Backup.LogFormat, cfg.Backup.LogLevel)
		return exitCode(logger, runBackup(ctx, cfg.Backup, logger, stdout))
	case config.CommandBench:
		logger := newLogger(stderr, cfg.Bench.LogFormat, cfg.Bench.LogLevel)
		return exitCode(logger, runBench(ctx, cfg.Bench, stdout))
	default:
		if !checkAlertRules(cfg.Serve, stderr) {
			return 2
		}
		logger := newLogger(stderr, cfg.Serve.LogFormat, cfg.Serve.LogLevel)
		return exitCode(logger, runServe(ctx, cfg.Serve, logger, stdout))
	}
}

func exitCode(logger *slog.Logger, err error) int {
	if err == nil {
		return 0
	}
	logger.Error("editwatch stopped", "err", err)
	return 1
}

func commandOf(args []string) string {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0]
	}
	return config.CommandServe
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level)) // validated by config
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// serveHTTP runs srv on ln until ctx ends, then shuts down gracefully:
// in-flight requests get up to 10 seconds to finish. ready, if not nil,
// runs once the server is serving (it may call the server itself), before
// the wait for ctx: what it prints is the signal that the server is ready.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener, logger *slog.Logger, ready func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", "10s")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readHeaderTimeout bounds how long a client may take over a request's
// headers: one trickling them a byte at a time (slowloris) is dropped after
// it. A variable only so that tests need not wait that long.
var readHeaderTimeout = 10 * time.Second

// newHTTPServer sets the timeouts every listener of ours shares. There is no
// WriteTimeout for the whole response: event streams (live updates) and the
// sync edit endpoint last longer, and long handlers set their own deadlines
// through http.ResponseController.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       10 * time.Minute, // large uploads on slow links
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
