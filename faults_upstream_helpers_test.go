package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/time/rate"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// upstreamDashboard is one person's browser on a running dashboard, with the
// address of the sandbox's fault switch.
type upstreamDashboard struct {
	t         testing.TB
	base      string // ends with the base path's slash
	faultsURL string
	client    *http.Client
}

func newUpstreamDashboard(t testing.TB, base, faultsURL string) *upstreamDashboard {
	jar, _ := cookiejar.New(nil)
	return &upstreamDashboard{t: t, base: base, faultsURL: faultsURL, client: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
}

// upstreamResponse is an answer with its body read.
type upstreamResponse struct {
	*http.Response
	body string
}

func (r upstreamResponse) doc(t testing.TB) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func pageTestID(d *goquery.Document, id string) *goquery.Selection {
	return d.Find(`[data-testid="` + id + `"]`)
}

// get loads a page (a path relative to the base path). Safe for
// concurrent use; a transport error fails the test.
func (d *upstreamDashboard) get(p string) upstreamResponse {
	resp, err := d.client.Get(d.base + p)
	if err != nil {
		d.t.Errorf("GET /%s: %v", p, err)
		return upstreamResponse{Response: &http.Response{StatusCode: 0, Header: http.Header{}}}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Errorf("GET /%s: read: %v", p, err)
	}
	return upstreamResponse{resp, string(b)}
}

// connect fills the connect form as a person would and submits it.
func (d *upstreamDashboard) connect(key, ws string) {
	d.t.Helper()
	page := d.get("connect")
	form := url.Values{}
	page.doc(d.t).Find(`form[data-testid="connect-form"] input`).Each(func(_ int, s *goquery.Selection) {
		if name, ok := s.Attr("name"); ok {
			form.Set(name, s.AttrOr("value", ""))
		}
	})
	form.Set("api_key", key)
	form.Set("workspace_id", ws)
	resp, err := d.client.PostForm(d.base+"connect", form)
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.Path, "runs") {
		d.t.Fatalf("connect %s: %d at %s", ws, resp.StatusCode, resp.Request.URL)
	}
}

// deleteRun deletes a run as a person would: its page's delete form,
// submitted and confirmed (what the browser's confirmation dialog adds).
func (d *upstreamDashboard) deleteRun(ws, runID string) {
	d.t.Helper()
	page := d.get("runs/" + runID + "?ws=" + url.QueryEscape(ws))
	form := pageTestID(page.doc(d.t), "delete-form")
	action, ok := form.Attr("action")
	if !ok {
		d.t.Fatalf("run %s: no delete form (%d)", runID, page.StatusCode)
	}
	values := url.Values{}
	form.Find("input").Each(func(_ int, s *goquery.Selection) {
		if name, ok := s.Attr("name"); ok {
			values.Set(name, s.AttrOr("value", ""))
		}
	})
	values.Set(views.ConfirmField, "1")
	base, err := url.Parse(d.base)
	if err != nil {
		d.t.Fatal(err)
	}
	ref, err := url.Parse(action)
	if err != nil {
		d.t.Fatal(err)
	}
	resp, err := d.client.PostForm(base.ResolveReference(ref).String(), values)
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, "/runs") {
		d.t.Fatalf("delete %s: %d at %s", runID, resp.StatusCode, resp.Request.URL)
	}
}

