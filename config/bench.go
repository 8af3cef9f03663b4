package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// BenchMaxRatePerUser bounds --rate / --users: each virtual user is one
// session, and the dashboard lets a session send 20 page views a second.
const BenchMaxRatePerUser = 20

// Bench configures `editwatch bench`, the load harness: it seeds a store,
// starts `editwatch --sandbox` on it as a child process and drives
// virtual users through the pages at a constant rate.
type Bench struct {
	Duration time.Duration
	Rate     float64 // requests a second, all page kinds together
	Users    int     // sessions the requests are spread over
	Streams  int     // live event streams held open
	NewRuns  float64 // runs a second created in the sandbox, so streams have events
	Runs     int     // seeded history size
	Days     int
	DB       string // a postgres:// URL; "" is a fresh SQLite file
	Out      string // JSON result file; "" writes none

	LogFormat string
	LogLevel  string
}

type benchRaw struct {
	Bench
	duration, rate, users, streams, newRuns, runs, days string
}

func (r *benchRaw) flags() *flagSet {
	f := newFlagSet("bench", "EDITWATCH_BENCH_")
	f.str(&r.duration, "duration", "60s", "how long the load runs")
	f.str(&r.rate, "rate", "20", "requests a second, at fixed intervals, spread evenly over runs list, run page, overview, static asset and /healthz")
	f.str(&r.users, "users", "10", "virtual users: sessions connected with the demo key, each taking its share of the rate")
	f.str(&r.streams, "streams", "20", "live event streams (Server-Sent Events) held open during the load")
	f.str(&r.newRuns, "new-runs", "0.5", "runs a second created in the sandbox during the load, so the streams have events (0: none)")
	f.str(&r.runs, "runs", "10000", "runs of synthetic history seeded before the start")
	f.str(&r.days, "days", "30", "how many days back the seeded runs spread")
	f.str(&r.DB, "db", "", "a postgres:// URL to run against (in a schema of its own, dropped afterwards); default a fresh SQLite file")
	f.str(&r.Out, "out", "", "also write the result as JSON to this file")
	f.logging(&r.LogFormat, &r.LogLevel)
	return f
}

func (r *benchRaw) build() (Bench, error) {
	b := r.Bench
	var errs []error
	var err error
	if b.Duration, err = time.ParseDuration(strings.TrimSpace(r.duration)); err != nil || b.Duration < time.Second || b.Duration > 24*time.Hour {
		errs = append(errs, fmt.Errorf("--duration %q: want a duration from 1s to 24h, for example 60s", r.duration))
	}
	b.Rate, err = strconv.ParseFloat(strings.TrimSpace(r.rate), 64)
	rateOK := err == nil && b.Rate > 0 && b.Rate <= 10_000
	if !rateOK {
		errs = append(errs, fmt.Errorf("--rate %q: want requests a second, more than 0 and at most 10000, for example 20", r.rate))
	}
	count := func(name, v string, lo, hi int, example string) int {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("--%s %q: want a whole number from %d to %d, for example %s", name, v, lo, hi, example))
		}
		return n
	}
	b.Users = count("users", r.users, 1, 1000, "10")
	b.Streams = count("streams", r.streams, 0, 10_000, "20")
	b.Runs = count("runs", r.runs, 1, 100_000_000, "100000")
	b.Days = count("days", r.days, 1, 3650, "30")
	if b.NewRuns, err = strconv.ParseFloat(strings.TrimSpace(r.newRuns), 64); err != nil || b.NewRuns < 0 || b.NewRuns > 100 {
		errs = append(errs, fmt.Errorf("--new-runs %q: want runs a second from 0 to 100, for example 0.5", r.newRuns))
	}
	if rateOK && b.Users >= 1 && b.Rate/float64(b.Users) > BenchMaxRatePerUser {
		errs = append(errs, fmt.Errorf("--rate %g over --users %d is more than %d requests a second per user, the dashboard's limit for one session: give at least --users %d",
			b.Rate, b.Users, BenchMaxRatePerUser, int(math.Ceil(b.Rate/BenchMaxRatePerUser))))
	}
	if b.DB != "" && !IsPostgresDSN(b.DB) {
		errs = append(errs, fmt.Errorf("--db %q: want a postgres:// URL; without --db the harness uses a fresh SQLite file", b.DB))
	}
	if err := checkLogging(b.LogFormat, b.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return b, errors.Join(errs...)
}
