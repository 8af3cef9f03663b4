package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadBench(t *testing.T) {
	cfg, err := Load([]string{"bench"}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Bench{Duration: time.Minute, Rate: 20, Users: 10, Streams: 20, NewRuns: 0.5, Runs: 10000, Days: 30,
		LogFormat: "text", LogLevel: "info"}
	if cfg.Command != CommandBench {
		t.Fatalf("command %q", cfg.Command)
	}
	if diff := cmp.Diff(want, cfg.Bench); diff != "" {
		t.Fatalf("defaults (-want +got):\n%s", diff)
	}

	cfg, err = Load([]string{"bench", "--duration", "20s", "--rate", "40", "--users", "2", "--streams", "0", "--new-runs", "0",
		"--runs", "100000", "--days", "7", "--db", "postgres://h/db", "--out", "r.json"}, envOf(map[string]string{"EDITWATCH_BENCH_STREAMS": "9"}))
	if err != nil {
		t.Fatal(err)
	}
	want = Bench{Duration: 20 * time.Second, Rate: 40, Users: 2, Streams: 0, Runs: 100000, Days: 7, DB: "postgres://h/db", Out: "r.json",
		LogFormat: "text", LogLevel: "info"}
	if diff := cmp.Diff(want, cfg.Bench); diff != "" {
		t.Fatalf("flags (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--duration", "soon"}, "--duration"},
		{[]string{"--duration", "10ms"}, "--duration"},
		{[]string{"--rate", "0"}, "--rate"},
		{[]string{"--rate", "x"}, "--rate"},
		{[]string{"--users", "0"}, "--users"},
		{[]string{"--streams", "-1"}, "--streams"},
		{[]string{"--runs", "0"}, "--runs"},
		{[]string{"--days", "5000"}, "--days"},
		{[]string{"--new-runs", "-1"}, "--new-runs"},
		{[]string{"--rate", "100", "--users", "2"}, "give at least --users 5"},
		{[]string{"--db", "data/editwatch.db"}, "postgres://"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		if _, err := Load(append([]string{"bench"}, tt.args...), envOf(nil)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("bench %v: err = %v, want one naming %q", tt.args, err, tt.wantErr)
		}
	}
	if _, err := Load([]string{"bench", "--help"}, envOf(nil)); !errors.Is(err, ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	if u := Usage(CommandBench); !strings.Contains(u, "usage: editwatch bench") || !strings.Contains(u, "--streams") {
		t.Fatalf("bench usage:\n%s", u)
	}
}
