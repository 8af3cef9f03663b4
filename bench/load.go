package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/views"
)

// Row keys of the report, one per kind of request.
const (
	kindStatic   = "static"
	kindHealthz  = "healthz"
	kindRuns     = "runs"
	kindRun      = "run"
	kindOverview = "overview"
	kindStream   = "stream"
)

// drainTimeout is how long event streams stay open after the load, for
// the changes of the last runs created to arrive.
const drainTimeout = 15 * time.Second

// kind is one kind of request the load sends in turn with the others; its
// paths are used in turn too.
type kind struct {
	key      string
	name     string
	pageView bool // a page a person opens, as opposed to the baseline
	paths    []string
}

// requestKinds are the load's mix: every kind gets the same share of the
// rate.
func requestKinds(asset string, runIDs []string) []*kind {
	runs := []string{
		views.RunsURL(basePath, demoWorkspace, views.RunsFilter{}, ""),
		views.RunsURL(basePath, demoWorkspace, views.RunsFilter{Status: string(extendapi.StatusFailed), Range: views.TimeRange{Preset: views.RangeWeek}}, ""),
		views.RunsURL(basePath, demoWorkspace, views.RunsFilter{FileNameContains: "acme", Range: views.TimeRange{Preset: views.RangeMonth}}, ""),
	}
	var overview []string
	for _, r := range []string{views.RangeDay, views.RangeWeek, views.RangeMonth} {
		overview = append(overview, views.OverviewURL(basePath, demoWorkspace, views.TimeRange{Preset: r}))
	}
	var run []string
	for _, id := range runIDs {
		run = append(run, views.RunURL(basePath, demoWorkspace, id))
	}
	return []*kind{
		{key: kindStatic, name: "static asset (baseline)", paths: []string{asset}},
		{key: kindHealthz, name: "/healthz", paths: []string{basePath + "healthz"}},
		{key: kindRuns, name: "runs list", pageView: true, paths: runs},
		{key: kindRun, name: "run page", pageView: true, paths: run},
		{key: kindOverview, name: "overview", pageView: true, paths: overview},
	}
}

// recorder collects the outcomes of one kind of request.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	attempts  int
	errors    int
	messages  map[string]int
}

func (r *recorder) success(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	r.latencies = append(r.latencies, d)
}

// failure counts an error; attempt says whether it was a request of its
// own (and not an event stream that ended early).
func (r *recorder) failure(err error, attempt bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if attempt {
		r.attempts++
	}
	r.errors++
	if r.messages == nil {
		r.messages = map[string]int{}
	}
	msg := err.Error()
	if _, ok := r.messages[msg]; ok || len(r.messages) < 5 {
		r.messages[msg]++
	}
}

func (r *recorder) stats(k *kind) PageStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := PageStats{Kind: k.key, Name: k.name, Requests: r.attempts, Errors: r.errors}
	if r.attempts > 0 {
		s.ErrorRate = float64(r.errors) / float64(r.attempts)
	}
	sorted := slices.Clone(r.latencies)
	slices.Sort(sorted)
	s.P50Ms, s.P95Ms, s.P99Ms = percentileMs(sorted, 50), percentileMs(sorted, 95), percentileMs(sorted, 99)
	if len(sorted) > 0 {
		s.MaxMs = ms(sorted[len(sorted)-1])
	}
	for msg, n := range r.messages {
		s.ErrorSamples = append(s.ErrorSamples, fmt.Sprintf("%d× %s", n, msg))
	}
	slices.Sort(s.ErrorSamples)
	return s
}

// percentileMs is the nearest-rank percentile of sorted durations.
func percentileMs(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return ms(sorted[min(max(i, 0), len(sorted)-1)])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// load drives the virtual users.
type load struct {
	users   []*user
	kinds   []*kind
	records map[string]*recorder
	stream  *kind
	live    *liveTracker

	lagMu  sync.Mutex
	maxLag time.Duration
}

func newLoad(users []*user, kinds []*kind, streams int) *load {
	l := &load{users: users, kinds: kinds, records: map[string]*recorder{}, live: newLiveTracker(streams),
		stream: &kind{key: kindStream, name: "event stream (to first event)"}}
	for _, k := range append(kinds, l.stream) {
		l.records[k.key] = &recorder{}
	}
	return l
}

// requests sends rate requests a second for d, each at its own fixed time
// whatever the answers before it (an open model): a slow answer delays no
// later request, and each latency is counted from when the request was
// due, so a stall shows in the figures instead of hiding in fewer
// requests (coordinated omission).
func (l *load) requests(ctx context.Context, rate float64, d time.Duration) {
	n := int(math.Round(rate * d.Seconds()))
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if sleep(ctx, time.Until(due)) != nil {
			break
		}
		l.noteLag(time.Since(due))
		k := l.kinds[i%len(l.kinds)]
		turn := i / len(l.kinds)
		u, path := l.users[turn%len(l.users)], k.paths[turn%len(k.paths)]
		wg.Go(func() {
			if err := u.fetch(ctx, path); err != nil {
				l.records[k.key].failure(err, true)
				return
			}
			l.records[k.key].success(time.Since(due))
		})
	}
	wg.Wait()
}

func (l *load) noteLag(d time.Duration) {
	l.lagMu.Lock()
	defer l.lagMu.Unlock()
	l.maxLag = max(l.maxLag, d)
}

// fetch reads path to the end; anything but a 200 is an error.
func (u *user) fetch(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.root+path, nil)
	if err != nil {
		return err
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return plainError(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s%s", resp.Status, locationOf(resp))
	}
	return nil
}

// streams opens n event streams, spread over spread, and holds them open
// until ctx ends; a stream that fails or ends early counts as an error and
// is opened again a second later.
func (l *load) streams(ctx context.Context, n int, spread time.Duration) *sync.WaitGroup {
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(spread * time.Duration(i) / time.Duration(n))
		wg.Go(func() {
			for sleep(ctx, time.Until(due)) == nil {
				l.readStream(ctx, l.users[i%len(l.users)], i, due)
				due = time.Now().Add(time.Second)
			}
		})
	}
	return &wg
}

// readStream reads one event stream until it ends. The first event
// ("ready") tells how long opening it took.
func (l *load) readStream(ctx context.Context, u *user, stream int, due time.Time) {
	rec := l.records[kindStream]
	fail := func(err error, attempt bool) {
		if ctx.Err() == nil { // not the harness closing it
			rec.failure(err, attempt)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.root+views.EventsURL(basePath, demoWorkspace, nil), nil)
	if err != nil {
		fail(err, true)
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := u.stream.Do(req)
	if err != nil {
		fail(plainError(err), true)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		fail(fmt.Errorf("%s %s%s", resp.Status, resp.Header.Get("Content-Type"), locationOf(resp)), true)
		return
	}
	r := bufio.NewReader(resp.Body)
	var event, data string
	ready := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if ready {
				fail(fmt.Errorf("ended early: %w", err), false)
			} else {
				fail(fmt.Errorf("ended before its first event: %w", err), true)
			}
			return
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if event == "ready" && !ready {
				ready = true
				rec.success(time.Since(due))
				l.live.streamOpen(stream)
			} else if event != "" {
				l.live.event(stream, event, data)
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
}

// plainError drops the method and URL an *url.Error repeats.
func plainError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
