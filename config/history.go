package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// SandboxDeployment names the embedded sandbox's deployment in tenants,
// whatever address it listens on (the dashboard uses the same name).
const SandboxDeployment = "sandbox"

// Seed configures `editwatch seed`: synthetic history for one workspace of
// the deployment its flags name, as the dashboard would connect to it.
type Seed struct {
	DB         string
	DataDir    string
	Tenant     string // the workspace ID, ws_…
	Runs       int
	Days       int
	RandomSeed uint64 // 0: random
	Sandbox    bool
	Region     string
	ExtendURL  string
	LogFormat  string
	LogLevel   string
}

// Deployment names the deployment the way tenants do: "sandbox" with
// --sandbox, the base URL (without a trailing slash) with --extend-url,
// else the region.
func (s Seed) Deployment() string {
	switch {
	case s.Sandbox:
		return SandboxDeployment
	case s.ExtendURL != "":
		return strings.TrimRight(s.ExtendURL, "/")
	default:
		return s.Region
	}
}

// Backup configures `editwatch backup`.
type Backup struct {
	DB        string
	DataDir   string
	Out       string
	LogFormat string
	LogLevel  string
}

type seedRaw struct {
	Seed
	runs, days, randomSeed string
}

func (r *seedRaw) flags() *flagSet {
	f := newFlagSet("seed", "EDITWATCH_")
	f.str(&r.DataDir, "data-dir", "./data", "where the SQLite file lives")
	f.str(&r.DB, "db", "", "a SQLite file path or a postgres:// URL (default <data-dir>/editwatch.db)")
	f.str(&r.Tenant, "tenant", "", "workspace ID (ws_…) whose history to write; required")
	f.str(&r.runs, "runs", "10000", "how many runs to write")
	f.str(&r.days, "days", "30", "how many days back the runs spread")
	f.str(&r.randomSeed, "random-seed", "0", "makes the history reproducible; 0 picks one at random")
	f.boolean(&r.Seed.Sandbox, "sandbox", "the embedded sandbox's deployment, as `editwatch --sandbox` connects to it")
	f.str(&r.Region, "region", "us", "Extend deployment: us, us2, eu1 (eu accepted)")
	f.str(&r.ExtendURL, "extend-url", "", "explicit Extend base URL; overrides --region")
	f.logging(&r.LogFormat, &r.LogLevel)
	return f
}

func (r *seedRaw) build() (Seed, error) {
	s := r.Seed
	var errs []error
	if s.DB == "" {
		s.DB = filepath.Join(s.DataDir, "editwatch.db")
	}
	if !strings.HasPrefix(s.Tenant, "ws_") || strings.ContainsAny(s.Tenant, "/ ") {
		errs = append(errs, fmt.Errorf("--tenant %q: want a workspace ID such as ws_demo", s.Tenant))
	}
	var err error
	if s.Runs, err = strconv.Atoi(strings.TrimSpace(r.runs)); err != nil || s.Runs <= 0 {
		errs = append(errs, fmt.Errorf("--runs %q: want a positive number of runs, for example 100000", r.runs))
	}
	if s.Days, err = strconv.Atoi(strings.TrimSpace(r.days)); err != nil || s.Days <= 0 || s.Days > 3650 {
		errs = append(errs, fmt.Errorf("--days %q: want a number of days from 1 to 3650, for example 30", r.days))
	}
	if s.RandomSeed, err = strconv.ParseUint(strings.TrimSpace(r.randomSeed), 10, 64); err != nil {
		errs = append(errs, fmt.Errorf("--random-seed %q: want a non-negative integer", r.randomSeed))
	}
	s.Region = normalizeRegion(s.Region)
	if err := checkRegion(s.Region); err != nil {
		errs = append(errs, err)
	}
	if s.ExtendURL != "" {
		if err := checkHTTPURL(s.ExtendURL); err != nil {
			errs = append(errs, fmt.Errorf("--extend-url: %w", err))
		}
	}
	if s.Sandbox && s.ExtendURL != "" {
		errs = append(errs, errors.New("--sandbox and --extend-url name different deployments: give one"))
	}
	if err := checkLogging(s.LogFormat, s.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}

type backupRaw struct{ Backup }

func (r *backupRaw) flags() *flagSet {
	f := newFlagSet("backup", "EDITWATCH_")
	f.str(&r.DataDir, "data-dir", "./data", "where the SQLite file lives")
	f.str(&r.DB, "db", "", "the SQLite file to copy (default <data-dir>/editwatch.db); PostgreSQL: use pg_dump")
	f.str(&r.Out, "out", "", "the new file to write the copy to; required, must not exist")
	f.logging(&r.LogFormat, &r.LogLevel)
	return f
}

func (r *backupRaw) build() (Backup, error) {
	b := r.Backup
	var errs []error
	if b.DB == "" {
		b.DB = filepath.Join(b.DataDir, "editwatch.db")
	}
	if strings.TrimSpace(b.Out) == "" {
		errs = append(errs, errors.New("--out is required: the file to write the copy to, for example backups/editwatch-2026-03-01.db"))
	}
	if err := checkLogging(b.LogFormat, b.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return b, errors.Join(errs...)
}

// IsPostgresDSN reports whether a --db value names PostgreSQL rather than
// a SQLite file.
func IsPostgresDSN(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}
