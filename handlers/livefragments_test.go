package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/views"
)

// A run page's stream gets its status panel rendered from the snapshot the
// webhook wrote: the final status and timings, a request to reload for
// the filled values (which it never carries), and no reload by itself.
func TestRunPageStreamCarriesFinishedPanel(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	endpoint := addEndpoint(t, env.st, "test/"+demoWS)
	stream := env.openStream(t, views.RunEventsURL("", demoWS, "edr_watch1")[1:])

	status, _ := deliver(t, env.srv.URL+env.app.BasePath, endpoint, testWebhookSecret, runEventBody("evt_w1", "edr_watch1", "PROCESSED"), time.Now())
	if status != http.StatusOK {
		t.Fatalf("webhook: %d", status)
	}
	ev, ok := stream.next(t, views.LiveStatusEvent("edr_watch1"), 5*time.Second)
	if !ok {
		t.Fatal("no status panel on the run page's stream")
	}
	for _, want := range []string{`data-testid="run-status-panel"`, `data-status="PROCESSED"`, `data-testid="run-finished-notice"`, "Finished: reload to see the filled values"} {
		if !strings.Contains(ev.Data, want) {
			t.Errorf("panel lacks %s: %q", want, ev.Data)
		}
	}
	if strings.Contains(ev.Data, "Ana") || strings.Contains(ev.Data, "sse-swap") || strings.Contains(ev.Data, "hx-get") {
		t.Errorf("the finished panel carries a filled value or keeps listening: %q", ev.Data)
	}
}

// A runs list's stream sends new runs as rows only when they match the
// list's filter.
func TestRunsStreamFiltersNewRuns(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	endpoint := addEndpoint(t, env.st, "test/"+demoWS)
	// A watched run on the page: its ID must not be read as a run-ID filter.
	stream := env.openStream(t, views.RunsEventsURL("", demoWS, views.RunsFilter{Status: views.StatusFailed}, []string{"edr_other"})[1:])

	for i, run := range []struct{ id, status string }{{"edr_ok1", "PROCESSED"}, {"edr_bad1", "FAILED"}} {
		if status, _ := deliver(t, env.srv.URL+env.app.BasePath, endpoint, testWebhookSecret, runEventBody("evt_f"+string(rune('0'+i)), run.id, run.status), time.Now()); status != http.StatusOK {
			t.Fatalf("webhook %s: %d", run.id, status)
		}
	}
	ev, ok := stream.next(t, views.LiveEventCreated, 5*time.Second)
	if !ok || !strings.Contains(ev.Data, `data-run-id="edr_bad1"`) {
		t.Fatalf("first new row %q (ok %v): want edr_bad1, the one matching status=FAILED", ev.Data, ok)
	}
}

// A stream renders times in the zone the person chose (the editwatch-tz
// cookie as the stream opens), like the page it updates.
func TestRunsStreamRendersInThePersonsZone(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	u, err := url.Parse(env.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	env.client.Jar.SetCookies(u, []*http.Cookie{{Name: views.TimeZoneCookie, Value: "Asia/Tokyo", Path: "/"}})
	endpoint := addEndpoint(t, env.st, "test/"+demoWS)
	stream := env.openStream(t, views.RunsEventsURL("", demoWS, views.RunsFilter{}, nil)[1:])
	if status, _ := deliver(t, env.srv.URL+env.app.BasePath, endpoint, testWebhookSecret, runEventBody("evt_tz1", "edr_tz1", "PROCESSED"), time.Now()); status != http.StatusOK {
		t.Fatalf("webhook: %d", status)
	}
	ev, ok := stream.next(t, views.LiveEventCreated, 5*time.Second)
	if !ok {
		t.Fatal("no row for the new run")
	}
	if !strings.Contains(ev.Data, "JST") || strings.Contains(ev.Data, "UTC") {
		t.Errorf("the row's times are not in the person's zone (Asia/Tokyo, JST): %q", ev.Data)
	}
}

// A runs list's stream names a run deleted meanwhile ("deleted", its ID
// alone), whatever its status and the list's filter: the page drops the
// row if it shows it.
func TestRunsStreamNamesDeletedRuns(t *testing.T) {
	env := newLiveEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	endpoint := addEndpoint(t, env.st, "test/"+demoWS)
	if status, _ := deliver(t, env.srv.URL+env.app.BasePath, endpoint, testWebhookSecret, runEventBody("evt_d1", "edr_gone1", "PROCESSED"), time.Now()); status != http.StatusOK {
		t.Fatalf("webhook: %d", status)
	}
	stream := env.openStream(t, views.RunsEventsURL("", demoWS, views.RunsFilter{}, nil)[1:])
	if _, err := env.app.Live.Monitor.RecordDeleted(context.Background(), "test/"+demoWS, "edr_gone1"); err != nil {
		t.Fatal(err)
	}
	ev, ok := stream.next(t, views.LiveEventDeleted, 5*time.Second)
	if !ok || ev.Data != "edr_gone1" {
		t.Fatalf("deleted event %q (ok %v): want the run's ID", ev.Data, ok)
	}
}
