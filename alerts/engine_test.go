package alerts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

func newTestEngine(t *testing.T, st *store.Store, clk *clock, rules Rules, smtpCfg SMTP) *Engine {
	t.Helper()
	return NewEngine(Options{Store: st, Interval: time.Second, LinkBase: "https://editwatch.example.com/",
		Sender: NewSender(SenderOptions{AllowPrivate: true, SMTP: smtpCfg, Timeout: 5 * time.Second}), Now: clk.Now}, rules)
}

func tick(t *testing.T, e *Engine) {
	t.Helper()
	if err := e.Tick(context.Background()); err != nil {
		t.Fatalf("Tick: %v", err)
	}
}

// TestFailureSpikeFiresOnceAndResolvesOnce is the story of the issue: a
// spike fires one notification per channel; more failures while it holds
// send nothing; once the failures stop, one "resolved" after
// resolve_after.
func TestFailureSpikeFiresOnceAndResolvesOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		clk := &clock{t: testStart}
		st := openStore(t, dsn, clk.Now)
		hook, mb := newReceiver(t), newMailbox(t)
		e := newTestEngine(t, st, clk, exampleRules(t, hook.URL+"/hook", ""), mb.smtpConfig())
		tenant := "us/ws_demo"

		// 1 failure in 2 runs pages nobody (min_runs 5).
		addRuns(t, st, tenant, 1, clk.Now().Add(-time.Minute), store.StatusFailed, "INTERNAL_ERROR")
		addRuns(t, st, tenant, 1, clk.Now().Add(-time.Minute), store.StatusProcessed, "")
		tick(t, e)
		if n := len(hook.got()); n != 0 {
			t.Fatalf("below min_runs: %d notifications", n)
		}

		// The spike: 4 more failures and 2 successes → 5 of 8 failed.
		addRuns(t, st, tenant, 4, clk.Now().Add(-30*time.Second), store.StatusFailed, "INTERNAL_ERROR")
		addRuns(t, st, tenant, 2, clk.Now().Add(-30*time.Second), store.StatusProcessed, "")
		clk.Add(time.Second)
		tick(t, e)
		got := hook.got()
		if len(got) != 1 {
			t.Fatalf("after the spike: %d webhook notifications, want 1", len(got))
		}
		p := got[0]
		if p.Kind != NotifyFiring || p.State != "firing" || p.Rule != "failure-spike" || p.Workspace != "ws_demo" ||
			p.Deployment != "us" || p.Value != 5.0/8 || p.Threshold != 0.2 || p.Window != "5m0s" || len(p.ExampleRunIDs) != 5 ||
			!strings.HasPrefix(p.NotificationID, "ntf_") || !p.StartedAt.Equal(clk.Now()) {
			t.Errorf("payload: %+v", p)
		}
		if !strings.Contains(p.RunsURL, "https://editwatch.example.com/runs?") || !strings.Contains(p.RunsURL, "status=FAILED") ||
			!strings.Contains(p.RunsURL, "range=custom") || !strings.Contains(p.RunsURL, "ws=ws_demo") {
			t.Errorf("runs link: %s", p.RunsURL)
		}
		if msgs := mb.messages(); len(msgs) != 1 || !strings.Contains(msgs[0], "text/plain") || !strings.Contains(msgs[0], "text/html") ||
			!strings.Contains(msgs[0], "Subject: [Editwatch] failure-spike: firing") {
			t.Errorf("mail: %d messages: %q", len(msgs), msgs)
		}

		// More failures while it holds: nothing more.
		for range 5 {
			addRuns(t, st, tenant, 3, clk.Now(), store.StatusFailed, "INTERNAL_ERROR")
			clk.Add(10 * time.Second)
			tick(t, e)
		}
		if n, m := len(hook.got()), len(mb.messages()); n != 1 || m != 1 {
			t.Fatalf("while holding: %d webhook, %d mail notifications, want 1 each", n, m)
		}

		// The failures stop: the window empties, then resolve_after
		// (5m) passes with the condition false.
		clk.Add(6 * time.Minute)
		tick(t, e) // false from now
		if n := len(hook.got()); n != 1 {
			t.Fatalf("resolved before resolve_after: %d notifications", n)
		}
		clk.Add(4 * time.Minute)
		tick(t, e)
		if n := len(hook.got()); n != 1 {
			t.Fatalf("resolved before resolve_after: %d notifications", n)
		}
		clk.Add(time.Minute + time.Second)
		tick(t, e)
		clk.Add(time.Minute)
		tick(t, e)
		got = hook.got()
		if len(got) != 2 || got[1].Kind != NotifyResolved || got[1].State != "resolved" || got[1].EndedAt == nil {
			t.Fatalf("after resolve_after: %+v", got)
		}
		if len(mb.messages()) != 2 {
			t.Errorf("mail after resolve: %d messages, want 2", len(mb.messages()))
		}

		// Every state change is stored.
		events, err := st.AlertEvents(context.Background(), "failure-spike", 10)
		if err != nil {
			t.Fatal(err)
		}
		var statuses []string
		for _, ev := range events {
			statuses = append(statuses, ev.Status)
		}
		if strings.Join(statuses, ",") != "resolved,firing" {
			t.Errorf("events (newest first): %v", statuses)
		}
		log, err := st.AlertNotifications(context.Background(), "failure-spike", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range log {
			if n.SentAt.IsZero() || n.Attempts != 1 {
				t.Errorf("delivery log: %+v", n)
			}
		}
		if len(log) != 4 {
			t.Errorf("delivery log: %d entries, want 4 (2 per channel)", len(log))
		}
	})
}

func TestSilencedRuleSendsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		clk := &clock{t: testStart}
		st := openStore(t, dsn, clk.Now)
		hook, mb := newReceiver(t), newMailbox(t)
		e := newTestEngine(t, st, clk, exampleRules(t, hook.URL, ""), mb.smtpConfig())
		ctx := context.Background()
		if err := st.SilenceAlert(ctx, "failure-spike", "us/ws_demo", clk.Now().Add(time.Hour), "alice@example.com", "known incident"); err != nil {
			t.Fatal(err)
		}
		addRuns(t, st, "us/ws_demo", 10, clk.Now().Add(-time.Minute), store.StatusFailed, "INTERNAL_ERROR")
		for range 3 {
			tick(t, e)
			clk.Add(10 * time.Second)
		}
		if n, m := hook.calls(), len(mb.messages()); n != 0 || m != 0 {
			t.Fatalf("silenced: %d webhook calls, %d mails", n, m)
		}
		states, err := st.AlertStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s := states["failure-spike"]; s.Status != store.AlertFiring || s.SilencedBy != "alice@example.com" || s.Notified {
			t.Errorf("state: %+v", s)
		}
		// The silence ends while it still fires: now it is notified.
		if err := st.SilenceAlert(ctx, "failure-spike", "us/ws_demo", time.Time{}, "alice@example.com", "over"); err != nil {
			t.Fatal(err)
		}
		tick(t, e)
		if n := len(hook.got()); n != 1 {
			t.Fatalf("after the silence: %d notifications, want 1", n)
		}
	})
}

func TestReceiverErrorIsRetriedThenDelivered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		clk := &clock{t: testStart}
		st := openStore(t, dsn, clk.Now)
		hook := newReceiver(t, 500, 503)
		rules := exampleRules(t, hook.URL, "")
		rules.Rules[0].Notify = []string{"ops-hook"}
		e := newTestEngine(t, st, clk, rules, SMTP{})
		addRuns(t, st, "us/ws_demo", 10, clk.Now().Add(-time.Minute), store.StatusFailed, "INTERNAL_ERROR")
		tick(t, e)
		if hook.calls() != 1 || len(hook.got()) != 0 {
			t.Fatalf("first attempt: %d calls", hook.calls())
		}
		tick(t, e) // the retry waits its backoff (1 interval)
		if hook.calls() != 1 {
			t.Fatalf("retried before the backoff: %d calls", hook.calls())
		}
		for range 4 {
			clk.Add(5 * time.Second)
			tick(t, e)
		}
		got := hook.got()
		if hook.calls() != 3 || len(got) != 1 {
			t.Fatalf("after retries: %d calls, %d delivered; want 3 and 1", hook.calls(), len(got))
		}
		log, err := st.AlertNotifications(context.Background(), "", 10)
		if err != nil || len(log) != 1 || log[0].Attempts != 3 || log[0].SentAt.IsZero() || log[0].LastStatus != 200 {
			t.Fatalf("delivery log: %+v %v", log, err)
		}
	})
}

