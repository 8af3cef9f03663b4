package alerts

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

// TestTwoReplicasNotifyOncePerFiring runs two engines on one PostgreSQL
// database: one notification per firing; when the sending replica dies
// (without giving the lease up), the other takes over and sends the next.
func TestTwoReplicasNotifyOncePerFiring(t *testing.T) {
	if os.Getenv("EDITWATCH_TEST_POSTGRES") == "" {
		t.Skip("needs EDITWATCH_TEST_POSTGRES (CI sets it)")
	}
	var dsn string
	for _, b := range storetest.Backends() {
		if b.Name == "postgres" {
			dsn = b.NewDSN(t)
		}
	}
	hook := newReceiver(t)
	src := exampleRules(t, hook.URL, `  - name: out-of-credits
    workspace: ws_demo
    kind: reason
    reason: OUT_OF_CREDITS
    notify: [ops-hook]
`)
	src.Rules[0].Notify = []string{"ops-hook"}
	tenant := "us/ws_demo"

	type replica struct {
		st     *store.Store
		engine *Engine
		stop   context.CancelFunc
		done   chan struct{}
	}
	start := func(name string) *replica {
		st := openStore(t, dsn, time.Now)
		e := NewEngine(Options{Store: st, Interval: time.Second, Holder: name,
			Sender: NewSender(SenderOptions{AllowPrivate: true})}, src)
		e.crashOnStop = true
		ctx, cancel := context.WithCancel(context.Background())
		r := &replica{st: st, engine: e, stop: cancel, done: make(chan struct{})}
		go func() { defer close(r.done); e.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-r.done })
		return r
	}
	a, b := start("replica-a"), start("replica-b")
	addRuns(t, a.st, tenant, 8, time.Now().Add(-time.Minute), store.StatusFailed, "INTERNAL_ERROR")
	eventually(t, "the firing notification", func() bool { return len(hook.got()) >= 1 })
	// A few more intervals: still one.
	time.Sleep(3 * time.Second)
	if got := hook.got(); len(got) != 1 || got[0].Rule != "failure-spike" {
		t.Fatalf("two replicas sent %d notifications for one firing: %+v", len(got), got)
	}
	sender, other := a, b
	if b.engine.Leader() {
		sender, other = b, a
	}
	if !sender.engine.Leader() || other.engine.Leader() {
		t.Fatalf("leaders: a %v, b %v", a.engine.Leader(), b.engine.Leader())
	}

	// Kill the sender: the lease is not given up, it expires (3s).
	sender.stop()
	<-sender.done
	addRuns(t, other.st, tenant, 2, time.Now().Add(-time.Second), store.StatusFailed, "OUT_OF_CREDITS")
	eventually(t, "the other replica's notification", func() bool { return len(hook.got()) >= 2 })
	time.Sleep(3 * time.Second)
	got := hook.got()
	if len(got) != 2 || got[1].Rule != "out-of-credits" || got[1].Kind != NotifyFiring {
		t.Fatalf("after the takeover: %+v", got)
	}
	if !other.engine.Leader() {
		t.Error("the surviving replica does not hold the lease")
	}
}
