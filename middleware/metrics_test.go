package middleware

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
)

// metricsEcho is an Echo with a few routes shaped like the dashboard's
// (a parameter, a wildcard mounted for every method) behind the metrics
// middleware.
func metricsEcho(m *Metrics) *echo.Echo {
	e := echo.New()
	e.Use(m.Middleware())
	ok := func(c echo.Context) error { return c.NoContent(http.StatusOK) }
	e.GET("/runs/:id", ok)
	e.POST("/runs/:id/delete", ok)
	e.Any("/_sandbox/*", ok)
	e.GET("/gone/:id", func(c echo.Context) error { return echo.ErrNotFound })
	return e
}

// requestSeries counts the series of the request counter and lists their
// method and route labels.
func requestSeries(t *testing.T, m *Metrics) (int, map[[2]string]bool) {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[[2]string]bool{}
	n := 0
	for _, f := range families {
		if f.GetName() != "editwatch_http_requests_total" {
			continue
		}
		for _, metric := range f.GetMetric() {
			n++
			var key [2]string
			for _, l := range metric.GetLabel() {
				switch l.GetName() {
				case "method":
					key[0] = l.GetValue()
				case "route":
					key[1] = l.GetValue()
				}
			}
			labels[key] = true
		}
	}
	return n, labels
}

func TestMetricsLabelsStayBoundedUnderOddMethodsAndPaths(t *testing.T) {
	m := NewMetrics(MetricsOptions{})
	e := metricsEcho(m)
	paths := []string{"/runs/edr_%d", "/nope/%d", "/_sandbox/x%d", "/runs/edr_%d/delete", "/gone/%d"}
	for i := range 10_000 {
		method := fmt.Sprintf("M%05d", i)
		path := fmt.Sprintf(paths[i%len(paths)], i)
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, nil))
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	n, labels := requestSeries(t, m)
	if n > 20 {
		t.Errorf("20,000 requests with 10,000 methods and raw paths made %d request series, want at most 20", n)
	}
	for key := range labels {
		switch key[1] {
		case "/runs/:id", "/runs/:id/delete", "/_sandbox/*", "/gone/:id", "unmatched":
		default:
			t.Errorf("route label %q is not a route pattern", key[1])
		}
	}
}

func TestMetricsLabels(t *testing.T) {
	tests := []struct {
		method, path string
		want         [2]string
	}{
		{http.MethodGet, "/runs/edr_1", [2]string{"GET", "/runs/:id"}},
		{"BREW", "/runs/edr_1", [2]string{"other", "/runs/:id"}},
		{http.MethodDelete, "/runs/edr_1", [2]string{"DELETE", "/runs/:id"}},
		{"PROPFIND", "/_sandbox/faults", [2]string{"other", "/_sandbox/*"}},
		{http.MethodPost, "/_sandbox/faults", [2]string{"POST", "/_sandbox/*"}},
		{http.MethodGet, "/gone/x", [2]string{"GET", "/gone/:id"}},
		{http.MethodGet, "/nope/edr_1", [2]string{"GET", "unmatched"}},
		{http.MethodGet, "/runs/edr_1/delete", [2]string{"GET", "/runs/:id/delete"}},
		{http.MethodGet, "/runs/edr_1/delete/more", [2]string{"GET", "unmatched"}},
		{http.MethodGet, "/", [2]string{"GET", "unmatched"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			m := NewMetrics(MetricsOptions{})
			metricsEcho(m).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil))
			_, got := requestSeries(t, m)
			if diff := cmp.Diff(map[[2]string]bool{tt.want: true}, got); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}
