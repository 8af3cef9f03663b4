package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/editwatch/editwatch/alerts"
	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/handlers"
	"github.com/editwatch/editwatch/store"
)

// alertDeployment is the deployment a rule watches when it names none:
// the embedded sandbox's, the --extend-url, or the --region.
func alertDeployment(cfg config.Serve) string {
	switch {
	case cfg.Sandbox:
		return handlers.SandboxDeployment
	case cfg.ExtendURL != "":
		return strings.TrimRight(cfg.ExtendURL, "/")
	}
	return cfg.Region
}

// checkAlertRules reads --alert-rules before anything starts, so a bad
// file stops the start (exit 2) naming the line and the problem.
func checkAlertRules(cfg config.Serve, stderr io.Writer) bool {
	if cfg.Alerts.RulesFile == "" {
		return true
	}
	if _, err := alerts.LoadFile(cfg.Alerts.RulesFile, alertDeployment(cfg)); err != nil {
		fmt.Fprintf(stderr, "editwatch: --alert-rules: %v\n", err)
		return false
	}
	return true
}

// startAlerts starts the alerts engine: it evaluates on the replica that
// holds the lease, and reloads the rules file on SIGHUP (a bad file keeps
// the rules in force and logs why). The engine runs even without a rules
// file: rules may come from elsewhere later, and it then only renews its
// lease.
func startAlerts(ctx context.Context, cfg config.Serve, st *store.Store, live liveParts, logger *slog.Logger) (*alerts.Engine, func(), error) {
	logger = logger.With("component", "alerts")
	var rules alerts.Rules
	if cfg.Alerts.RulesFile != "" {
		var err error
		if rules, err = alerts.LoadFile(cfg.Alerts.RulesFile, alertDeployment(cfg)); err != nil {
			return nil, nil, fmt.Errorf("--alert-rules: %w", err)
		}
	}
	a := cfg.Alerts
	linkBase := cfg.BasePath
	if cfg.PublicURL != "" {
		linkBase = strings.TrimRight(cfg.PublicURL, "/") + cfg.BasePath
	}
	keeper := newPollKeeper(live, logger.With("component", "alerts-poll"))
	engine := alerts.NewEngine(alerts.Options{
		Store: st, Interval: a.Interval, LinkBase: linkBase, Logger: logger, Now: st.Now, Retention: cfg.Retention,
		Sender: alerts.NewSender(alerts.SenderOptions{AllowPrivate: a.AllowPrivateURLs, SMTP: alerts.SMTP{
			Host: a.SMTPHost, Port: a.SMTPPort, StartTLS: a.SMTPStartTLS, User: a.SMTPUser, Password: a.SMTPPassword, From: a.SMTPFrom}}),
		Keeper: keeper,
	}, rules)
	if len(rules.Rules) > 0 {
		logger.Info("alert rules loaded", "file", cfg.Alerts.RulesFile, "rules", len(rules.Rules), "channels", len(rules.Channels))
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { engine.Run(ctx) })
	if cfg.Alerts.RulesFile != "" {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		wg.Go(func() {
			defer signal.Stop(hup)
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					reloadAlertRules(engine, cfg, logger)
				}
			}
		})
	}
	return engine, func() { cancel(); wg.Wait(); keeper.Close() }, nil
}

func reloadAlertRules(engine *alerts.Engine, cfg config.Serve, logger *slog.Logger) {
	rules, err := alerts.LoadFile(cfg.Alerts.RulesFile, alertDeployment(cfg))
	if err != nil {
		logger.Error("alert rules not reloaded: the rules in force stay", "err", err)
		return
	}
	engine.SetFileRules(rules)
	logger.Info("alert rules reloaded", "file", cfg.Alerts.RulesFile, "rules", len(rules.Rules), "channels", len(rules.Channels))
}
