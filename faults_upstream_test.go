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
// honest. Each scenario is a number of page views, lasting seconds;
// assertions count outcomes rather than time them.

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
	tally := d.drive(pages, 4, 10*len(pages), func() {
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
	tally := d.drive(pages, 4, 4*len(pages), nil)
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

// TestFaultsSlowExtend: Extend takes a minute to answer anything. Pages
// read from history make no call to Extend and keep answering, calls to
// Extend stop at --upstream-timeout, the timeouts show as Extend degraded,
// and once it is over no goroutine is left behind. Timings are logged as
// figures; what is asserted does not depend on the machine's speed: the
// slow answers would come a minute later, long after every deadline here.
func TestFaultsSlowExtend(t *testing.T) {
	metricsAddr := freeMetricsAddr(t)
	metricsURL := "http://" + metricsAddr + "/metrics"
	base, _ := startServeArgs(t, "--sandbox", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--base-path", "/ew/", "--log-level", "error", "--upstream-timeout", "1s", "--metrics-listen", metricsAddr)
	d := newUpstreamDashboard(t, base, base+"_sandbox/faults")
	d.connect("sk_sandbox_demo", "ws_demo")
	d.waitSynced("ws_demo")
	runID := d.firstRunID("ws_demo")
	historyPages := []string{"runs?ws=ws_demo", "?ws=ws_demo", "failures?ws=ws_demo", "audit"}
	pages := append([]string{"healthz"}, historyPages...)

	// Warm up, then the baseline: every page and /healthz, no faults.
	d.timePages(historyPages, 3)
	before := d.timePages(pages, 8)
	d.client.CloseIdleConnections()
	goroutinesBefore := runtime.NumGoroutine()
	attemptsBefore := upstreamAttempts(t, metricsURL)

	d.setFaults(`{"latency": "1m"}`)
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
	// The slow calls are under way once their timeouts show.
	degradedShown := false
	for deadline := time.Now().Add(30 * time.Second); !degradedShown && time.Now().Before(deadline); {
		degradedShown = pageTestID(d.get("runs?ws=ws_demo").doc(t), "upstream-degraded").Length() > 0
		if !degradedShown {
			time.Sleep(50 * time.Millisecond)
		}
	}
	attemptsMeasured := upstreamAttempts(t, metricsURL)
	during := d.timePages(pages, 8)
	// A page that waited on Extend would have called it; only the run
	// pages' GetEditRun may be under way.
	calledByHistory := upstreamCallsBesides(attemptsMeasured, upstreamAttempts(t, metricsURL), "GetEditRun")
	close(measured)
	slow.Wait()
	attemptsAfter := upstreamAttempts(t, metricsURL)
	d.setFaults(`{"latency": "0s"}`)

	if !degradedShown {
		t.Error("timeouts did not show as Extend degraded")
	}
	for _, p := range pages {
		b, s := before[p], during[p]
		t.Logf("%-22s p50 %6.1f ms → %6.1f ms with Extend slow (max %6.1f ms; ×%.1f of /healthz → ×%.1f)",
			"/"+p, msOf(b.p50), msOf(s.p50), msOf(s.max), timeRatio(b.p50, before["healthz"].p50), timeRatio(s.p50, during["healthz"].p50))
		if s.status != http.StatusOK {
			t.Errorf("/%s answered %d with Extend slow", p, s.status)
		}
	}
	if len(calledByHistory) > 0 {
		t.Errorf("pages read from history called Extend while it was slow: %v", calledByHistory)
	}
	// The run page needs Extend: its tries each stop at the 1 s timeout,
	// then a 504 with retry information; never the minute of the answer.
	slices.Sort(slowTimes)
	t.Logf("run pages with Extend slow: %d loads %v, %v to %v", len(slowTimes), slowCodes, slowTimes[0], slowTimes[len(slowTimes)-1])
	if slowCodes[http.StatusGatewayTimeout] != len(slowTimes) {
		t.Errorf("run page with Extend slow: statuses %v, want 504 only", slowCodes)
	}
	gets := upstreamCallsBesides(attemptsBefore, attemptsAfter, "")["GetEditRun"]
	t.Logf("GetEditRun attempts with Extend slow, by status (0: no answer): %v", gets)
	if total := sumCounts(gets); total < slowCallers || gets["0"] != total {
		t.Errorf("GetEditRun attempts by status %v; want at least %d, each given up at the timeout (status 0)", gets, slowCallers)
	}

	// No pile-up: the goroutines come back to where they were, well
	// before the answers they were waiting for would have come.
	d.client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		after := runtime.NumGoroutine()
		if after <= goroutinesBefore+10 {
			t.Logf("goroutines: %d before, at most %d while Extend was slow, %d after", goroutinesBefore, peak, after)
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before the slow calls, still %d 30 s after:\n%s", goroutinesBefore, after, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(200 * time.Millisecond)
	}
}
