package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

// issueExample is the rules file of the README (and the issue), read by
// the tests with the receivers' addresses put in.
const issueExample = `channels:
  - name: ops-hook
    type: webhook          # webhook | slack | email
    url: http://127.0.0.1:9999/hook
    # url_file: /run/secrets/ops-hook-url
    # secret_file: /run/secrets/ops-hook-secret
  - name: oncall-mail
    type: email
    to: [oncall@example.com]
rules:
  - name: failure-spike
    deployment: us         # default: the dashboard's --region (sandbox under --sandbox)
    workspace: ws_demo
    kind: failure_rate     # failure_rate | reason | stuck | slow | silence | credits
    above: 0.2
    min_runs: 5
    window: 5m
    resolve_after: 5m
    notify: [ops-hook]
`

var testStart = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// clock is a settable time for the store and the engine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openStore(t *testing.T, dsn string, now func() time.Time) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, nil, store.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func forEachBackend(t *testing.T, fn func(t *testing.T, dsn string)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.NewDSN(t)) })
	}
}

var runSeq int

// addRuns writes n finished runs created at at: failed ones with reason,
// processed ones when reason is "".
func addRuns(t *testing.T, st *store.Store, tenant string, n int, at time.Time, status, reason string) {
	t.Helper()
	runs := make([]store.RunSnapshot, n)
	for i := range runs {
		runSeq++
		ms := 1200.0
		cr := 2.0
		runs[i] = store.RunSnapshot{RunID: fmt.Sprintf("edr_t%06d", runSeq), RunFacts: store.RunFacts{
			Status: status, FailureReason: reason, CreatedAt: at, ProcessingMs: &ms, Credits: &cr}, FinishedAt: at}
		if status == store.StatusProcessing {
			runs[i].FinishedAt = time.Time{}
		}
	}
	if err := st.InsertSyntheticRuns(context.Background(), tenant, runs); err != nil {
		t.Fatal(err)
	}
}

// receiver is a webhook endpoint that records what it is sent; it answers
// each status of fail first, then 200.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	payloads []Payload
	headers  []http.Header
	bodies   [][]byte
	fail     []int
	n        int
}

// calls is how many requests reached the receiver.
func (rc *receiver) calls() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	rc := &receiver{fail: fail}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.n++
		if len(rc.fail) > 0 {
			w.WriteHeader(rc.fail[0])
			rc.fail = rc.fail[1:]
			return
		}
		var p Payload
		if strings.HasPrefix(string(body), "{\"text\"") {
			p.Summary = string(body)
		} else if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("receiver: %v: %s", err, body)
		}
		rc.payloads = append(rc.payloads, p)
		rc.headers = append(rc.headers, r.Header.Clone())
		rc.bodies = append(rc.bodies, body)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []Payload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Payload(nil), rc.payloads...)
}

// mailbox is a real SMTP server (go-smtp) inside the test.
type mailbox struct {
	addr string
	mu   sync.Mutex
	msgs []string
	rcpt []string
}

type mailSession struct{ mb *mailbox }

func (s mailSession) Reset()                               {}
func (s mailSession) Logout() error                        { return nil }
func (s mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mb.mu.Lock()
	s.mb.rcpt = append(s.mb.rcpt, to)
	s.mb.mu.Unlock()
	return nil
}
func (s mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, string(b))
	s.mb.mu.Unlock()
	return err
}

func newMailbox(t *testing.T) *mailbox {
	mb := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return mailSession{mb}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mb
}

func (mb *mailbox) messages() []string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]string(nil), mb.msgs...)
}

func (mb *mailbox) smtpConfig() SMTP {
	host, port, _ := net.SplitHostPort(mb.addr)
	var p int
	fmt.Sscan(port, &p)
	return SMTP{Host: host, Port: p, From: "editwatch@example.com"}
}

// exampleRules is the README's example with the webhook at hookURL and
// the failure-spike rule also mailing oncall-mail.
func exampleRules(t *testing.T, hookURL string, extra string) Rules {
	t.Helper()
	src := strings.Replace(issueExample, "http://127.0.0.1:9999/hook", hookURL, 1)
	src = strings.Replace(src, "notify: [ops-hook]", "notify: [ops-hook, oncall-mail]", 1) + extra
	rules, err := Parse([]byte(src), "us", nil)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// eventually polls cond until it holds or a generous timeout passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