// waitSynced waits until the runs list reads from history (its status
// counts appear once the first sync after connecting is done).
func (d *upstreamDashboard) waitSynced(ws string) {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := d.get("runs?ws=" + ws)
		if r.StatusCode == http.StatusOK && pageTestID(r.doc(d.t), "runs-counts").Length() > 0 {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("history of %s not synced after 60 s (runs list %d)", ws, r.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// firstRunID is a processed run of the workspace.
func (d *upstreamDashboard) firstRunID(ws string) string {
	d.t.Helper()
	r := d.get("runs?ws=" + ws + "&status=PROCESSED")
	id := pageTestID(r.doc(d.t), "run-row").First().AttrOr("data-run-id", "")
	if id == "" {
		d.t.Fatalf("no processed run in %s (%d)", ws, r.StatusCode)
	}
	return id
}

// sandboxAPI is an Extend client of the sandbox, as another program
// using the same workspace.
func (d *upstreamDashboard) sandboxAPI(baseURL, key, ws string) *extendapi.Client {
	d.t.Helper()
	c, err := extendapi.New(extendapi.APIKey(key), extendapi.WithBaseURL(baseURL), extendapi.WithWorkspace(ws),
		extendapi.WithLimiter(nil), extendapi.WithTimeout(10*time.Second))
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// setFaults switches the sandbox's faults (the JSON fields given change,
// the others stay).
func (d *upstreamDashboard) setFaults(faults string) {
	d.t.Helper()
	resp, err := http.Post(d.faultsURL, "application/json", strings.NewReader(faults))
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		d.t.Fatalf("set faults %s: %d %s", faults, resp.StatusCode, b)
	}
}

// pageTally counts what people saw while driving pages.
type pageTally struct {
	mu            sync.Mutex
	views         int
	byStatus      map[int]int
	failedPages   map[string]int // page -> answers other than 200
	degraded      int            // pages with the degraded banner
	rateLimited   int            // pages with the rate-limit banner
	refreshSaid   bool           // a rate-limit banner said when data refreshes
	errorPages    int
	withRetryInfo int // error pages saying when to retry, with Retry-After
	slowest       map[string]time.Duration
}

func (tl *pageTally) add(page string, took time.Duration, r upstreamResponse, d *goquery.Document) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.views++
	tl.slowest[page] = max(tl.slowest[page], took)
	tl.byStatus[r.StatusCode]++
	if r.StatusCode != http.StatusOK {
		tl.failedPages[page]++
	}
	if pageTestID(d, "upstream-degraded").Length() > 0 {
		tl.degraded++
	}
	if s := pageTestID(d, "upstream-rate-limited"); s.Length() > 0 {
		tl.rateLimited++
		tl.refreshSaid = tl.refreshSaid || strings.Contains(strings.Join(strings.Fields(s.Text()), " "), "data refreshes in ~")
	}
	if pageTestID(d, "error-page").Length() > 0 {
		tl.errorPages++
		if pageTestID(d, "retry-after").Length() > 0 && r.Header.Get("Retry-After") != "" {
			tl.withRetryInfo++
		}
	}
}

// drivePace is how fast the people of drive load pages together: half
// the dashboard's own page budget for one session, so that however fast
// the machine, they never meet its 429.
var drivePace = middleware.DefaultRateLimits.Pages.Rate / 2

// drive has workers load views pages round-robin, together no faster than
// drivePace, running during (when not nil) alongside, and tallies what
// they saw. A count, not a duration: a slower machine takes longer for
// the same outcomes.
func (d *upstreamDashboard) drive(pages []string, workers, views int, during func()) *pageTally {
	tally := &pageTally{byStatus: map[int]int{}, failedPages: map[string]int{}, slowest: map[string]time.Duration{}}
	pace := rate.NewLimiter(drivePace, 1)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= views {
					return
				}
				if err := pace.Wait(context.Background()); err != nil {
					d.t.Errorf("pace: %v", err)
					return
				}
				page := pages[i%len(pages)]
				start := time.Now()
				r := d.get(page)
				tally.add(page, time.Since(start), r, r.doc(d.t))
			}
		})
	}
	if during != nil {
		wg.Go(during)
	}
	wg.Wait()
	return tally
}

// pageTiming is how long a page took over several loads.
type pageTiming struct {
	p50, max time.Duration
	status   int // the last status other than 200, else 200
}

// timePages loads each page n times in turn and times them.
func (d *upstreamDashboard) timePages(pages []string, n int) map[string]pageTiming {
	times := map[string][]time.Duration{}
	out := map[string]pageTiming{}
	for range n {
		for _, p := range pages {
			start := time.Now()
			r := d.get(p)
			times[p] = append(times[p], time.Since(start))
			pt := out[p]
			if pt.status == 0 || r.StatusCode != http.StatusOK {
				pt.status = r.StatusCode
			}
			out[p] = pt
		}
	}
	for p, ts := range times {
		slices.Sort(ts)
		pt := out[p]
		pt.p50, pt.max = ts[len(ts)/2], ts[len(ts)-1]
		out[p] = pt
	}
	return out
}

