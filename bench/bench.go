// Package bench is Editwatch's load harness, `editwatch bench`. It seeds a
// store with synthetic history, starts `editwatch --sandbox` on it as a
// child process (so the server's resident memory is its own), connects
// virtual users with the sandbox's demo key, waits for the history sync,
// and then sends requests at a constant arrival rate through the runs
// list, run pages and the overview while live event streams stay open,
// beside a baseline served by the same process: a static asset and
// /healthz. Latencies are reported as ratios to that baseline measured in
// the same run, because absolute times say more about the machine than
// about Editwatch.
package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/editwatch/editwatch/config"
	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// memorySampleEvery is how often the server's resident size is read
// during the load.
const memorySampleEvery = 500 * time.Millisecond

// Options configure Run.
type Options struct {
	config.Bench
	// Executable is the editwatch binary to run; "" is this process's.
	Executable string
	// Progress hears what the harness is doing; nil discards it.
	Progress io.Writer
}

// Run measures one load as opts say and returns the figures. A failure to
// set up (seeding, starting, connecting) is an error; failed requests
// during the load are figures of the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	exe := opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the editwatch executable: %w", err)
		}
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	rep := &Report{
		Settings: Settings{DurationSeconds: opts.Duration.Seconds(), Rate: opts.Rate, Users: opts.Users, Streams: opts.Streams,
			NewRuns: opts.NewRuns, SeededRuns: opts.Runs, Days: opts.Days, Store: "sqlite"},
		Machine: Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()},
	}

	dataDir, err := os.MkdirTemp("", "editwatch-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dataDir)
	db := filepath.Join(dataDir, "editwatch.db")
	if opts.DB != "" {
		rep.Settings.Store = "postgres"
		schemaDSN, drop, err := postgresSchema(ctx, opts.DB)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := drop(); err != nil {
				fmt.Fprintf(progress, "warning: %v\n", err)
			}
		}()
		db = schemaDSN
	}

	fmt.Fprintf(progress, "seeding %d runs over %d days into workspace %s (%s)…\n", opts.Runs, opts.Days, demoWorkspace, storeName(rep.Settings.Store))
	started := time.Now()
	err = runChild(ctx, exe, []string{"seed", "--sandbox", "--db", db, "--tenant", demoWorkspace,
		"--runs", strconv.Itoa(opts.Runs), "--days", strconv.Itoa(opts.Days)}, func(line string) { fmt.Fprintf(progress, "  %s\n", line) })
	if err != nil {
		return nil, err
	}
	rep.Setup.SeedSeconds = time.Since(started).Seconds()

	fmt.Fprintln(progress, "starting editwatch --sandbox…")
	started = time.Now()
	srv, err := startServer(ctx, exe, []string{"--sandbox", "--sandbox-key", demoKey, "--data-dir", dataDir, "--db", db,
		"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-format", "json",
		// The harness's users each hold many streams in one session.
		"--streams-per-session", "100000", "--streams-per-identity", "100000"})
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = srv.stop()
		}
	}()
	rep.Setup.StartSeconds = time.Since(started).Seconds()

	if err := measure(ctx, opts, srv, rep, progress); err != nil {
		return nil, err
	}
	stopped = true
	if err := srv.stop(); err != nil {
		rep.ServerExit = err.Error()
	}
	rep.ServerLog = srv.log.stats()
	return rep, nil
}

// fixture is what the load needs once the users are connected.
type fixture struct {
	users    []*user
	kinds    []*kind
	sandbox  *extendapi.Client
	template *extendapi.CreateEditRunRequest
}

// prepare connects the users, waits for the history sync and finds the
// URLs the load requests: the stylesheet of a page, and runs the sandbox
// has (run pages fetch their run from Extend, so the seeded history,
// which Extend never had, cannot serve for them).
func prepare(ctx context.Context, opts Options, srv *server, tr http.RoundTripper, rep *Report, progress io.Writer) (*fixture, error) {
	fmt.Fprintf(progress, "connecting %d users with the demo key…\n", opts.Users)
	if opts.Users > 10 {
		fmt.Fprintln(progress, "  (the dashboard lets one address connect 10 times at once, then once every few seconds: this takes a while)")
	}
	started := time.Now()
	fx := &fixture{users: make([]*user, opts.Users)}
	for i := range fx.users {
		fx.users[i] = newUser(srv.baseURL, tr)
		if err := fx.users[i].connect(ctx); err != nil {
			return nil, fmt.Errorf("user %d: %w", i+1, err)
		}
	}
	if err := fx.users[0].waitSynced(ctx); err != nil {
		return nil, err
	}
	rep.Setup.SyncSeconds = time.Since(started).Seconds()

	asset, err := fx.users[0].stylesheetURL(ctx, views.OverviewURL(basePath, demoWorkspace, views.TimeRange{}))
	if err != nil {
		return nil, err
	}
	if fx.sandbox, err = sandboxClient(srv.baseURL, tr); err != nil {
		return nil, err
	}
	runIDs, template, err := sandboxRuns(ctx, fx.sandbox)
	if err != nil {
		return nil, err
	}
	fx.kinds, fx.template = requestKinds(asset, runIDs), template
	return fx, nil
}

