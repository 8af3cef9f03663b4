package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/extendapi"
)

// Live cost: what people watching the runs list cost in Extend calls.
//
//	go test -run '^$' -bench LiveViewersExtendCalls -benchtime 1x .
//
// One dashboard in --sandbox mode, its /metrics on a listener of their
// own. Each phase opens N viewers of the runs list, each a Go client that
// does what htmx and app.js do with the page's attributes: it opens the
// sse-connect stream, swaps the data of events named by an sse-swap (and
// processes the swapped-in fragments the same way), requests hx-get when
// an event named in an hx-trigger "sse:…" fires, and makes no timer polls
// while its stream is open (app.js cancels them). Then 6 runs with the
// sandbox's processingTime fault at 4 s start (through the Extend API, as
// another integration would) and finish; the phase counts, over a fixed
// window, the dashboard's attempts to Extend (editwatch_extend_requests_total)
// and the requests the viewers made back per event.
func BenchmarkLiveViewersExtendCalls(b *testing.B) {
	const (
		runs   = 6
		window = 16 * time.Second // 4 s processing, webhooks and polls, with room
	)
	metricsAddr := freeMetricsAddr(b)
	base, _ := startServeArgs(b, "--sandbox", "--data-dir", b.TempDir(), "--listen", "127.0.0.1:0",
		"--metrics-listen", metricsAddr, "--log-level", "error")
	metricsURL := "http://" + metricsAddr + "/metrics"
	owner := newUpstreamDashboard(b, base, base+"_sandbox/faults")
	owner.connect("sk_sandbox_demo", "ws_demo")
	api := owner.sandboxAPI(base+"_sandbox", "sk_sandbox_demo", "ws_demo")
	template, err := api.GetEditRun(context.Background(), owner.firstRunID("ws_demo"))
	if err != nil {
		b.Fatal(err)
	}
	waitNoneProcessing(b, api) // the seed's own processing runs finish within a minute
	// The seed's runs send no webhooks: a first viewer's stream has the
	// refresher catch history up with them, once, before measuring.
	warm := openHTMXViewer(b, base)
	warm.waitReady(b)
	deadline := time.Now().Add(60 * time.Second)
	for pageTestID(owner.get("runs?ws=ws_demo").doc(b), "run-row").Filter(`[data-status="PROCESSING"]`).Length() > 0 {
		if time.Now().After(deadline) {
			b.Fatal("history still shows processing runs after 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	warm.close()
	owner.setFaults(`{"processingTime": "4s"}`)

	phase := func(viewers int) liveCost {
		var open []*htmxViewer
		for range viewers {
			v := openHTMXViewer(b, base)
			open = append(open, v)
		}
		for _, v := range open {
			v.waitReady(b)
		}
		before := upstreamAttempts(b, metricsURL)
		start := time.Now()
		var ids []string
		for range runs {
			run, err := api.CreateEditRun(context.Background(), &extendapi.CreateEditRunRequest{
				File: &extendapi.FileRef{ID: template.File.ID}, Config: template.Config})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, run.ID)
		}
		for _, id := range ids {
			waitFinished(b, api, id)
		}
		finished := time.Since(start)
		time.Sleep(window - finished)
		after := upstreamAttempts(b, metricsURL)
		cost := liveCost{viewers: viewers, calls: upstreamCallsBesides(before, after, ""), finished: finished}
		for _, v := range open {
			v.close()
			cost.events += v.events.Load()
			cost.swaps += v.swaps.Load()
			cost.requestsBack += v.requestsBack.Load()
			cost.newRowsSeen += v.newRowsSeen(ids)
		}
		waitNoneProcessing(b, api)
		return cost
	}
	for b.Loop() {
		one := phase(1)
		eight := phase(8)
		b.Logf("1 viewer:  %s", one)
		b.Logf("8 viewers: %s", eight)
		b.ReportMetric(float64(one.total()), "extend-calls/1-viewer")
		b.ReportMetric(float64(eight.total()), "extend-calls/8-viewers")
		b.ReportMetric(float64(eight.total())/float64(max(one.total(), 1)), "ratio-8:1")
		b.ReportMetric(float64(eight.requestsBack)/float64(max(eight.events, 1)), "requests-back/event")
	}
}

// liveCost is what one phase measured.
type liveCost struct {
	viewers                     int
	calls                       map[string]map[string]int
	events, swaps, requestsBack int64
	newRowsSeen                 int
	finished                    time.Duration
}

func (c liveCost) total() int {
	n := 0
	for _, byStatus := range c.calls {
		n += sumCounts(byStatus)
	}
	return n
}

func (c liveCost) String() string {
	var ops []string
	for op, byStatus := range c.calls {
		ops = append(ops, fmt.Sprintf("%s %d", op, sumCounts(byStatus)))
	}
	sort.Strings(ops)
	return fmt.Sprintf("%d Extend calls (%s); %d events, %d swapped in, %d requests back; new runs seen %d of %d; all finished after %s",
		c.total(), strings.Join(ops, ", "), c.events, c.swaps, c.requestsBack, c.newRowsSeen, 6*c.viewers, c.finished.Round(100*time.Millisecond))
}

// htmxViewer is one tab with the runs list open, as htmx and app.js drive
// it (see BenchmarkLiveViewersExtendCalls).
type htmxViewer struct {
	d      *upstreamDashboard
	cancel context.CancelFunc
	done   chan struct{}
	ready  chan struct{}

	mu       sync.Mutex
	swapOn   map[string]bool     // events an element swaps in (sse-swap)
	triggers map[string][]string // events that make an element request (hx-trigger sse:NAME -> hx-get)
	rows     map[string]string   // run ID -> last status the viewer shows

	events, swaps, requestsBack atomic.Int64
}

func openHTMXViewer(tb testing.TB, base string) *htmxViewer {
	tb.Helper()
	v := &htmxViewer{d: newUpstreamDashboard(tb, base, ""), done: make(chan struct{}), ready: make(chan struct{}),
		swapOn: map[string]bool{}, triggers: map[string][]string{}, rows: map[string]string{}}
	v.d.connect("sk_sandbox_demo", "ws_demo")
	page := v.d.get("runs?ws=ws_demo")
	doc := page.doc(tb)
	streamURL := pageTestID(doc, "runs-live").AttrOr("sse-connect", "")
	if streamURL == "" {
		tb.Fatalf("the runs list has no event stream (%d)", page.StatusCode)
	}
	v.process(doc.Selection)
	ctx, cancel := context.WithCancel(context.Background())
	v.cancel = cancel
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+strings.TrimPrefix(streamURL, "/"), nil)
	req.Header.Set("Accept", "text/event-stream")
	client := &http.Client{Jar: v.d.client.Jar}
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("open the stream: %v %v", resp, err)
	}
	go v.read(resp)
	return v
}

