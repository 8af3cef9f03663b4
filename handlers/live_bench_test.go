package handlers

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// TestLiveFanoutFigure measures the live figure: 200 open event
// streams (Go SSE clients) on one workspace, and for each of 20 webhooks
// the time from sending it to every stream receiving the run's event. It
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
	open := make([]*eventStream, streams)
	for i := range open {
		open[i] = env.openStream(t, "events?ws="+demoWS)
	}
	base := env.srv.URL + env.app.BasePath
	var latencies []time.Duration
	for h := range hooks {
		runID := fmt.Sprintf("edr_fanout%03d", h)
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			lost int
		)
		start := time.Now()
		for _, s := range open {
			wg.Go(func() {
				_, ok := s.next(t, views.LiveRunEvent(runID), 10*time.Second)
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
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	t.Logf("%d streams × %d webhooks: webhook sent → event received p50 %v, p95 %v, max %v",
		streams, hooks, pct(0.50), pct(0.95), latencies[len(latencies)-1])
}
