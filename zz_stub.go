package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/editwatch/editwatch/config"
)

func runSandbox(ctx context.Context, cfg config.Sandbox, logger *slog.Logger, stdout io.Writer) error {
	return errors.New("todo")
}
func runMigrate(ctx context.Context, cfg config.Serve, logger *slog.Logger, stdout io.Writer) error {
	return errors.New("todo")
}
