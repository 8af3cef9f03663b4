package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what one run of the harness measured. Latencies are in
// milliseconds, counted from when each request was due.
type Report struct {
	Settings         Settings      `json:"settings"`
	Machine          Machine       `json:"machine"`
	Setup            Setup         `json:"setup"`
	Pages            []PageStats   `json:"pages"`
	Live             LiveStats     `json:"live"`
	Upstream         UpstreamStats `json:"upstream"`
	Memory           MemoryStats   `json:"memory"`
	Server           ServerStats   `json:"server"`
	ServerLog        LogStats      `json:"serverLog"`
	MaxDispatchLagMs float64       `json:"maxDispatchLagMs"` // how late the harness itself sent a request
	ServerExit       string        `json:"serverExit,omitempty"`
}

// Settings are the run's parameters.
type Settings struct {
	DurationSeconds float64 `json:"durationSeconds"`
	Rate            float64 `json:"rate"`
	Users           int     `json:"users"`
	Streams         int     `json:"streams"`
	NewRuns         float64 `json:"newRunsPerSecond"`
	SeededRuns      int     `json:"seededRuns"`
	Days            int     `json:"days"`
	Store           string  `json:"store"` // sqlite or postgres
}

// Machine says where the figures come from.
type Machine struct {
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
}

// Setup is how long the preparation took.
type Setup struct {
	SeedSeconds  float64 `json:"seedSeconds"`
	StartSeconds float64 `json:"startSeconds"`
	SyncSeconds  float64 `json:"syncSeconds"` // connecting the users and the history sync
}

// PageStats are the figures of one kind of request.
type PageStats struct {
	Kind         string   `json:"kind"`
	Name         string   `json:"name"`
	Requests     int      `json:"requests"`
	Errors       int      `json:"errors"`
	ErrorRate    float64  `json:"errorRate"`
	P50Ms        float64  `json:"p50Ms"`
	P95Ms        float64  `json:"p95Ms"`
	P99Ms        float64  `json:"p99Ms"`
	MaxMs        float64  `json:"maxMs"`
	P50Ratio     float64  `json:"p50Ratio"` // p50 over the static asset's p50 in the same run
	ErrorSamples []string `json:"errorSamples,omitempty"`
}

// LiveStats are what the event streams received.
type LiveStats struct {
	Streams           int    `json:"streams"`
	Events            int    `json:"events"`  // every event but the first ("ready")
	Changes           int    `json:"changes"` // "run" events: one per change per stream
	RunsCreated       int    `json:"runsCreated"`
	RunsDelivered     int    `json:"runsDelivered"` // created runs every stream heard of
	CreateErrors      int    `json:"createErrors"`
	CreateErrorSample string `json:"createErrorSample,omitempty"`
}

// UpstreamStats are the dashboard's calls to Extend during the load.
type UpstreamStats struct {
	Calls       int            `json:"calls"`
	ByOperation map[string]int `json:"byOperation"`
	PageViews   int            `json:"pageViews"`
	PerPageView float64        `json:"perPageView"`
}

// MemoryStats are the server process's resident memory, from
// /proc/<pid>/status.
type MemoryStats struct {
	Available       bool  `json:"available"`
	RSSBeforeKiB    int64 `json:"rssBeforeLoadKiB"`
	RSSEndKiB       int64 `json:"rssEndKiB"`
	AnonEndKiB      int64 `json:"rssAnonEndKiB"` // heap, stacks, SQLite's page cache
	FileEndKiB      int64 `json:"rssFileEndKiB"` // the executable, a memory-mapped SQLite file
	PeakKiB         int64 `json:"peakKiB"`       // VmHWM: the most it ever held
	PeakDuringLoad  int64 `json:"peakSampledDuringLoadKiB"`
	SampleEveryMsec int   `json:"sampleEveryMs"`
}

// ServerStats are the dashboard process's own figures, from its /metrics.
type ServerStats struct {
	CPUSeconds       float64 `json:"cpuSeconds"` // between the scrapes before and after the load
	CPUShare         float64 `json:"cpuShare"`   // of one core, over that time
	GoroutinesBefore int     `json:"goroutinesBeforeLoad"`
	GoroutinesAfter  int     `json:"goroutinesAfterLoad"` // with the event streams closed
}

// LogStats count the server's warnings and errors.
type LogStats struct {
	Warnings int      `json:"warnings"`
	Errors   int      `json:"errors"`
	Samples  []string `json:"samples,omitempty"`
}

// Errors is every failed request, stream and run creation of the run.
func (r *Report) Errors() int {
	n := r.Live.CreateErrors
	for _, p := range r.Pages {
		n += p.Errors
	}
	return n
}

