package main

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/sandbox"
)

// Fault tests: the sandbox misbehaves on purpose (POST /_sandbox/faults)
// while people use the dashboard, and the dashboard stays useful and
// honest. Each scenario lasts seconds; assertions count outcomes rather
// than time them, except for generous ceilings.

// TestFaultsExtendHalfFailing: Extend answers half of all calls with 500.
// Nothing answers 500, pages that need Extend fail with retry information
// and the degraded banner shows; once the faults stop, the banner goes and
// a run created meanwhile shows in the runs list.
func TestFaultsExtendHalfFailing(t *testing.T) {
	base, _ := startServeArgs(t, "--sandbox", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--base-path", "/ew/", "--log-level", "error")
	d := newUpstreamDashboard(t, base, base+"_sandbox/faults")
	d.connect("sk_sandbox_demo", "ws_demo")
	d.waitSynced("ws_demo")
	runID := d.firstRunID("ws_demo")
	api := d.sandboxAPI(base+"_sandbox", "sk_sandbox_demo", "ws_demo")
	seeded, err := api.GetEditRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}

	d.setFaults(`{"rate5xx": 0.5}`)
	pages := []string{
		"runs?ws=ws_demo", "?ws=ws_demo", "failures?ws=ws_demo", "audit",
		"runs/" + runID + "?ws=ws_demo", "runs/" + runID + "/row?ws=ws_demo",
	}
	var created string
	tally := d.drive(pages, 4, 6*time.Second, func() {
		// A run created while Extend fails; the create is not retried by
		// the client on a 500 (it could duplicate), so retry here.
		for range 40 {
			run, err := api.CreateEditRun(context.Background(), &extendapi.CreateEditRunRequest{
				File: &extendapi.FileRef{ID: seeded.File.ID}, Config: seeded.Config})
			if err == nil {
				created = run.ID
				return
			}
		}
	})
	t.Logf("with 50%% 5xx: %s", tally)
	if created == "" {
		t.Fatal("could not create a run through the failing sandbox in 40 tries")
	}
	if n := tally.byStatus[http.StatusInternalServerError]; n > 0 {
		t.Errorf("%d answers were 500", n)
	}
	for status, n := range tally.byStatus {
		if status != http.StatusOK && status != http.StatusBadGateway && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
			t.Errorf("%d answers with status %d", n, status)
		}
	}
	if tally.degraded == 0 {
		t.Errorf("no page showed the degraded banner")
	}
	if tally.errorPages > tally.withRetryInfo {
		t.Errorf("%d error pages, only %d of them say when to retry", tally.errorPages, tally.withRetryInfo)
	}
	for _, p := range []string{"runs?ws=ws_demo", "?ws=ws_demo", "failures?ws=ws_demo", "audit"} {
		if tally.failedPages[p] > 0 {
			t.Errorf("%s, read from history, failed %d times", p, tally.failedPages[p])
		}
	}

	d.setFaults(`{"rate5xx": 0}`)
	recovering := time.Now()
	deadline := recovering.Add(45 * time.Second)
	for {
		// A person looks at a run again (an Extend call), then the list.
		d.get("runs/" + runID + "?ws=ws_demo")
		r := d.get("runs?ws=ws_demo&size=100")
		doc := r.doc(t)
		banner := pageTestID(doc, "upstream-degraded").Length() > 0
		listed := doc.Find(`[data-run-id="`+created+`"]`).Length() > 0
		if r.StatusCode == http.StatusOK && !banner && listed {
			t.Logf("current again %.1f s after the faults stopped", time.Since(recovering).Seconds())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("45 s after the faults stopped: status %d, banner %v, run %s listed %v", r.StatusCode, banner, created, listed)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestFaultsRateLimitStorm: every Extend call answers 429 Retry-After 1.
// The dashboard runs against an external Extend (the sandbox behind a
// counter), so the client-side per-category budget of a real deployment
// applies: it is never exceeded, no call goes out before the Retry-After
// of a 429 has passed, and pages say when data refreshes.
func TestFaultsRateLimitStorm(t *testing.T) {
	const key, ws = "sk_test_storm_0123456789", "ws_storm"
	sb, err := sandbox.New(sandbox.Options{APIKeys: map[string]string{key: ws}, Seed: true, SeedWorkspace: ws, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	counter := &upstreamCounter{next: sb}
	upstream := httptest.NewServer(counter)
	t.Cleanup(upstream.Close)
	base, _ := startPlainServe(t, "--extend-url", upstream.URL)
	d := newUpstreamDashboard(t, base, upstream.URL+"/_sandbox/faults")
	d.connect(key, ws)
	d.waitSynced(ws)
	runID := d.firstRunID(ws)

	stormStart := time.Now()
	d.setFaults(`{"rate429": 1}`)
	pages := []string{"runs/" + runID + "?ws=" + ws, "runs?ws=" + ws, "runs/" + runID + "/row?ws=" + ws}
	tally := d.drive(pages, 4, 3*time.Second, nil)
	d.setFaults(`{"rate429": 0}`)
	stormEnd := time.Now()
	t.Logf("429 storm: %s", tally)

	calls := counter.snapshot()
	var inStorm []upstreamCall
	for _, c := range calls {
		if !c.at.Before(stormStart) && c.at.Before(stormEnd) {
			inStorm = append(inStorm, c)
		}
	}
	limit := float64(extendapi.PAYGRate) + math.Ceil(extendapi.PAYGRate/5.0)
	peak := peakPerSecond(calls, http.MethodGet)
	t.Logf("upstream GETs: %d during the %.1f s storm (%.1f/s), peak %d in any second over the whole test; budget %g/s plus a burst of %g",
		len(inStorm), stormEnd.Sub(stormStart).Seconds(), float64(len(inStorm))/stormEnd.Sub(stormStart).Seconds(), peak,
		float64(extendapi.PAYGRate), limit-extendapi.PAYGRate)
	if float64(peak) > limit {
		t.Errorf("%d GETs reached Extend within one second; the budget is %g", peak, limit)
	}
	// Calls already past the limiter when a 429 came back may still land
	// just after it; none may land later within its Retry-After.
	const inFlight = 500 * time.Millisecond
	early := 0
	for i, c := range inStorm {
		if c.status != http.StatusTooManyRequests {
			continue
		}
		for _, later := range inStorm[i+1:] {
			if gap := later.at.Sub(c.answeredAt); gap > inFlight && gap < c.retryAfter {
				early++
			}
		}
	}
	if early > 0 {
		t.Errorf("%d calls reached Extend before the Retry-After of an earlier 429 had passed", early)
	}
	if tally.rateLimited == 0 {
		t.Error("no page said Extend is rate limiting the workspace")
	}
	if !tally.refreshSaid {
		t.Error("no page said when data refreshes")
	}
	if n := tally.byStatus[http.StatusInternalServerError]; n > 0 {
		t.Errorf("%d answers were 500", n)
	}
	if tally.failedPages["runs?ws="+ws] > 0 {
		t.Errorf("the runs list, read from history, failed %d times", tally.failedPages["runs?ws="+ws])
	}
	if tally.errorPages > tally.withRetryInfo {
		t.Errorf("%d error pages, only %d of them say when to retry", tally.errorPages, tally.withRetryInfo)
	}

	// The first answer after the storm clears the banner.
	r := d.get("runs/" + runID + "?ws=" + ws)
	if r.StatusCode != http.StatusOK || pageTestID(r.doc(t), "upstream-rate-limited").Length() != 0 {
		t.Errorf("after the storm: %d, banner %d", r.StatusCode, pageTestID(r.doc(t), "upstream-rate-limited").Length())
	}
}

// TestFaultsSlowExtend: Extend takes 5 s to answer anything. Pages read
// from history stay as fast as before, calls to Extend stop at
// --upstream-timeout, and once it is over no goroutine is left behind.
func TestFaultsSlowExtend(t *testing.T) {
	metricsAddr := freeMetricsAddr(t)
	base, _ := startServeArgs(t, "--sandbox", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--base-path", "/ew/", "--log-level", "error", "--upstream-timeout", "1s", "--metrics-listen", metricsAddr)
	d := newUpstreamDashboard(t, base, base+"_sandbox/faults")
	d.connect("sk_sandbox_demo", "ws_demo")
	d.waitSynced("ws_demo")
	runID := d.firstRunID("ws_demo")
	historyPages := []string{"runs?ws=ws_demo", "?ws=ws_demo", "failures?ws=ws_demo", "audit"}

	// Warm up, then the baseline: every page and /healthz, no faults.
	d.timePages(historyPages, 3)
	before := d.timePages(append([]string{"healthz"}, historyPages...), 8)
	d.client.CloseIdleConnections()
	time.Sleep(300 * time.Millisecond)
	goroutinesBefore := runtime.NumGoroutine()

	d.setFaults(`{"latency": "5s"}`)
	// People keep opening a run page (which needs Extend) while others use
	// pages read from history.
	const slowCallers = 6
	var (
		slow      sync.WaitGroup
		mu        sync.Mutex
		slowTimes []time.Duration
		slowCodes = map[int]int{}
		peak      = runtime.NumGoroutine()
	)
	measured := make(chan struct{})
	for range slowCallers {
		slow.Go(func() {
			for {
				start := time.Now()
				r := d.get("runs/" + runID + "?ws=ws_demo")
				mu.Lock()
				slowTimes, slowCodes[r.StatusCode] = append(slowTimes, time.Since(start)), slowCodes[r.StatusCode]+1
				peak = max(peak, runtime.NumGoroutine())
				mu.Unlock()
				select {
				case <-measured:
					return
				default:
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // the slow calls are under way
	during := d.timePages(append([]string{"healthz"}, historyPages...), 8)
	degradedShown := pageTestID(d.get("runs?ws=ws_demo").doc(t), "upstream-degraded").Length() > 0
	close(measured)
	slow.Wait()
	d.setFaults(`{"latency": "0s"}`)

	for _, p := range append([]string{"healthz"}, historyPages...) {
		b, s := before[p], during[p]
		t.Logf("%-22s p50 %6.1f ms → %6.1f ms with Extend slow (max %6.1f ms; ×%.1f of /healthz → ×%.1f)",
			"/"+p, msOf(b.p50), msOf(s.p50), msOf(s.max), timeRatio(b.p50, before["healthz"].p50), timeRatio(s.p50, during["healthz"].p50))
		if s.status != http.StatusOK {
			t.Errorf("/%s answered %d with Extend slow", p, s.status)
		}
		if s.p50 > max(4*b.p50, b.p50+250*time.Millisecond) {
			t.Errorf("/%s slowed down with Extend: p50 %v, before %v", p, s.p50, b.p50)
		}
		// A page waiting on Extend would take 4 tries of the 1 s timeout.
		if s.max > 3*time.Second {
			t.Errorf("/%s took %v with Extend slow", p, s.max)
		}
	}
	// The run page needs Extend: 4 tries of 1 s plus backoff, then a 504
	// with retry information; never the 5 s of each slow answer.
	slices.Sort(slowTimes)
	t.Logf("run pages with Extend slow: %d loads %v, %v to %v", len(slowTimes), slowCodes, slowTimes[0], slowTimes[len(slowTimes)-1])
	if slowCodes[http.StatusGatewayTimeout] != len(slowTimes) {
		t.Errorf("run page with Extend slow: statuses %v, want 504 only", slowCodes)
	}
	if slowTimes[0] < time.Second || slowTimes[len(slowTimes)-1] > 12*time.Second {
		t.Errorf("run pages with Extend slow took %v to %v; want the 4 tries of 1 s plus backoff", slowTimes[0], slowTimes[len(slowTimes)-1])
	}
	count, within := upstreamDurations(t, "http://"+metricsAddr+"/metrics", "GetEditRun", "2.5")
	t.Logf("GetEditRun attempts: %d, %d of them within 2.5 s (timeout 1 s)", count, within)
	if count < slowCallers || within != count {
		t.Errorf("%d of %d GetEditRun attempts took longer than 2.5 s with --upstream-timeout 1s", count-within, count)
	}
	if !degradedShown {
		t.Error("timeouts did not show as Extend degraded")
	}

	// No pile-up: the goroutines come back to where they were, well
	// before the 5 s answers they were waiting for would have come.
	d.client.CloseIdleConnections()
	deadline := time.Now().Add(3 * time.Second)
	for {
		after := runtime.NumGoroutine()
		if after <= goroutinesBefore+10 {
			t.Logf("goroutines: %d before, at most %d while Extend was slow, %d after", goroutinesBefore, peak, after)
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before the slow calls, still %d 3 s after:\n%s", goroutinesBefore, after, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(200 * time.Millisecond)
	}
}
