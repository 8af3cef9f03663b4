package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

func TestStartMetricsServesPrometheus(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, storetest.SQLiteDSN(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if m, stop, err := startMetrics(ctx, "", st, slog.New(slog.DiscardHandler)); err != nil || m != nil {
		t.Fatalf("off by default: got %v, %v", m, err)
	} else {
		stop()
	}
	m, stop, err := startMetrics(ctx, "127.0.0.1:0", st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	_ = m
	// The listener's address is not returned; scrape through the handler
	// the listener serves.
	srv := m.Handler()
	req, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
	rec := &recorder{header: http.Header{}}
	srv.ServeHTTP(rec, req)
	if !strings.Contains(rec.body.String(), "editwatch_run_metrics_errors 0") {
		t.Errorf("metrics output lacks the run collector:\n%s", rec.body.String())
	}
}

type recorder struct {
	header http.Header
	body   strings.Builder
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

var _ io.Writer = (*recorder)(nil)
