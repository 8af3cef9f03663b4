package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// upstreamMetric is the dashboard's counter of HTTP attempts to the Extend
// API (here the embedded sandbox), labelled by operation and status.
const upstreamMetric = "editwatch_extend_requests_total"

// metricsSnapshot is what the harness reads of the dashboard's /metrics.
type metricsSnapshot struct {
	upstream   map[string]int // calls to Extend so far, by operation (all statuses together)
	cpuSeconds float64        // process_cpu_seconds_total
	goroutines int            // go_goroutines
	at         time.Time
}

// scrapeMetrics reads the dashboard's /metrics.
func scrapeMetrics(ctx context.Context, client *http.Client, metricsURL string) (metricsSnapshot, error) {
	snap := metricsSnapshot{upstream: map[string]int{}, at: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return snap, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return snap, fmt.Errorf("read the dashboard's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return snap, fmt.Errorf("read the dashboard's metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if op, n, ok := parseUpstreamSample(line); ok {
			snap.upstream[op] += n
		} else if v, ok := strings.CutPrefix(line, "process_cpu_seconds_total "); ok {
			snap.cpuSeconds, _ = strconv.ParseFloat(v, 64)
		} else if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			snap.goroutines = int(f)
		}
	}
	return snap, sc.Err()
}

// parseUpstreamSample reads one sample line of the text exposition
// format, such as
//
//	editwatch_extend_requests_total{operation="GetEditRun",status="200"} 12
func parseUpstreamSample(line string) (operation string, n int, ok bool) {
	rest, ok := strings.CutPrefix(line, upstreamMetric+"{")
	if !ok {
		return "", 0, false
	}
	labels, value, ok := strings.Cut(rest, "} ")
	if !ok {
		return "", 0, false
	}
	for label := range strings.SplitSeq(labels, ",") {
		if v, found := strings.CutPrefix(label, `operation="`); found {
			operation = strings.TrimSuffix(v, `"`)
		}
	}
	fields := strings.Fields(value)
	if len(fields) == 0 || operation == "" {
		return "", 0, false
	}
	f, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", 0, false
	}
	return operation, int(f), true
}

// upstreamDelta is after minus before, by operation, without the zeros.
func upstreamDelta(before, after map[string]int) map[string]int {
	d := map[string]int{}
	for op, n := range after {
		if n -= before[op]; n != 0 {
			d[op] = n
		}
	}
	return d
}
