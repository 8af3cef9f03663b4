package handlers

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// TestLiveFanoutFigure measures the live figure: 200 open event
// streams (Go SSE clients) of a runs list on one workspace, and for each
// of 20 webhooks the time from sending it to every stream receiving the
// run's row, rendered for that stream; first, as a baseline in the same
// run, the same with streams that get only the run's JSON event. It
// reports p50, p95 and max over all receptions. A figure, not a timed
// test: it runs only with EDITWATCH_LIVE_BENCH=1.
func TestLiveFanoutFigure(t *testing.T) {
	if os.Getenv("EDITWATCH_LIVE_BENCH") == "" {
		t.Skip("set EDITWATCH_LIVE_BENCH=1 to measure 200 streams")
	}
	const streams, hooks = 200, 20
	// One session opens all the streams: lift the per-identity page limit.
	env := newLiveEnv(t, envOptions{}).withOptions(func(a *Options) {
		a.RateLimits.Pages = middleware.RateLimit{Rate: -1}
		a.StreamsPerSession = streams
	})
	env.connect(demoKey, demoWS)
	endpoint := addEndpoint(t, env.st, "test/"+demoWS)
	base := env.srv.URL + env.app.BasePath
	// measure opens the streams at path, sends the webhooks, and returns
	// each reception's latency; wants says which event of a stream carries
	// the run.
	measure := func(round, path string, wants func(runID string) string) []time.Duration {
		open := make([]*eventStream, streams)
		for i := range open {
			open[i] = env.openStream(t, path)
		}
		defer func() {
			for _, s := range open {
				s.Close()
			}
		}()
		var latencies []time.Duration
		for h := range hooks {
			runID := fmt.Sprintf("edr_%s%03d", round, h)
			var (
				mu   sync.Mutex
				wg   sync.WaitGroup
				lost int
			)
			start := time.Now()
			for _, s := range open {
				wg.Go(func() {
					ev, ok := s.next(t, wants(runID), 10*time.Second)
					ok = ok && strings.Contains(ev.Data, runID)
					d := time.Since(start)
					mu.Lock()
					defer mu.Unlock()
					if !ok {
						lost++
						return
					}
					latencies = append(latencies, d)
				})
			}
			if status, _ := deliver(t, base, endpoint, testWebhookSecret, runEventBody("evt_"+runID, runID, "PROCESSED"), time.Now()); status != http.StatusOK {
				t.Fatalf("webhook %d: %d", h, status)
			}
			wg.Wait()
			if lost > 0 {
				t.Fatalf("webhook %d: %d streams never received it", h, lost)
			}
		}
		slices.Sort(latencies)
		return latencies
	}
	// The baseline: the run's JSON event alone, as before rows were rendered
	// per stream.
	plain := measure("json", "events?ws="+demoWS, views.LiveRunEvent)
	latencies := measure("rows", strings.TrimPrefix(views.RunsEventsURL("", demoWS, views.RunsFilter{}, nil), "/"),
		func(string) string { return views.LiveEventCreated })
	pct := func(l []time.Duration, p float64) time.Duration { return l[int(p*float64(len(l)-1))] }
	t.Logf("%d streams × %d webhooks, JSON event only (baseline): p50 %v, p95 %v, max %v",
		streams, hooks, pct(plain, 0.50), pct(plain, 0.95), plain[len(plain)-1])
	t.Logf("%d streams × %d webhooks: webhook sent → row rendered per stream received p50 %v, p95 %v, max %v",
		streams, hooks, pct(latencies, 0.50), pct(latencies, 0.95), latencies[len(latencies)-1])
}
