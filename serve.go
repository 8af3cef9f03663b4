package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/handlers"
)

// runServe starts the dashboard and serves until ctx ends.
func runServe(ctx context.Context, cfg config.Serve, logger *slog.Logger, stdout io.Writer) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	health := &handlers.Health{Version: buildVersion(), Started: time.Now(), Checks: map[string]func(context.Context) error{}}
	handlers.Routes(e, cfg.BasePath, health)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another Editwatch running? choose another --listen)", cfg.Listen, err)
	}
	fmt.Fprintf(stdout, "Editwatch %s listening on http://%s%s\n", buildVersion(), ln.Addr(), cfg.BasePath)
	logger.Info("dashboard listening", "addr", ln.Addr().String(), "base_path", cfg.BasePath)
	return serveHTTP(ctx, newHTTPServer(e, logger), ln, logger)
}
