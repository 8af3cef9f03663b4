package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Alerts configures the alerts engine (package alerts) and the mail
// server its e-mail channels send through.
type Alerts struct {
	// RulesFile is the YAML rules file (--alert-rules); "" for none.
	RulesFile string
	Interval  time.Duration
	// AllowPrivateURLs lets channels reach loopback, private and
	// link-local addresses.
	AllowPrivateURLs bool
	SMTPHost         string
	SMTPPort         int
	SMTPStartTLS     bool
	SMTPUser         string
	SMTPPassword     string // from --smtp-password or --smtp-password-file
	SMTPFrom         string
}

type alertsRaw struct {
	Alerts
	interval, smtpPort, smtpPasswordFile string
}

func (r *alertsRaw) flags(f *flagSet) {
	f.str(&r.RulesFile, "alert-rules", "", "YAML file of alert rules and channels, read at start and on SIGHUP (README, Alerts)")
	f.str(&r.interval, "alert-interval", "30s", "how often alert rules are evaluated")
	f.boolean(&r.AllowPrivateURLs, "alerts-allow-private-urls", "let alert channels reach loopback, private and link-local addresses")
	f.str(&r.SMTPHost, "smtp-host", "", "mail server of e-mail alert channels")
	f.str(&r.smtpPort, "smtp-port", "587", "port of --smtp-host")
	f.boolean(&r.SMTPStartTLS, "smtp-starttls", "require STARTTLS with --smtp-host")
	f.str(&r.SMTPUser, "smtp-user", "", "user name at --smtp-host (PLAIN authentication)")
	// Its variable EDITWATCH_SMTP_PASSWORD_FILE is --smtp-password-file's.
	f.str(&r.SMTPPassword, "smtp-password", "", "password of --smtp-user (prefer --smtp-password-file)")
	f.str(&r.smtpPasswordFile, "smtp-password-file", "", "file holding the password of --smtp-user")
	f.str(&r.SMTPFrom, "smtp-from", "", "sender address of alert e-mails")
}

func (r *alertsRaw) build() (Alerts, error) {
	a := r.Alerts
	var err error
	if a.Interval, err = parseDuration("--alert-interval", r.interval); err != nil {
		return a, err
	}
	if a.SMTPPort, err = parseCount("--smtp-port", r.smtpPort); err != nil {
		return a, err
	}
	if r.smtpPasswordFile != "" {
		if a.SMTPPassword != "" {
			return a, errors.New("--smtp-password and --smtp-password-file: give one")
		}
		b, err := os.ReadFile(r.smtpPasswordFile)
		if err != nil {
			return a, fmt.Errorf("--smtp-password-file: %w", err)
		}
		a.SMTPPassword = strings.TrimSpace(string(b))
	}
	return a, nil
}

func (a Alerts) validate() []error {
	var errs []error
	if a.Interval < time.Second {
		errs = append(errs, fmt.Errorf("--alert-interval %s: want at least 1s, for example 30s", a.Interval))
	}
	if a.SMTPPort > 65535 {
		errs = append(errs, fmt.Errorf("--smtp-port %d: want a TCP port", a.SMTPPort))
	}
	if (a.SMTPUser != "" || a.SMTPFrom != "" || a.SMTPStartTLS) && a.SMTPHost == "" {
		errs = append(errs, errors.New("--smtp-user, --smtp-from and --smtp-starttls need --smtp-host"))
	}
	if a.SMTPHost != "" && a.SMTPFrom == "" {
		errs = append(errs, errors.New("--smtp-host needs --smtp-from, the sender address of alert e-mails"))
	}
	if a.SMTPPassword != "" && a.SMTPUser == "" {
		errs = append(errs, errors.New("--smtp-password needs --smtp-user"))
	}
	return errs
}
