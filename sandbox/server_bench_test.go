package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// BenchmarkHTTPFillSampleForm fills sample_form.pdf end to end through HTTP
// (upload, create, poll, download) and, in the same run, with the same
// detect-fill-flatten pipeline in process. The http sub-benchmark reports its
// cost relative to the in-process one (x-inprocess; the target is ≤ 1.3)
// and the process's peak resident memory (peak-MB, VmHWM).
func BenchmarkHTTPFillSampleForm(b *testing.B) {
	path := fixturePath(b, "sample_form.pdf")
	pdf, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	cfg := engineSampleFormBenchConfig()
	ctx := context.Background()
	var inProcessNs float64

	b.Run("inprocess", func(b *testing.B) {
		engine := NewEngine(nil)
		out := filepath.Join(b.TempDir(), "edited.pdf")
		b.ReportAllocs()
		for b.Loop() {
			res, err := EditInProcess(ctx, engine, path, out, cfg)
			if err != nil || len(res.FilledValues) == 0 {
				b.Fatalf("EditInProcess: %d values, %v", len(res.FilledValues), err)
			}
		}
		inProcessNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
	})

	b.Run("http", func(b *testing.B) {
		ts := startSandbox(b, Options{})
		c := ts.api(testKeyA, "")
		b.ReportAllocs()
		for b.Loop() {
			file, err := c.UploadFile(ctx, extendapi.UploadFileParams{Name: "sample_form.pdf", Body: bytes.NewReader(pdf)})
			if err != nil {
				b.Fatal(err)
			}
			run, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}, Config: &cfg})
			if err != nil {
				b.Fatal(err)
			}
			for !run.Status.Terminal() {
				time.Sleep(200 * time.Microsecond)
				if run, err = c.GetEditRun(ctx, run.ID); err != nil {
					b.Fatal(err)
				}
			}
			if run.Status != extendapi.StatusProcessed {
				b.Fatalf("run %s: %s", run.FailureReason, run.FailureMessage)
			}
			status, out := ts.download(run.Output.EditedFile.PresignedURL)
			if status != 200 || !bytes.HasPrefix(out, []byte("%PDF")) {
				b.Fatalf("download: %d", status)
			}
		}
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
		if inProcessNs > 0 {
			b.ReportMetric(ns/inProcessNs, "x-inprocess")
		}
		if peak := peakRSSMegabytes(); peak > 0 {
			b.ReportMetric(peak, "peak-MB")
		}
	})
}

// peakRSSMegabytes is the process's peak resident set (VmHWM), 0 where
// /proc is not available.
func peakRSSMegabytes() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
