package handlers

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
	"github.com/editwatch/editwatch/views"
)

func TestCSVCell(t *testing.T) {
	tests := map[string]string{
		"=1+2": "'=1+2", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"invoice.pdf": "invoice.pdf", "": "", "a=b": "a=b", "📄 résumé.pdf": "📄 résumé.pdf",
	}
	for in, want := range tests {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCSVCell checks that no guarded cell starts a formula, that safe
// cells pass unchanged, and that a guarded cell survives a CSV round trip.
func FuzzCSVCell(f *testing.F) {
	f.Add("=HYPERLINK(\"http://x\")")
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		got := csvCell(s)
		if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Fatalf("csvCell(%q) = %q starts a formula", s, got)
		}
		if got != s && got != "'"+s {
			t.Fatalf("csvCell(%q) = %q changed more than a prefix", s, got)
		}
		if s != "" && !strings.ContainsRune("=+-@\t\r", rune(s[0])) && got != s {
			t.Fatalf("csvCell(%q) = %q changed a safe cell", s, got)
		}
		if strings.ContainsRune(s, '\r') || !utf8Valid(s) {
			return // encoding/csv normalizes \r\n inside quotes
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.Write([]string{got, "x"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		rec, err := csv.NewReader(&buf).Read()
		if err != nil {
			t.Fatalf("read back %q: %v", buf.String(), err)
		}
		if rec[0] != got {
			t.Fatalf("round trip %q -> %q", got, rec[0])
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestExportStreamsInConstantMemory exports 200,000 runs (20,000 under the
// race detector) from history and
// checks that the heap never grows by more than a few MB over its size
// before: rows are written as they are read, a page at a time.
func TestExportStreamsInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 200,000 runs")
	}
	const rows = exportMemoryRows
	ctx := context.Background()
	st, err := store.Open(ctx, storetest.SQLiteDSN(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const tenant = "test/ws_big"
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]store.RunSnapshot, 0, 20_000)
	for i := range rows {
		ms := float64(1000 + i%5000)
		credits := 1.5
		batch = append(batch, store.RunSnapshot{RunID: fmt.Sprintf("edr_%08d", i), RunFacts: store.RunFacts{
			Status: store.StatusProcessed, FileName: fmt.Sprintf("form-%d 📄.pdf", i), ProcessingMs: &ms, Credits: &credits,
			CreatedAt: start.Add(time.Duration(i) * time.Second),
		}})
		if len(batch) == cap(batch) {
			if err := st.InsertSyntheticRuns(ctx, tenant, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	seq := func(yield func(views.RunListItem, error) bool) {
		for r, err := range st.RunsSeq(ctx, store.RunFilter{Tenant: tenant, Limit: exportPageSize}) {
			if !yield(snapshotItem(r, "ws_big"), err) || err != nil {
				return
			}
		}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	counter := &countingWriter{}
	err = writeRunsCSV(counter, seq)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if counter.lines != rows+1 {
		t.Fatalf("%d lines, want %d", counter.lines, rows+1)
	}
	growth := int64(peak.Load()) - int64(before.HeapInuse)
	t.Logf("exported %d rows (%d MB); heap in use grew by at most %.1f MB", rows, counter.n>>20, float64(growth)/(1<<20))
	if growth > 16<<20 {
		t.Errorf("heap grew by %.1f MB while exporting: not streaming", float64(growth)/(1<<20))
	}
}

type countingWriter struct {
	n     int64
	lines int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