func TestWebhookIsSignedLikeExtend(t *testing.T) {
	hook := newReceiver(t)
	s := NewSender(SenderOptions{AllowPrivate: true})
	ch := Channel{Name: "h", Type: ChannelWebhook, URL: hook.URL, Secret: "whsec_test"}
	if _, err := s.Deliver(context.Background(), ch, Payload{NotificationID: "ntf_1", Rule: "r"}); err != nil {
		t.Fatal(err)
	}
	hook.mu.Lock()
	h, body := hook.headers[0], hook.bodies[0]
	hook.mu.Unlock()
	if h.Get("X-Editwatch-Notification-Id") != "ntf_1" {
		t.Fatalf("headers: %v", h)
	}
	// A receiver verifies it exactly as Editwatch verifies Extend's.
	if err := extendapi.VerifyWebhook(h, body, []string{"whsec_test"}, time.Now()); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := extendapi.VerifyWebhook(h, body, []string{"whsec_other"}, time.Now()); err == nil {
		t.Fatal("a wrong secret verifies")
	}
}

func TestPrivateDestinationRefusedWithoutTheFlag(t *testing.T) {
	hook := newReceiver(t)
	s := NewSender(SenderOptions{})
	for _, url := range []string{hook.URL, strings.Replace(hook.URL, "127.0.0.1", "localhost", 1)} {
		_, err := s.Deliver(context.Background(), Channel{Name: "h", Type: ChannelWebhook, URL: url}, Payload{NotificationID: "ntf_1"})
		if !errors.Is(err, ErrPrivateDestination) {
			t.Errorf("%s: err %v, want ErrPrivateDestination", url, err)
		}
		if strings.Contains(err.Error(), url) {
			t.Errorf("the error shows the channel's URL, a secret: %v", err)
		}
	}
	if hook.calls() != 0 {
		t.Fatalf("the receiver was called %d times", hook.calls())
	}
	// Slack too.
	if _, err := s.Deliver(context.Background(), Channel{Name: "s", Type: ChannelSlack, URL: hook.URL}, Payload{}); !errors.Is(err, ErrPrivateDestination) {
		t.Errorf("slack: %v", err)
	}
	// With the flag, it goes through.
	if _, err := NewSender(SenderOptions{AllowPrivate: true}).Deliver(context.Background(),
		Channel{Name: "s", Type: ChannelSlack, URL: hook.URL}, Payload{Rule: "r", Summary: "x"}); err != nil || hook.calls() != 1 {
		t.Errorf("with the flag: %v, %d calls", err, hook.calls())
	}
}

type keeper struct{ kept []string }

func (k *keeper) Keep(deployment, workspace string) {
	k.kept = append(k.kept, deployment+"/"+workspace)
}

// Stuck and silence rules ask the keeper (the shared poll) to keep their
// workspace fresh at each evaluation; history older than the retention
// is purged.
func TestKeeperAndRetention(t *testing.T) {
	clk := &clock{t: testStart}
	st := openStore(t, storetest.SQLiteDSN(t), clk.Now)
	rules, err := Parse([]byte(`channels:
  - {name: h, type: webhook, url: "http://127.0.0.1:1/x"}
rules:
  - {name: stuck, workspace: ws_a, kind: stuck, longer_than: 1m, notify: [h]}
  - {name: quiet, workspace: ws_b, kind: silence, window: 1h, notify: [h], enabled: false}
  - {name: spike, workspace: ws_c, kind: failure_rate, above: 0.5, notify: [h]}
`), "us", nil)
	if err != nil {
		t.Fatal(err)
	}
	k := &keeper{}
	e := NewEngine(Options{Store: st, Interval: time.Second, Keeper: k, Retention: 24 * time.Hour, Now: clk.Now,
		Sender: NewSender(SenderOptions{})}, rules)
	tick(t, e)
	if len(k.kept) != 1 || k.kept[0] != "us/ws_a" {
		t.Errorf("kept %v, want the enabled stuck rule's workspace", k.kept)
	}
	ctx := context.Background()
	if err := st.SilenceAlert(ctx, "spike", "us/ws_c", clk.Now().Add(time.Hour), "a", "b"); err != nil {
		t.Fatal(err)
	}
	clk.Add(48 * time.Hour)
	tick(t, e)
	if ev, err := st.AlertEvents(ctx, "", 10); err != nil || len(ev) != 0 {
		t.Errorf("events after the retention: %d %v", len(ev), err)
	}
}
