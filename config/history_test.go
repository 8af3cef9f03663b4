package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadSeed(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    Seed
		wantDep string
		wantErr string
	}{
		{"sandbox", []string{"seed", "--sandbox", "--tenant", "ws_demo", "--runs", "1000000", "--days", "30"}, nil,
			Seed{DB: filepath.Join("data", "editwatch.db"), DataDir: "./data", Tenant: "ws_demo", Runs: 1000000, Days: 30, Sandbox: true,
				Region: "us", LogFormat: "text", LogLevel: "info"}, "sandbox", ""},
		{"region from the environment", []string{"seed", "--tenant", "ws_x", "--db", "postgres://h/db"}, map[string]string{"EDITWATCH_REGION": "eu", "EDITWATCH_RUNS": "5"},
			Seed{DB: "postgres://h/db", DataDir: "./data", Tenant: "ws_x", Runs: 5, Days: 30, Region: "eu1", LogFormat: "text", LogLevel: "info"}, "eu1", ""},
		{"explicit URL", []string{"seed", "--tenant", "ws_x", "--extend-url", "http://127.0.0.1:8081/_sandbox/", "--random-seed", "7"}, nil,
			Seed{DB: filepath.Join("data", "editwatch.db"), DataDir: "./data", Tenant: "ws_x", Runs: 10000, Days: 30, RandomSeed: 7,
				Region: "us", ExtendURL: "http://127.0.0.1:8081/_sandbox/", LogFormat: "text", LogLevel: "info"}, "http://127.0.0.1:8081/_sandbox", ""},
		{"no tenant", []string{"seed", "--sandbox"}, nil, Seed{}, "", "--tenant"},
		{"bad numbers", []string{"seed", "--tenant", "ws_x", "--runs", "-1", "--days", "x"}, nil, Seed{}, "", "--runs"},
		{"two deployments", []string{"seed", "--tenant", "ws_x", "--sandbox", "--extend-url", "http://x"}, nil, Seed{}, "", "--sandbox and --extend-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(tt.args, envOf(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Command != CommandSeed {
				t.Fatalf("command %q", cfg.Command)
			}
			if diff := cmp.Diff(tt.want, cfg.Seed); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			if got := cfg.Seed.Deployment(); got != tt.wantDep {
				t.Fatalf("Deployment() = %q, want %q", got, tt.wantDep)
			}
		})
	}
}

func TestLoadBackup(t *testing.T) {
	cfg, err := Load([]string{"backup", "--data-dir", "/srv/ew", "--out", "/backups/x.db"}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Backup{DB: filepath.Join("/srv/ew", "editwatch.db"), DataDir: "/srv/ew", Out: "/backups/x.db", LogFormat: "text", LogLevel: "info"}
	if diff := cmp.Diff(want, cfg.Backup); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if _, err := Load([]string{"backup"}, envOf(nil)); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("no --out: %v", err)
	}
	if _, err := Load([]string{"backup", "--help"}, envOf(nil)); !errors.Is(err, ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	if u := Usage(CommandSeed); !strings.Contains(u, "--tenant") || !strings.Contains(u, "usage: editwatch seed") {
		t.Fatalf("seed usage:\n%s", u)
	}
}