// measure runs the load against srv and fills in rep's figures.
func measure(ctx context.Context, opts Options, srv *server, rep *Report, progress io.Writer) error {
	tr := newTransport()
	defer tr.CloseIdleConnections()
	fx, err := prepare(ctx, opts, srv, tr, rep, progress)
	if err != nil {
		return err
	}
	metricsClient := &http.Client{Transport: tr}
	before, err := scrapeMetrics(ctx, metricsClient, srv.metricsURL)
	if err != nil {
		return err
	}
	mem, ok := srv.memory()
	rep.Memory = MemoryStats{Available: ok, RSSBeforeKiB: mem.RSS, SampleEveryMsec: int(memorySampleEvery / time.Millisecond)}

	fmt.Fprintf(progress, "load: %g requests/s for %s, %d event streams, %g new runs/s…\n", opts.Rate, opts.Duration, opts.Streams, opts.NewRuns)
	l := newLoad(fx.users, fx.kinds, opts.Streams)
	streamCtx, closeStreams := context.WithCancel(ctx)
	defer closeStreams()
	streams := l.streams(streamCtx, opts.Streams, min(2*time.Second, opts.Duration/10))
	samplerCtx, stopSampler := context.WithCancel(ctx)
	peak := sampleMemory(samplerCtx, srv)
	var creator sync.WaitGroup
	end := time.Now().Add(opts.Duration)
	creator.Go(func() { l.createRuns(ctx, fx.sandbox, fx.template, opts.NewRuns, end) })
	l.requests(ctx, opts.Rate, opts.Duration)
	creator.Wait()
	stopSampler()
	rep.Memory.PeakDuringLoad = <-peak
	l.live.drain(ctx)
	closeStreams()
	streams.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if !srv.running() {
		return fmt.Errorf("the dashboard stopped during the load (%v):\n%s", srv.waitErr, srv.log.tail.String())
	}

	for _, k := range append(l.kinds, l.stream) {
		rep.Pages = append(rep.Pages, l.records[k.key].stats(k))
	}
	rep.setRatios()
	rep.Live = l.live.stats(opts.Streams)
	rep.MaxDispatchLagMs = ms(l.maxLag)
	if mem, ok := srv.memory(); ok {
		rep.Memory.RSSEndKiB, rep.Memory.AnonEndKiB, rep.Memory.FileEndKiB, rep.Memory.PeakKiB = mem.RSS, mem.Anon, mem.File, mem.HWM
	}

	// Idle keep-alive connections each hold a goroutine in the server:
	// close them, so the goroutines left over say whether anything leaked.
	tr.CloseIdleConnections()
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	after, err := scrapeMetrics(ctx, metricsClient, srv.metricsURL)
	if err != nil {
		return err
	}
	rep.Server = ServerStats{CPUSeconds: after.cpuSeconds - before.cpuSeconds, GoroutinesBefore: before.goroutines, GoroutinesAfter: after.goroutines}
	rep.Server.CPUShare = rep.Server.CPUSeconds / after.at.Sub(before.at).Seconds()
	rep.Upstream.ByOperation = upstreamDelta(before.upstream, after.upstream)
	for _, n := range rep.Upstream.ByOperation {
		rep.Upstream.Calls += n
	}
	for _, k := range l.kinds {
		if k.pageView {
			rep.Upstream.PageViews += l.records[k.key].attemptCount()
		}
	}
	if rep.Upstream.PageViews > 0 {
		rep.Upstream.PerPageView = float64(rep.Upstream.Calls) / float64(rep.Upstream.PageViews)
	}
	return nil
}

// sampleMemory reads the server's resident size now and then until ctx
// ends, then sends the largest it saw.
func sampleMemory(ctx context.Context, srv *server) <-chan int64 {
	peak := make(chan int64, 1)
	go func() {
		var most int64
		t := time.NewTicker(memorySampleEvery)
		defer t.Stop()
		for {
			if mem, ok := srv.memory(); ok {
				most = max(most, mem.RSS)
			}
			select {
			case <-ctx.Done():
				peak <- most
				return
			case <-t.C:
			}
		}
	}()
	return peak
}

func (r *recorder) attemptCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}
