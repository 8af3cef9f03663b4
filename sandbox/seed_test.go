package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// TestSeed: a week of STUDIO history on the injected clock, every status
// and every failure reason, processed runs with really filled outputs and
// realistic timings; other workspaces stay empty.
func TestSeed(t *testing.T) {
	now := time.Date(2026, 3, 6, 15, 30, 0, 0, time.UTC)
	ts := startSandbox(t, Options{Seed: true, SeedWorkspace: testWSA, Clock: func() time.Time { return now }})
	c := ts.api(testKeyA, "")
	runs := listAll(t, c, extendapi.SortByCreatedAt)
	if len(runs) != seedRunCount {
		t.Fatalf("%d seeded runs, want %d", len(runs), seedRunCount)
	}
	statuses := map[extendapi.RunStatus]int{}
	reasons := map[extendapi.FailureReason]int{}
	var processed []extendapi.EditRun
	for _, r := range runs {
		statuses[r.Status]++
		if r.Status == extendapi.StatusFailed {
			reasons[r.FailureReason]++
			if r.FailureMessage == "" {
				t.Errorf("failed run %s without a message", r.ID)
			}
		}
		if r.Source != SourceStudio {
			t.Errorf("seeded run %s has source %q", r.ID, r.Source)
		}
		if r.CreatedAt.Before(now.Add(-seedDays*24*time.Hour)) || r.CreatedAt.After(now) || r.UpdatedAt.Before(*r.CreatedAt) {
			t.Errorf("run %s: created %s updated %s, outside the week before %s", r.ID, r.CreatedAt, r.UpdatedAt, now)
		}
		if r.Status == extendapi.StatusProcessed {
			processed = append(processed, r)
			ms := *r.Metrics.ProcessingTimeMs
			if ms < 1000 || ms > 120000 || r.Usage == nil || r.Usage.Credits <= 0 {
				t.Errorf("processed run %s: %gms, usage %+v", r.ID, ms, r.Usage)
			}
		}
	}
	if statuses[extendapi.StatusProcessing] != seedProcessingCount || statuses[extendapi.StatusFailed] < len(extendapi.FailureReasons) ||
		float64(statuses[extendapi.StatusProcessed]) < 0.6*seedRunCount {
		t.Errorf("statuses %v", statuses)
	}
	for _, r := range extendapi.FailureReasons {
		if reasons[r] == 0 {
			t.Errorf("no seeded run failed with %s", r)
		}
	}

	// Processed runs carry a real filled PDF.
	for _, r := range []extendapi.EditRun{processed[0], processed[len(processed)-1]} {
		full, err := c.GetEditRun(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		status, pdf := ts.download(full.Output.EditedFile.PresignedURL)
		if status != 200 {
			t.Fatalf("download of %s: %d", r.ID, status)
		}
		path := filepath.Join(t.TempDir(), "seeded.pdf")
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		if len(full.Output.FilledValues) == 0 {
			t.Fatalf("seeded run %s filled nothing", r.ID)
		}
		// Seeded runs keep Extend's default, flattenPdf true.
		requireFlattened(t, path, shownTexts(t, full.Output.FilledValues, seededFormFields(t, full.File.Name)))
	}
	if other := listAll(t, ts.api(testKeyB, ""), extendapi.SortByCreatedAt); len(other) != 0 {
		t.Fatalf("workspace B got %d seeded runs", len(other))
	}
	if files, err := c.ListFiles(context.Background(), extendapi.ListFilesParams{NameContains: "acme-corp"}); err != nil || len(files.Data) == 0 {
		t.Fatalf("seeded input files: %+v, %v", files, err)
	}
}

// seededFormFields are the fields of the demo form a seeded input file
// (named "<form>-<company>.pdf") was made from.
func seededFormFields(t *testing.T, fileName string) []*formField {
	t.Helper()
	forms, err := DemoForms()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forms {
		if strings.HasPrefix(fileName, strings.TrimSuffix(f.Name, ".pdf")+"-") {
			return fieldsOf(t, f.PDF)
		}
	}
	t.Fatalf("seeded file %q comes from no demo form", fileName)
	return nil
}
