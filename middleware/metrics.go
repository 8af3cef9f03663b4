package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// Metrics is Editwatch's Prometheus registry: its own HTTP traffic, its
// calls to Extend, and per-workspace edit-run figures read from the
// rollups on each scrape. It exposes workspace names and volumes, so it is
// served on its own listener (--metrics-listen), never on the dashboard's.
type Metrics struct {
	Registry *prometheus.Registry

	requests         *prometheus.CounterVec
	requestDuration  *prometheus.HistogramVec
	upstream         *prometheus.CounterVec
	upstreamDuration *prometheus.HistogramVec
}

// MetricsOptions configure the run collector.
type MetricsOptions struct {
	Store  *store.Store
	Now    func() time.Time
	Logger *slog.Logger
	// MaxTenants bounds the tenants one scrape reads (default 200).
	MaxTenants int
	// ScrapeTimeout bounds the store work of one scrape (default 10 s).
	ScrapeTimeout time.Duration
}

// NewMetrics builds the registry with the Go and process collectors, the
// HTTP and upstream metrics, and the run collector.
func NewMetrics(opts MetricsOptions) *Metrics {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxTenants <= 0 {
		opts.MaxTenants = 200
	}
	if opts.ScrapeTimeout <= 0 {
		opts.ScrapeTimeout = 10 * time.Second
	}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "editwatch_http_requests_total", Help: "HTTP requests served by Editwatch, by route and status.",
		}, []string{"method", "route", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "editwatch_http_request_duration_seconds", Help: "Time to serve Editwatch HTTP requests, by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "editwatch_extend_requests_total", Help: "HTTP attempts to the Extend API, by operation and status (0: no answer).",
		}, []string{"operation", "status"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "editwatch_extend_request_duration_seconds", Help: "Duration of HTTP attempts to the Extend API, by operation.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"operation"}),
	}
	m.Registry.MustRegister(m.requests, m.requestDuration, m.upstream, m.upstreamDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.Store != nil {
		m.Registry.MustRegister(&runCollector{opts: opts})
	}
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Observe records one attempt of an Extend client (extendapi.WithObserver).
func (m *Metrics) Observe(o extendapi.Observation) {
	m.upstream.WithLabelValues(o.Operation, strconv.Itoa(o.StatusCode)).Inc()
	m.upstreamDuration.WithLabelValues(o.Operation).Observe(o.Duration.Seconds())
}

// ClientOption is the extendapi option that feeds Observe.
func (m *Metrics) ClientOption() extendapi.Option { return extendapi.WithObserver(m.Observe) }

// Middleware counts requests by method and route pattern. Both labels come
// from a closed set, because anyone who reaches the dashboard chooses the
// method and the path: a method outside the standard ones counts as
// "other", and a request that matched no route counts under the single
// route "unmatched" (the router reports the nearest pattern for a 404,
// which would misattribute it). An error a handler returned is handed to
// the error handler here, as AccessLog does, so the status counted is the
// one the page was written with.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	var routes routePatterns
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			method := methodLabel(c.Request().Method)
			route := routes.label(c)
			m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
			m.requestDuration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// unmatchedRoute is the route label of a request no route matched.
const unmatchedRoute = "unmatched"

// methodLabel is the method's metric label: the standard methods as they
// are, anything else "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// routePatterns is the set of routes (method and pattern) registered on
// the Echo the middleware serves, read at the first request: routes are
// all added before the server starts.
type routePatterns struct {
	once   sync.Once
	routes map[string]bool
}

// label is the request's route label: the pattern it matched, the pattern
// whose other methods it missed (a 405 or OPTIONS answer, which carries
// the Allow list), or unmatchedRoute.
func (rp *routePatterns) label(c echo.Context) string {
	rp.once.Do(func() {
		rp.routes = map[string]bool{}
		for _, r := range c.Echo().Routes() {
			rp.routes[r.Method+" "+r.Path] = true
		}
	})
	route := c.Path()
	if route == "" {
		return unmatchedRoute
	}
	if rp.routes[c.Request().Method+" "+route] || c.Get(echo.ContextKeyHeaderAllow) != nil {
		return route
	}
	return unmatchedRoute
}

// Run metric windows: alerts compare the last hour with the last day.
var runWindows = []struct {
	label string
	span  time.Duration
}{{"1h", time.Hour}, {"24h", 24 * time.Hour}}

// processingBucketsSeconds are the le bounds of the processing-time
// histogram; counts come from the rollups' finer fixed bins.
var processingBucketsSeconds = []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800}

