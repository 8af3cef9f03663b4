package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
)

// testWebhookSecret signs the deliveries of endpoints added by addEndpoint.
const testWebhookSecret = "wss_test_0123456789abcdef"

// attachLive wires history and live updates into env, as serve does, with
// broker (a MemoryBroker when nil).
func attachLive(t testing.TB, env *testEnv, broker monitor.Broker) *monitor.Live {
	t.Helper()
	if broker == nil {
		broker = monitor.NewMemoryBroker()
	}
	mon := monitor.New(env.st, broker, monitor.Options{Logger: env.app.Logger, Resolve: env.app.Connector.ResolveWebhookPayload})
	opts := monitor.DefaultRefresherOptions()
	opts.OnRun = func(ctx context.Context, tenant string, run extendapi.EditRun) {
		_, _ = mon.Ingest(ctx, tenant, store.ViaRefresh, run)
	}
	refresher := monitor.NewRefresher(opts)
	ctx, cancel := context.WithCancel(context.Background())
	live, err := monitor.NewLive(ctx, monitor.LiveOptions{Monitor: mon, Broker: broker, Refresher: refresher, Heartbeat: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	backfills, err := upstream.NewBackfills(upstream.BackfillOptions{Store: env.st, Keys: upstream.NewKeys(env.st, env.app.Connector),
		Ingest: mon.IngestBackfill, Go: live.Background, Logger: env.app.Logger})
	if err != nil {
		t.Fatal(err)
	}
	withLive := env.app.Options
	withLive.Live, withLive.Backfills = live, backfills
	// New jobs too: the old ones record bulk deletes through the old
	// dashboard, which has no history.
	withLive.Reruns = nil
	env.build(withLive)
	t.Cleanup(func() {
		cancel()
		if c, ok := broker.(interface{ Close() }); ok {
			c.Close()
		}
		refresher.Close()
		live.Wait()
	})
	return live
}

func newLiveEnv(t testing.TB, opts envOptions) *testEnv {
	t.Helper()
	env := newTestEnv(t.(*testing.T), opts)
	attachLive(t, env, nil)
	return env
}

// secondUser is another browser on the same dashboard.
func (env *testEnv) secondUser() *testEnv {
	other := *env
	jar, _ := cookiejar.New(nil)
	other.client = &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	other.headers = http.Header{}
	return &other
}

// addEndpoint stores a webhook endpoint of tenant signed with
// testWebhookSecret.
func addEndpoint(t testing.TB, st *store.Store, tenant string) string {
	t.Helper()
	ep, err := st.CreateWebhookEndpoint(context.Background(), store.NewWebhookEndpoint{Tenant: tenant, Origin: store.EndpointPasted,
		Status: store.EndpointEnabled, Secrets: []string{testWebhookSecret}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return ep.ID
}

// runEventBody is an edit_run webhook delivery of one run.
func runEventBody(eventID, runID, status string) []byte {
	eventType := extendapi.EventEditRunProcessed
	extra := `"output":{"filledValues":{"name":"Ana"}},"metrics":{"processingTimeMs":1200}`
	if status == "FAILED" {
		eventType = extendapi.EventEditRunFailed
		extra = `"failureReason":"PDF_PARSE_ERROR","failureMessage":"broken"`
	}
	return fmt.Appendf(nil, `{"eventId":%q,"eventType":%q,"payload":{"object":"edit_run","id":%q,"status":%q,`+
		`"file":{"object":"file","id":"file_1","name":"w9.pdf"},%s}}`, eventID, eventType, runID, status, extra)
}

// deliver posts a delivery the way Extend does: no cookie, no token.
func deliver(t testing.TB, baseURL, endpointID, secret string, body []byte, at time.Time) (int, webhookAnswer) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, baseURL+routeWebhookPrefix+endpointID, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range extendapi.WebhookHeaders(secret, at, body) {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans webhookAnswer
	_ = json.NewDecoder(resp.Body).Decode(&ans)
	return resp.StatusCode, ans
}

// sseEvent is one event read from a stream.
type sseEvent struct {
	Name string
	Data string
}

// eventStream is a Go SSE client of /events.
type eventStream struct {
	C      <-chan sseEvent
	cancel context.CancelFunc
}

// openStream opens p with env's cookies and waits for the ready event.
func (env *testEnv) openStream(t testing.TB, p string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.url(p), nil)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range env.headers {
		req.Header[k] = v
	}
	client := &http.Client{Jar: env.client.Jar}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: %d %s", p, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 1024)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					ev.Data = strings.Join(data, "\n")
					ch <- ev
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	s := &eventStream{C: ch, cancel: cancel}
	t.Cleanup(s.Close)
	if _, ok := s.next(t, sseEventReady, 10*time.Second); !ok {
		t.Fatalf("stream %s: no ready event", p)
	}
	return s
}

func (s *eventStream) Close() { s.cancel() }

// next waits for the next event named name, skipping others.
func (s *eventStream) next(t testing.TB, name string, within time.Duration) (sseEvent, bool) {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.C:
			if !ok {
				return sseEvent{}, false
			}
			if ev.Name == name {
				return ev, true
			}
		case <-timer.C:
			return sseEvent{}, false
		}
	}
}