// process does what htmx does with new content: it registers the
// elements' sse-swap and sse: triggers, and notes the rows shown.
func (v *htmxViewer) process(s *goquery.Selection) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s.Find("[sse-swap]").AddSelection(s.Filter("[sse-swap]")).Each(func(_ int, el *goquery.Selection) {
		for name := range strings.SplitSeq(el.AttrOr("sse-swap", ""), ",") {
			v.swapOn[strings.TrimSpace(name)] = true
		}
	})
	s.Find("[hx-trigger]").AddSelection(s.Filter("[hx-trigger]")).Each(func(_ int, el *goquery.Selection) {
		for spec := range strings.SplitSeq(el.AttrOr("hx-trigger", ""), ",") {
			if name, ok := strings.CutPrefix(strings.TrimSpace(spec), "sse:"); ok {
				v.triggers[name] = append(v.triggers[name], el.AttrOr("hx-get", ""))
			}
		}
	})
	s.Find("tr[data-run-id]").AddSelection(s.Filter("tr[data-run-id]")).Each(func(_ int, row *goquery.Selection) {
		v.rows[row.AttrOr("data-run-id", "")] = row.AttrOr("data-status", "")
	})
}

func (v *htmxViewer) read(resp *http.Response) {
	defer close(v.done)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var name string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		case line == "" && name != "":
			v.dispatch(name, strings.Join(data, "\n"))
			name, data = "", nil
		}
	}
}

func (v *htmxViewer) dispatch(name, data string) {
	if name == "ready" {
		close(v.ready)
		return
	}
	v.events.Add(1)
	v.mu.Lock()
	swap, urls := v.swapOn[name], v.triggers[name]
	v.mu.Unlock()
	if swap {
		v.swaps.Add(1)
		if d, err := goquery.NewDocumentFromReader(strings.NewReader("<table><tbody>" + data + "</tbody></table>")); err == nil {
			v.process(d.Selection)
		}
	}
	for _, u := range urls {
		v.requestsBack.Add(1)
		r := v.d.get(strings.TrimPrefix(u, "/"))
		if d, err := goquery.NewDocumentFromReader(strings.NewReader("<table><tbody>" + r.body + "</tbody></table>")); err == nil {
			v.process(d.Selection)
		}
	}
}

func (v *htmxViewer) waitReady(tb testing.TB) {
	select {
	case <-v.ready:
	case <-time.After(30 * time.Second):
		tb.Fatal("a viewer's stream never said ready")
	}
}

// newRowsSeen counts the runs among ids the viewer shows as finished.
func (v *htmxViewer) newRowsSeen(ids []string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, id := range ids {
		if s := v.rows[id]; s == "PROCESSED" || s == "FAILED" {
			n++
		}
	}
	return n
}

func (v *htmxViewer) close() {
	v.cancel()
	<-v.done
}

func waitFinished(tb testing.TB, api *extendapi.Client, id string) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		run, err := api.GetEditRun(context.Background(), id)
		if err == nil && run.Status.Terminal() {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("run %s not finished after 60 s: %v %v", id, run, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitNoneProcessing waits until the workspace has no run processing.
func waitNoneProcessing(tb testing.TB, api *extendapi.Client) {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		list, err := api.ListEditRuns(context.Background(), extendapi.ListEditRunsParams{Status: extendapi.StatusProcessing, MaxPageSize: 1})
		if err == nil && len(list.Data) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("runs still processing after 90 s: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
