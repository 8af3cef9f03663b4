package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// Database outage figures: events in all, and concurrent deliveries.
// Deliveries in the burst give up after burstTimeout (Extend's side of a
// delivery that hangs); the probe delivery and the pages wait longer than
// SQLite's 5 s busy timeout, for the store's answer.
const (
	outageEvents  = 120
	outageWorkers = 3
	burstTimeout  = time.Second
	patientClient = 60 * time.Second
)

// The database unavailable: webhooks answer 503, so Extend retries, and
// nothing acknowledged is lost; pages say what is wrong. The test plays
// Extend: deliveries run before, during and after the outage, and every
// event that got no 2xx is sent again once the database is back.
func TestFaultDatabaseUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test skipped in -short mode")
	}
	faultBackends(t, testDatabaseOutage)
}

func testDatabaseOutage(t *testing.T, db faultDatabase) {
	ctx := context.Background()
	key := faultKey(t)
	st := openFaultStore(t, db.dsn, key)
	endpoint, secret := addFaultEndpoint(t, st)
	storage := newSignedStorage(t)
	events := faultEvents("outage", outageEvents, storage)
	proc := startEditwatchProcess(t, "--sandbox", "--db", db.dsn, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--session-key", key, "--encryption-key", key, "--log-level", "warn")
	browser := faultConnectDemo(t, proc.base)

	ledger := newDeliveryLedger()
	deliver := func(client *http.Client, e faultEvent) deliveryResult {
		d := deliverEvent(ctx, client, proc.base, endpoint, secret, e)
		ledger.record(e, d)
		if d.status != 0 && d.status != http.StatusOK && d.status != http.StatusServiceUnavailable {
			t.Errorf("event %s answered %d, want 200 or 503", e.id, d.status)
		}
		return d
	}
	hasty, patient := &http.Client{Timeout: burstTimeout}, &http.Client{Timeout: patientClient}

	// held: a signed-payload event acknowledged before the outage, whose
	// payload arrives once it has begun: applying it fails, and Extend
	// will not send it again. probe: delivered during the outage by a
	// client that waits for the answer.
	held := events[slices.IndexFunc(events, func(e faultEvent) bool { return e.kind == eventSigned })]
	probe := events[slices.IndexFunc(events, func(e faultEvent) bool { return e.kind == eventProcessed })]
	release := storage.hold(held)
	if d := deliver(patient, held); !d.acknowledged() {
		t.Fatalf("delivery before the outage: %+v", d)
	}
	burst := slices.DeleteFunc(slices.Clone(events), func(e faultEvent) bool { return e.id == held.id || e.id == probe.id })

	outageBegun, restored, burstDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var once sync.Once
	endOutage := func() { once.Do(func() { close(restored) }) }
	t.Cleanup(endOutage)
	var backingOff atomic.Int32
	go func() {
		defer close(burstDone)
		// A third of the events go out before the outage, the rest once
		// it has begun.
		faultBurstGated(burst, outageWorkers, len(burst)/3, outageBegun, func(e faultEvent) {
			if d := deliver(hasty, e); !d.acknowledged() {
				select {
				case <-outageBegun:
					// Extend backs off; the database is back when it
					// tries again.
					backingOff.Add(1)
					<-restored
				default:
				}
			}
		})
	}()
	// The outage begins once the deliveries before it are answered and
	// applied (but for held), so that only what the test sends meets it.
	faultWait(t, "the deliveries before the outage", func() bool {
		if ledger.deliveries() < 1+len(burst)/3 {
			return false
		}
		pending, err := st.PendingWebhookEvents(ctx, 0, 10)
		return err == nil && len(pending) == 1 && pending[0].EventID == held.id
	})
	restore := db.outage(t)
	ackedBefore := ledger.ackedCount()
	close(outageBegun)
	if d := deliver(patient, probe); d.status != http.StatusServiceUnavailable {
		t.Errorf("delivery during the outage: %d (%v), want 503", d.status, d.err)
	}
	checkOutagePages(t, proc.base, browser, db.failsFast)
	release()
	if db.failsFast {
		faultWait(t, "the held event's application to fail", func() bool {
			return strings.Contains(proc.stderr.String(), `"webhook: apply event; retrying" event=`+held.id)
		})
	}
	faultWait(t, "every delivery worker backing off", func() bool { return backingOff.Load() >= outageWorkers })
	restore()
	endOutage()
	<-burstDone

	for attempt := 1; ; attempt++ {
		queue := ledger.unacknowledged(events)
		if len(queue) == 0 {
			break
		}
		if attempt > 5 {
			t.Fatalf("%d events still refused after the database came back", len(queue))
		}
		faultBurst(queue, outageWorkers, func(e faultEvent) { deliver(patient, e) })
	}
	waitNothingPending(t, st)
	verifyExactlyOnce(t, st, endpoint, events)
	if resp, body := faultGet(t, browser, proc.base); resp.StatusCode != http.StatusOK {
		t.Errorf("overview after the outage: %d %.300s", resp.StatusCode, body)
	}
	t.Logf("%d events, %d acknowledged when the outage began; %s; held event's payload fetched %d times",
		len(events), ackedBefore, ledger, storage.fetches(held))
	proc.stop(t)
}

// checkOutagePages: connecting (which writes a session) gets a page that
// says the database is not answering, never a 500. Where reads fail too
// (PostgreSQL refusing connections), so does any page of a signed-in
// person; where only writes fail (SQLite locked), reading pages go on.
func checkOutagePages(t *testing.T, base string, browser *http.Client, readsFail bool) {
	t.Helper()
	visitor := faultBrowser(t)
	form := faultConnectForm(t, visitor, base)
	resp, err := visitor.PostForm(base+"connect", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	expectDatabasePage(t, "connect", resp, string(body))

	resp, page := faultGet(t, browser, base)
	if readsFail {
		expectDatabasePage(t, "overview", resp, page)
	} else if resp.StatusCode != http.StatusOK {
		t.Errorf("overview while only writes fail: %d %.300s", resp.StatusCode, page)
	}
}

func expectDatabasePage(t *testing.T, name string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "database is not answering") ||
		resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s during the outage: %d, Retry-After %q, %.500s", name, resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func faultBrowser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: patientClient}
}

func faultGet(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// faultConnectForm reads the connect form as the page pre-fills it in sandbox
// mode (demo key, workspace, CSRF token).
func faultConnectForm(t *testing.T, c *http.Client, base string) url.Values {
	t.Helper()
	_, page := faultGet(t, c, base+"connect")
	d, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	d.Find(`form[data-testid="connect-form"] input`).Each(func(_ int, s *goquery.Selection) {
		if name, ok := s.Attr("name"); ok {
			form.Set(name, s.AttrOr("value", ""))
		}
	})
	if form.Get("api_key") == "" {
		t.Fatalf("connect form without the demo key: %v", form)
	}
	return form
}

// faultConnectDemo returns a browser connected to the sandbox's demo workspace.
func faultConnectDemo(t *testing.T, base string) *http.Client {
	t.Helper()
	c := faultBrowser(t)
	resp, err := c.PostForm(base+"connect", faultConnectForm(t, c, base))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("connect: %d", resp.StatusCode)
	}
	return c
}
