package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// helperProcessEnv switches TestHelperProcessEditwatch on; helperArgsEnv
// carries the editwatch arguments, as JSON.
const (
	helperProcessEnv = "EDITWATCH_HELPER_PROCESS"
	helperArgsEnv    = "EDITWATCH_HELPER_ARGS"
)

// TestHelperProcessEditwatch is not a test: it is the editwatch process
// that tests start, kill and start again (startEditwatchProcess), run from
// the test binary itself.
func TestHelperProcessEditwatch(t *testing.T) {
	if os.Getenv(helperProcessEnv) != "1" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv(helperArgsEnv)), &args); err != nil {
		t.Fatalf("%s: %v", helperArgsEnv, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, args, func(string) string { return "" }, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// editwatchProcess is editwatch running as a child process.
type editwatchProcess struct {
	cmd    *exec.Cmd
	base   string // e.g. http://127.0.0.1:41234/
	stderr *syncBuffer
	done   chan struct{}
}

// startEditwatchProcess starts editwatch with args in a child process and
// waits until it listens.
func startEditwatchProcess(t *testing.T, args ...string) *editwatchProcess {
	t.Helper()
	encoded, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessEditwatch$")
	cmd.Env = append(os.Environ(), helperProcessEnv+"=1", helperArgsEnv+"="+string(encoded))
	p := &editwatchProcess{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		listening := regexp.MustCompile(`listening on (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.kill(t)
		}
	})
	select {
	case p.base = <-found:
		return p
	case <-p.done:
		_ = cmd.Wait()
		t.Fatalf("editwatch exited before listening: %s", p.stderr.String())
	case <-time.After(90 * time.Second):
		p.kill(t)
		t.Fatalf("editwatch did not start: %s", p.stderr.String())
	}
	return nil
}

// kill ends the process with SIGKILL: no shutdown, no deferred work.
func (p *editwatchProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Errorf("kill: %v", err)
	}
	<-p.done
	_ = p.cmd.Wait()
}

// stop ends the process with SIGTERM and checks it exits cleanly.
func (p *editwatchProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("editwatch did not stop cleanly: %v\n%s", err, p.stderr.String())
	}
}

// Process killed during webhook bursts: after restart every acknowledged
// event is applied exactly once. Extend's part is played by the test: it
// re-sends every event that got no 2xx, as often as needed.
func TestFaultKillDuringWebhookBursts(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test skipped in -short mode")
	}
	faultBackends(t, testKillDuringBursts)
}

// Kill figures: how many events, how many concurrent deliveries, and how
// many bursts end with SIGKILL (after a third of their events got 2xx).
const (
	killEvents  = 240
	killWorkers = 8
	killBursts  = 2
)

func testKillDuringBursts(t *testing.T, db faultDatabase) {
	key := faultKey(t)
	st := openFaultStore(t, db.dsn, key)
	endpoint, secret := addFaultEndpoint(t, st)
	storage := newSignedStorage(t)
	events := faultEvents("kill", killEvents, storage)
	// Extend may deliver an event twice: every tenth goes out again a few
	// events later.
	var queue []faultEvent
	for i, e := range events {
		queue = append(queue, e)
		if i%10 == 5 {
			queue = append(queue, events[i-5])
		}
	}
	args := []string{"--sandbox", "--db", db.dsn, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--session-key", key, "--encryption-key", key, "--log-level", "warn"}
	ledger := newDeliveryLedger()
	client := &http.Client{Timeout: 30 * time.Second}
	kills, unanswered := 0, 0
	for burst := 0; len(queue) > 0; burst++ {
		if burst > killBursts+3 {
			t.Fatalf("events still unacknowledged after %d bursts: %d", burst, len(queue))
		}
		proc := startEditwatchProcess(t, args...)
		killAt := 0
		if burst < killBursts {
			killAt = ledger.ackedCount() + len(queue)/3
		}
		var once sync.Once
		killed := false
		faultBurst(queue, killWorkers, func(e faultEvent) {
			d := deliverEvent(context.Background(), client, proc.base, endpoint, secret, e)
			ledger.record(e, d)
			switch {
			case d.status == 0:
				// No answer: the process is gone (or going).
			case !d.acknowledged():
				t.Errorf("event %s answered %d", e.id, d.status)
			case killAt > 0 && ledger.ackedCount() >= killAt:
				once.Do(func() {
					proc.kill(t)
					killed = true
				})
			}
		})
		if killed {
			kills++
		} else {
			waitNothingPending(t, st)
			proc.stop(t)
		}
		sent := len(queue)
		queue = ledger.unacknowledged(events)
		t.Logf("burst %d: %d deliveries, killed %v, %d events left without a 2xx", burst, sent, killed, len(queue))
		if killed {
			unanswered += len(queue)
		}
	}
	verifyExactlyOnce(t, st, endpoint, events)
	t.Logf("%d events, %d SIGKILLs mid-burst, %d events without a 2xx at a kill; %s", len(events), kills, unanswered, ledger)
	if kills != killBursts {
		t.Errorf("%d kills, want %d", kills, killBursts)
	}
}