// freeMetricsAddr is a loopback address with a port free a moment ago.
func freeMetricsAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func timeRatio(a, b time.Duration) float64 {
	if b <= 0 {
		return math.Inf(1)
	}
	return float64(a) / float64(b)
}

// upstreamAttempts reads the Extend attempt counter from the metrics
// listener: how many attempts, by operation and status (0: no answer).
func upstreamAttempts(t testing.TB, metricsURL string) map[string]map[string]int {
	t.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	counts := map[string]map[string]int{}
	line := regexp.MustCompile(`(?m)^editwatch_extend_requests_total\{operation="([^"]*)",status="([^"]*)"\} (\S+)$`)
	for _, m := range line.FindAllSubmatch(body, -1) {
		n, err := strconv.ParseFloat(string(m[3]), 64)
		if err != nil {
			t.Fatalf("metrics: %s: %v", m[0], err)
		}
		op := string(m[1])
		if counts[op] == nil {
			counts[op] = map[string]int{}
		}
		counts[op][string(m[2])] = int(n)
	}
	return counts
}

// upstreamCallsBesides is the attempts counted between two readings of
// upstreamAttempts, by operation and status, leaving out the operation
// except ("" leaves out none).
func upstreamCallsBesides(before, after map[string]map[string]int, except string) map[string]map[string]int {
	out := map[string]map[string]int{}
	for op, byStatus := range after {
		if op == except {
			continue
		}
		for status, n := range byStatus {
			if n -= before[op][status]; n > 0 {
				if out[op] == nil {
					out[op] = map[string]int{}
				}
				out[op][status] = n
			}
		}
	}
	return out
}

func sumCounts(byStatus map[string]int) int {
	total := 0
	for _, n := range byStatus {
		total += n
	}
	return total
}

// upstreamCall is one request that reached the counted Extend.
type upstreamCall struct {
	at, answeredAt time.Time
	method         string
	status         int
	retryAfter     time.Duration
}

// upstreamCounter records every Extend API request on its way to next;
// the sandbox's own control routes are not counted.
type upstreamCounter struct {
	next  http.Handler
	mu    sync.Mutex
	calls []upstreamCall
}

func (u *upstreamCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		u.next.ServeHTTP(w, r)
		return
	}
	call := upstreamCall{at: time.Now(), method: r.Method}
	rec := &upstreamStatusRecorder{ResponseWriter: w, status: http.StatusOK}
	u.next.ServeHTTP(rec, r)
	call.answeredAt, call.status = time.Now(), rec.status
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err == nil {
		call.retryAfter = time.Duration(s) * time.Second
	}
	u.mu.Lock()
	u.calls = append(u.calls, call)
	u.mu.Unlock()
}

func (u *upstreamCounter) snapshot() []upstreamCall {
	u.mu.Lock()
	defer u.mu.Unlock()
	calls := slices.Clone(u.calls)
	slices.SortFunc(calls, func(a, b upstreamCall) int { return a.at.Compare(b.at) })
	return calls
}

type upstreamStatusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *upstreamStatusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// peakPerSecond is the most calls of method that arrived within any one
// second (calls sorted by arrival).
func peakPerSecond(calls []upstreamCall, method string) int {
	var times []time.Time
	for _, c := range calls {
		if c.method == method {
			times = append(times, c.at)
		}
	}
	peak, first := 0, 0
	for last, at := range times {
		for at.Sub(times[first]) >= time.Second {
			first++
		}
		peak = max(peak, last-first+1)
	}
	return peak
}

// String summarizes a tally for the log.
func (tl *pageTally) String() string {
	var statuses []string
	for status, n := range tl.byStatus {
		statuses = append(statuses, fmt.Sprintf("%d×%d", n, status))
	}
	slices.Sort(statuses)
	var slowest []string
	for page, took := range tl.slowest {
		slowest = append(slowest, fmt.Sprintf("/%s %.2f s", page, took.Seconds()))
	}
	slices.Sort(slowest)
	return fmt.Sprintf("%d page views (%s), %d with the degraded banner, %d with the rate-limit banner, %d error pages (%d with retry information); slowest: %s",
		tl.views, strings.Join(statuses, " "), tl.degraded, tl.rateLimited, tl.errorPages, tl.withRetryInfo, strings.Join(slowest, ", "))
}