var (
	descRuns = prometheus.NewDesc("editwatch_runs_finished", "Edit runs that finished in the window, by status (from Editwatch's history).",
		[]string{"tenant", "window", "status"}, nil)
	descFailures = prometheus.NewDesc("editwatch_run_failures", "Failed edit runs in the window, by failure reason.",
		[]string{"tenant", "window", "reason"}, nil)
	descCredits = prometheus.NewDesc("editwatch_run_credits", "Credits used by the edit runs that finished in the window.",
		[]string{"tenant", "window"}, nil)
	descProcessing = prometheus.NewDesc("editwatch_run_processing_seconds", "Processing time of the edit runs processed in the window.",
		[]string{"tenant", "window"}, nil)
	descInFlight = prometheus.NewDesc("editwatch_runs_processing", "Edit runs still processing, created in the last 7 days.",
		[]string{"tenant"}, nil)
	descStuck = prometheus.NewDesc("editwatch_runs_stuck", "Edit runs processing for longer than the stuck threshold (counted up to 1000).",
		[]string{"tenant"}, nil)
	descStuckThreshold = prometheus.NewDesc("editwatch_runs_stuck_threshold_seconds", "How long a run may process before it counts as stuck.",
		[]string{"tenant"}, nil)
	descWebhookLast = prometheus.NewDesc("editwatch_webhook_last_received_timestamp_seconds", "When the newest webhook delivery of the tenant arrived (Unix time).",
		[]string{"tenant"}, nil)
	descScrapeErrors = prometheus.NewDesc("editwatch_run_metrics_errors", "Tenants whose run metrics could not be read in this scrape.", nil, nil)
)

// maxStuckCounted bounds the stuck-run count per tenant and scrape.
const maxStuckCounted = 1000

// runCollector reads per-tenant figures from the store on each scrape:
// rollups (at most 55 rows per tenant and window), a count of the runs
// still processing, a bounded list of stuck runs, the newest delivery.
type runCollector struct {
	opts MetricsOptions
}

// Describe sends nothing: the collector is unchecked, since its label
// values come from the store.
func (rc *runCollector) Describe(chan<- *prometheus.Desc) {}

func (rc *runCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), rc.opts.ScrapeTimeout)
	defer cancel()
	st := rc.opts.Store
	failed := 0
	tenants, err := st.TenantNames(ctx, rc.opts.MaxTenants)
	if err != nil {
		rc.opts.Logger.Warn("metrics: list tenants", "err", err)
		failed++
	}
	now := rc.opts.Now()
	for _, tenant := range tenants {
		if err := rc.collectTenant(ctx, ch, tenant, now); err != nil {
			rc.opts.Logger.Warn("metrics: tenant figures", "tenant", tenant, "err", err)
			failed++
		}
	}
	ch <- prometheus.MustNewConstMetric(descScrapeErrors, prometheus.GaugeValue, float64(failed))
}

func (rc *runCollector) collectTenant(ctx context.Context, ch chan<- prometheus.Metric, tenant string, now time.Time) error {
	st := rc.opts.Store
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, w := range runWindows {
		total, err := st.RunTotal(ctx, tenant, now.Add(-w.span), now)
		if err != nil {
			return err
		}
		gauge(descRuns, float64(total.Runs[store.StatusProcessed]), tenant, w.label, store.StatusProcessed)
		gauge(descRuns, float64(total.Runs[store.StatusFailed]), tenant, w.label, store.StatusFailed)
		for reason, n := range total.Failures {
			if n > 0 {
				gauge(descFailures, float64(n), tenant, w.label, reason)
			}
		}
		gauge(descCredits, total.Credits, tenant, w.label)
		count, sum, buckets := promHistogram(total.Processing())
		ch <- prometheus.MustNewConstHistogram(descProcessing, count, sum, buckets, tenant, w.label)
	}
	counts, err := st.CountRuns(ctx, tenant, now.Add(-store.StuckWindow), now)
	if err != nil {
		return err
	}
	gauge(descInFlight, float64(counts.ByStatus[store.StatusProcessing]), tenant)
	threshold, err := st.StuckThreshold(ctx, tenant, now)
	if err != nil {
		return err
	}
	f := store.StuckFilter(tenant, now, threshold)
	f.Limit = maxStuckCounted
	stuck, err := st.ListRuns(ctx, f)
	if err != nil {
		return err
	}
	gauge(descStuck, float64(len(stuck.Runs)), tenant)
	gauge(descStuckThreshold, threshold.Seconds(), tenant)
	events, _, err := st.ListWebhookEvents(ctx, store.WebhookEventFilter{Tenant: tenant, Limit: 1})
	if err != nil {
		return err
	}
	if len(events) > 0 {
		gauge(descWebhookLast, float64(events[0].ReceivedAt.UnixMilli())/1000, tenant)
	}
	return nil
}

// promHistogram turns a rollup histogram (ms, fixed log bins) into
// cumulative Prometheus buckets in seconds. A bin counts toward a bound
// once its upper edge is within it; the sum uses each bin's middle.
func promHistogram(h store.Histogram) (count uint64, sum float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(processingBucketsSeconds))
	for _, le := range processingBucketsSeconds {
		buckets[le] = 0
	}
	for i, c := range h {
		if c <= 0 {
			continue
		}
		count += uint64(c)
		lo, hi := store.HistogramLower(i), store.HistogramUpper(i)
		mid := lo
		if hi < 1e18 {
			mid = (lo + hi) / 2
		}
		sum += float64(c) * mid / 1000
		for _, le := range processingBucketsSeconds {
			if hi <= le*1000 {
				buckets[le] += uint64(c)
			}
		}
	}
	return count, sum, buckets
}