// Page returns the figures of one kind of request.
func (r *Report) Page(kind string) (PageStats, bool) {
	i := slices.IndexFunc(r.Pages, func(p PageStats) bool { return p.Kind == kind })
	if i < 0 {
		return PageStats{}, false
	}
	return r.Pages[i], true
}

// setRatios relates every p50 to the static asset's.
func (r *Report) setRatios() {
	base, ok := r.Page(kindStatic)
	if !ok || base.P50Ms <= 0 {
		return
	}
	for i := range r.Pages {
		r.Pages[i].P50Ratio = r.Pages[i].P50Ms / base.P50Ms
	}
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	s := r.Settings
	fmt.Fprintf(w, "\nEditwatch bench: %d seeded runs over %d days on %s; %g requests/s for %s over %d users, %d event streams, %g new runs/s\n",
		s.SeededRuns, s.Days, storeName(s.Store), s.Rate, time.Duration(s.DurationSeconds*float64(time.Second)), s.Users, s.Streams, s.NewRuns)
	fmt.Fprintf(w, "machine: %s/%s, %d CPUs, %s\n", r.Machine.OS, r.Machine.Arch, r.Machine.CPUs, r.Machine.GoVersion)
	fmt.Fprintf(w, "setup: seeded in %.1fs, dashboard listening after %.1fs, users connected and history synced after %.1fs\n\n",
		r.Setup.SeedSeconds, r.Setup.StartSeconds, r.Setup.SyncSeconds)

	// Numbers align right; names left, padded by hand.
	width := len("page")
	for _, p := range r.Pages {
		width = max(width, len(p.Name))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\trequests\terrors\tp50\tp95\tp99\tmax\tp50 ÷ static p50\t\n", width, "page")
	for _, p := range r.Pages {
		fmt.Fprintf(tw, "%-*s\t%d\t%d (%.1f%%)\t%s\t%s\t%s\t%s\t%.1f\t\n", width, p.Name, p.Requests, p.Errors, 100*p.ErrorRate,
			fmtMs(p.P50Ms), fmtMs(p.P95Ms), fmtMs(p.P99Ms), fmtMs(p.MaxMs), p.P50Ratio)
	}
	tw.Flush()
	for _, p := range r.Pages {
		for _, e := range p.ErrorSamples {
			fmt.Fprintf(w, "  %s: %s\n", p.Name, e)
		}
	}

	l := r.Live
	fmt.Fprintf(w, "\nlive: %d events on %d streams (%d run changes); %d of %d runs created in the sandbox reached every stream",
		l.Events, l.Streams, l.Changes, l.RunsDelivered, l.RunsCreated)
	if l.CreateErrors > 0 {
		fmt.Fprintf(w, "; %d could not be created (%s)", l.CreateErrors, l.CreateErrorSample)
	}
	fmt.Fprintln(w)

	u := r.Upstream
	var ops []string
	for _, op := range slices.Sorted(maps.Keys(u.ByOperation)) {
		ops = append(ops, fmt.Sprintf("%s %d", op, u.ByOperation[op]))
	}
	fmt.Fprintf(w, "upstream: %d calls to Extend during the load (%s) for %d page views: %.2f per page view\n",
		u.Calls, strings.Join(ops, ", "), u.PageViews, u.PerPageView)

	if m := r.Memory; m.Available {
		fmt.Fprintf(w, "memory of the dashboard process: %s resident at the end (%s anonymous, %s file-backed), %s before the load, at most %s sampled during it, peak %s (VmHWM)\n",
			mib(m.RSSEndKiB), mib(m.AnonEndKiB), mib(m.FileEndKiB), mib(m.RSSBeforeKiB), mib(m.PeakDuringLoad), mib(m.PeakKiB))
	} else {
		fmt.Fprintln(w, "memory: not measured (needs Linux's /proc)")
	}
	fmt.Fprintf(w, "cpu of the dashboard process: %.1fs during the load (%.0f%% of one core); goroutines %d before the load, %d after it\n",
		r.Server.CPUSeconds, 100*r.Server.CPUShare, r.Server.GoroutinesBefore, r.Server.GoroutinesAfter)
	fmt.Fprintf(w, "server log: %d errors, %d warnings\n", r.ServerLog.Errors, r.ServerLog.Warnings)
	for _, s := range r.ServerLog.Samples {
		fmt.Fprintf(w, "  %s\n", s)
	}
	if r.ServerExit != "" {
		fmt.Fprintf(w, "dashboard exit: %s\n", r.ServerExit)
	}
	fmt.Fprintf(w, "harness: each request sent at most %s after it was due\n", fmtMs(r.MaxDispatchLagMs))
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

func storeName(s string) string {
	if s == "postgres" {
		return "PostgreSQL"
	}
	return "SQLite"
}

func fmtMs(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
