package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Waits of the child processes.
const (
	startTimeout = 2 * time.Minute  // until the dashboard listens
	stopTimeout  = 30 * time.Second // graceful shutdown, then a kill
)

// childEnv is the harness's environment without EDITWATCH_* variables, so
// that only the flags the harness passes configure its children and two
// runs on different machines start the same server.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDITWATCH_") {
			env = append(env, kv)
		}
	}
	return env
}

// runChild runs exe with args to the end, passing each line it prints to
// progress. A failure carries the end of what it wrote to stderr.
func runChild(ctx context.Context, exe string, args []string, progress func(line string)) error {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = childEnv()
	var stderr tailBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", exe, err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		progress(sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("editwatch %s: %w\n%s", args[0], err, stderr.String())
	}
	return nil
}

// server is `editwatch --sandbox …` running as a child process, so that
// its resident memory can be read alone.
type server struct {
	cmd        *exec.Cmd
	baseURL    string // http://127.0.0.1:port, without the base path's slash
	metricsURL string // http://127.0.0.1:port/metrics
	log        *serverLog
	stdout     tailBuffer
	exited     chan struct{}
	waitErr    error
}

var listeningLine = regexp.MustCompile(`listening on (http://\S+?)/?$`)

// startServer starts exe with args (which must include --log-format json
// and --metrics-listen) and waits until both listeners are up.
func startServer(ctx context.Context, exe string, args []string) (*server, error) {
	s := &server{cmd: exec.Command(exe, args...), log: &serverLog{}, exited: make(chan struct{})}
	s.cmd.Env = childEnv()
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	base, metrics := make(chan string, 1), make(chan string, 1)
	var pipes sync.WaitGroup
	pipes.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(&s.stdout, sc.Text())
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case base <- m[1]:
				default:
				}
			}
		}
	})
	pipes.Go(func() { s.log.read(stderr, metrics) })
	go func() {
		pipes.Wait() // Wait closes the pipes: read them to the end first
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	timeout := time.NewTimer(startTimeout)
	defer timeout.Stop()
	for s.baseURL == "" || s.metricsURL == "" {
		select {
		case u := <-base:
			s.baseURL = u
		case addr := <-metrics:
			s.metricsURL = "http://" + addr + "/metrics"
		case <-s.exited:
			return nil, fmt.Errorf("the dashboard stopped while starting (%v):\n%s%s", s.waitErr, s.stdout.String(), s.log.tail.String())
		case <-timeout.C:
			s.stop()
			return nil, fmt.Errorf("the dashboard did not start within %s:\n%s", startTimeout, s.log.tail.String())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		}
	}
	return s, nil
}

// stop asks the server to shut down as Ctrl-C would, kills it if it
// takes too long, and reports how it ended.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return s.waitErr
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
		return s.waitErr
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the dashboard did not shut down within %s and was killed", stopTimeout)
	}
}

// running reports whether the server has not exited.
func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// processMemory is a reading of /proc/<pid>/status, in KiB.
type processMemory struct {
	RSS  int64 // resident now
	Anon int64 // of which anonymous: heap, stacks, SQLite's page cache
	File int64 // of which file-backed: the executable and a memory-mapped SQLite file
	HWM  int64 // the most ever resident
}

// memory reads the server's memory from /proc (Linux only; elsewhere it
// reports ok false).
func (s *server) memory() (m processMemory, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return m, false
	}
	return processMemory{RSS: parseProcStatus(b, "VmRSS:"), Anon: parseProcStatus(b, "RssAnon:"),
		File: parseProcStatus(b, "RssFile:"), HWM: parseProcStatus(b, "VmHWM:")}, true
}

// parseProcStatus reads a "Name:   1234 kB" line of /proc/<pid>/status.
func parseProcStatus(status []byte, name string) int64 {
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// serverLog reads the server's JSON log: it finds the metrics listener's
// address and counts warnings and errors, keeping a few for the report.
type serverLog struct {
	mu       sync.Mutex
	warnings int
	errors   int
	samples  []string
	tail     tailBuffer
}

const maxLogSamples = 10

func (l *serverLog) read(r io.Reader, metricsAddr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Addr  string `json:"addr"`
			Err   string `json:"err"`
		}
		if json.Unmarshal(line, &rec) != nil {
			fmt.Fprintln(&l.tail, string(line)) // a panic's trace, say
			continue
		}
		if rec.Msg == "metrics listening" {
			select {
			case metricsAddr <- rec.Addr:
			default:
			}
		}
		if rec.Level != "WARN" && rec.Level != "ERROR" {
			continue
		}
		fmt.Fprintln(&l.tail, string(line))
		l.mu.Lock()
		if rec.Level == "WARN" {
			l.warnings++
		} else {
			l.errors++
		}
		if len(l.samples) < maxLogSamples {
			sample := rec.Level + " " + rec.Msg
			if rec.Err != "" {
				sample += ": " + rec.Err
			}
			l.samples = append(l.samples, sample)
		}
		l.mu.Unlock()
	}
}

func (l *serverLog) stats() LogStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LogStats{Warnings: l.warnings, Errors: l.errors, Samples: append([]string(nil), l.samples...)}
}

// tailBuffer keeps the last few kilobytes written to it, for error
// messages about a child process.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

const tailSize = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > tailSize {
		t.b = t.b[len(t.b)-tailSize:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.ToValidUTF8(t.b, nil))
}
