package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
)

// startMetrics serves Prometheus /metrics on its own listener when
// --metrics-listen is set (it exposes per-workspace figures, so it never
// shares the dashboard's port); it returns nil metrics when it is not.
// stop shuts the listener down.
func startMetrics(ctx context.Context, listen string, st *store.Store, logger *slog.Logger) (*middleware.Metrics, func(), error) {
	if listen == "" {
		return nil, func() {}, nil
	}
	m := middleware.NewMetrics(middleware.MetricsOptions{Store: st, Logger: logger.With("component", "metrics")})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics-listen %s: %w", listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	stop := func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
	return m, stop, nil
}
