package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

// Figures of BenchmarkWebhookIngest: concurrent senders, as Extend
// delivers to a busy dashboard, and events per path and op.
const (
	ingestSenders = 32
	ingestEvents  = 1000
	warmupEvents  = 4 * ingestSenders
)

// BenchmarkWebhookIngest is the sustained rate of webhook events
// verified, stored, applied and published by 32 concurrent senders, each
// a run finishing that history had seen processing (the store's planner
// statistics refreshed before each path, as in a database in service):
// once batched (the default), and once with a transaction per event
// (WebhookBatch 1, the path before batching). Beside them, in the same run, the rate of raw
// single-row inserts, one transaction each, one after another, into the
// same database: what one durable write per event would cost.
func BenchmarkWebhookIngest(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			dsn := backend.NewDSN(b)
			st := openStore(b, dsn)
			broker := NewMemoryBroker()
			published := drainSubscription(b, broker.Subscribe(benchTenant, 4096))
			perEvent := New(st, broker, Options{WebhookBatch: 1})
			paths := []struct {
				name    string
				m       *Monitor
				senders int
			}{
				{"batched", New(st, broker, Options{}), ingestSenders},
				{"per-event", perEvent, ingestSenders},
				// As README measured before batching: one sender.
				{"per-event-serial", perEvent, 1},
			}
			ep, err := st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{Tenant: benchTenant, CreatedBy: "bench", Secrets: []string{"wss_bench"}})
			if err != nil {
				b.Fatal(err)
			}
			secrets, err := st.WebhookSecrets(ctx, ep.ID)
			if err != nil {
				b.Fatal(err)
			}
			raw := openRaw(b, dsn)
			deliver := func(m *Monitor, senders int, bodies [][]byte) {
				sendConcurrently(b, senders, bodies, func(body []byte) error {
					return receiveSigned(ctx, m, ep.ID, secrets, body)
				})
			}
			// Untimed, a round through each path first: a service in
			// steady state has its pools' connections open and its
			// endpoint looked up. Otherwise the first path measured pays
			// for opening the read pool (a new PostgreSQL backend costs
			// milliseconds of CPU each, 32 of them at once), the others
			// not, and that was most of the gap between runs.
			for _, p := range paths {
				deliver(p.m, p.senders, processingRuns(b, paths[0].m, "warmup_"+p.name, warmupEvents))
			}
			elapsed := map[string]time.Duration{}
			n := 0
			for b.Loop() {
				for _, p := range paths {
					bodies := processingRuns(b, paths[0].m, fmt.Sprintf("%s_%d", p.name, n), ingestEvents)
					// As autovacuum does for a database in service: a
					// fresh one's planner would otherwise keep plans made
					// for empty tables (a sequential scan for the batch's
					// "run_id = ANY(…)" locks) while they fill up.
					if err := st.Optimize(ctx); err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					deliver(p.m, p.senders, bodies)
					elapsed[p.name] += time.Since(start)
				}
				start := time.Now()
				for i := range ingestEvents {
					if _, err := raw.ExecContext(ctx, rebindFor(dsn, `INSERT INTO bench_raw (k, v) VALUES (?, ?)`), fmt.Sprintf("%d_%d", n, i), "{}"); err != nil {
						b.Fatal(err)
					}
				}
				elapsed["raw"] += time.Since(start)
				n++
			}
			rate := func(path string) float64 { return float64(ingestEvents*n) / elapsed[path].Seconds() }
			b.ReportMetric(rate("batched"), "events/s")
			b.ReportMetric(rate("per-event"), "per-event-events/s")
			b.ReportMetric(rate("per-event-serial"), "serial-events/s")
			b.ReportMetric(rate("raw"), "raw-inserts/s")
			b.ReportMetric(rate("batched")/rate("per-event"), "x-per-event")
			b.ReportMetric(rate("batched")/rate("per-event-serial"), "x-serial")
			b.ReportMetric(rate("batched")/rate("raw"), "x-raw")
			if published.Load() == 0 {
				b.Fatal("nothing was published")
			}
		})
	}
}

// processingRuns records count runs as processing and returns, for each,
// the body of the webhook saying it finished.
func processingRuns(b *testing.B, m *Monitor, prefix string, count int) [][]byte {
	b.Helper()
	runs := make([]extendapi.EditRun, count)
	bodies := make([][]byte, count)
	for i := range runs {
		id := fmt.Sprintf("edr_%s_%06d", prefix, i)
		runs[i] = editRun(id, extendapi.StatusProcessing)
		body, err := json.Marshal(map[string]any{"eventId": "evt_" + id, "eventType": extendapi.EventEditRunProcessed,
			"payload": editRun(id, extendapi.StatusProcessed)})
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = body
	}
	for start := 0; start < len(runs); start += 500 {
		if _, err := m.IngestMany(context.Background(), benchTenant, store.ViaList, runs[start:min(start+500, len(runs))]); err != nil {
			b.Fatal(err)
		}
	}
	return bodies
}

// receiveSigned is the webhook receiver's work on one delivery, less HTTP:
// check the signature, decode, store and apply, publish.
func receiveSigned(ctx context.Context, m *Monitor, endpoint string, secrets []string, body []byte) error {
	now := time.Now()
	h := extendapi.WebhookHeaders("wss_bench", now, body)
	if err := extendapi.VerifyWebhook(http.Header(h), body, secrets, now); err != nil {
		return err
	}
	ev, err := extendapi.DecodeWebhookEvent(body)
	if err != nil {
		return err
	}
	rec, err := m.ReceiveWebhook(ctx, endpoint, ev)
	if err != nil {
		return err
	}
	if !rec.Event.Applied() {
		return fmt.Errorf("event %s stored but not applied", ev.EventID)
	}
	return nil
}

// sendConcurrently hands bodies to ingestSenders goroutines and waits for
// all of them.
func sendConcurrently(b *testing.B, senders int, bodies [][]byte, send func([]byte) error) {
	b.Helper()
	next := make(chan []byte)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range senders {
		wg.Go(func() {
			for body := range next {
				if err := send(body); err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	for _, body := range bodies {
		next <- body
	}
	close(next)
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// drainSubscription reads a subscription until the benchmark ends and
// counts what it heard.
func drainSubscription(b *testing.B, sub *Subscription) *atomic.Int64 {
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range sub.C {
			n.Add(1)
		}
	}()
	b.Cleanup(func() {
		sub.Close()
		<-done
	})
	return &n
}

// openRaw opens the store's database directly, with a plain table for the
// raw insert baseline (the same pragmas as the store's writer on SQLite).
func openRaw(b *testing.B, dsn string) *sql.DB {
	b.Helper()
	var db *sql.DB
	var err error
	if strings.HasPrefix(dsn, "postgres") {
		db, err = sql.Open("pgx", dsn)
	} else {
		db, err = sql.Open("sqlite", dsn+"?_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=journal_mode(WAL)&_txlock=immediate")
		db.SetMaxOpenConns(1)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS bench_raw (k TEXT PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	return db
}

func rebindFor(dsn, q string) string {
	if !strings.HasPrefix(dsn, "postgres") {
		return q
	}
	for i := 1; strings.Contains(q, "?"); i++ {
		q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
	}
	return q
}
