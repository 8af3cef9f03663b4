package sandbox

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// Seed shape: a week of history, every status and every failure reason.
const (
	seedRunCount        = 320
	seedProcessingCount = 6
	seedDays            = 7
	seedProcessedShare  = 0.82
)

// seedCompanies name the seeded inputs, so fileNameContains has something
// to find.
var seedCompanies = []string{"acme-corp", "globex", "initech", "umbrella-health", "stark-industries", "wayne-logistics"}

// seedFailureWeights make the failure mix look like production: validation
// and download problems are common, corrupt files rare.
var seedFailureWeights = map[extendapi.FailureReason]float64{
	extendapi.ReasonSchemaValidationError: 6, extendapi.ReasonUnableToDownloadFile: 5, extendapi.ReasonFileTypeNotSupported: 4,
	extendapi.ReasonPasswordProtectedFile: 3, extendapi.ReasonEmptySchema: 3, extendapi.ReasonFileSizeTooLarge: 2,
	extendapi.ReasonCorruptFile: 2, extendapi.ReasonInvalidOptions: 2, extendapi.ReasonFailedToConvertToPDF: 2,
	extendapi.ReasonOutOfCredits: 1, extendapi.ReasonFieldDetectionError: 1, extendapi.ReasonInternalError: 1,
}

// seedFailureMessages are what the seeded failures say.
var seedFailureMessages = map[extendapi.FailureReason]string{
	extendapi.ReasonUnableToDownloadFile:  "could not download file.url: the server answered 403 Forbidden",
	extendapi.ReasonFileTypeNotSupported:  "the file is not a PDF: it is IMG",
	extendapi.ReasonFileSizeTooLarge:      "the file at file.url exceeds the sandbox's limit of 50000000 bytes",
	extendapi.ReasonCorruptFile:           "the PDF cannot be read: xref table not found",
	extendapi.ReasonFieldDetectionError:   "the form's field tree could not be read",
	extendapi.ReasonPasswordProtectedFile: "the PDF is encrypted and no password was given (file.settings.password)",
	extendapi.ReasonFailedToConvertToPDF:  "w9-request.docx is DOCX and the sandbox converts nothing to PDF",
	extendapi.ReasonInternalError:         "internal error while processing the PDF",
	extendapi.ReasonInvalidOptions:        "conditionalGenerationEnabled only applies when no schema is given, but config.schema is set",
	extendapi.ReasonEmptySchema:           "no schema was given and the PDF has no form fields the sandbox can fill",
	extendapi.ReasonOutOfCredits:          "the run needs 2 credits and the workspace has 1 left",
	extendapi.ReasonSchemaValidationError: "required property \"taxpayer_ssn\" has no value",
}

// seedSample is one demo form, filled once for real: every processed seeded
// run of that form links the same output bytes.
type seedSample struct {
	form   DemoForm
	config extendapi.EditConfig
	inputs []extendapi.File
	output string // blob ID of the real filled PDF
	result EditResult
}

// seed fills the seed workspace with demo files and a week of runs: real
// filled outputs for the processed ones, every failure reason, and a few
// runs still processing that finish shortly after start. Seeded runs are
// STUDIO runs: they emit no webhooks and do not count against the budget.
func (s *Server) seed() error {
	rng := rand.New(rand.NewPCG(20260209, uint64(len(s.demo))))
	now := s.opts.Clock().UTC()
	samples, err := s.seedSamples(now.Add(-(seedDays + 1) * 24 * time.Hour))
	if err != nil {
		return err
	}
	defer func() {
		for _, sm := range samples {
			s.blobs.remove(sm.output)
		}
	}()
	others, err := s.seedOddFiles(now.Add(-(seedDays + 1) * 24 * time.Hour))
	if err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	wd, err := s.workspaceLocked(s.opts.SeedWorkspace)
	if err != nil {
		return err
	}
	for _, sm := range samples {
		for _, f := range sm.inputs {
			wd.Files[f.ID] = &fileRecord{File: f, Size: int64(len(sm.form.PDF))}
		}
	}
	for _, f := range others {
		wd.Files[f.ID] = &fileRecord{File: f, Size: 64}
	}
	reasons := slices.Clone(extendapi.FailureReasons)
	var delayed []string
	for i := range seedRunCount {
		var rec *editRunRecord
		switch {
		case i < len(reasons): // every reason at least once
			rec = s.seedFailedRun(rng, samples, others, seedTime(rng, now), reasons[i])
		case i < len(reasons)+seedProcessingCount:
			sm := samples[rng.IntN(len(samples))]
			created := now.Add(-time.Duration(30+rng.IntN(480)) * time.Second)
			rec = seedRecord(sm.inputs[rng.IntN(len(sm.inputs))], sm.config, created, created)
			rec.delayed = true
			delayed = append(delayed, rec.Run.ID)
		case rng.Float64() < seedProcessedShare:
			rec, err = s.seedProcessedRunLocked(wd, rng, samples, seedTime(rng, now))
			if err != nil {
				return err
			}
		default:
			rec = s.seedFailedRun(rng, samples, others, seedTime(rng, now), pickWeighted(rng, seedFailureWeights))
		}
		wd.EditRuns[rec.Run.ID] = rec
	}
	s.state.Seeded = true
	s.markDirtyLocked()
	s.wg.Go(func() { s.releaseSeededRuns(rng, delayed) })
	s.logger.Info("sandbox: seeded demo history", "workspace", wd.ID, "runs", seedRunCount, "forms", len(samples))
	return nil
}

// seedSamples stores the demo forms under a few names each and fills each
// form once with the engine.
func (s *Server) seedSamples(filesAt time.Time) ([]seedSample, error) {
	var samples []seedSample
	for i, form := range s.demo {
		base := strings.TrimSuffix(form.Name, ".pdf")
		config, err := effectiveEditConfig(extendapi.EditConfig{Instructions: form.Instructions})
		if err != nil {
			return nil, fmt.Errorf("sandbox: seed %s: %w", form.Name, err)
		}
		sm := seedSample{form: form, config: config}
		for j := range 3 {
			company := seedCompanies[(i*3+j)%len(seedCompanies)]
			at := filesAt.Add(time.Duration(i*3+j) * time.Minute)
			f := extendapi.File{Object: "file", ID: newID("file_"), Name: base + "-" + company + ".pdf", Type: FileTypePDF,
				Metadata: &extendapi.FileMetadata{}, CreatedAt: &at, UpdatedAt: &at}
			if err := s.blobs.writeBytes(f.ID, form.PDF); err != nil {
				return nil, err
			}
			sm.inputs = append(sm.inputs, f)
		}
		sm.output = newID("seed_")
		sm.result, err = s.engine.Edit(s.ctx, EditJob{InputPath: s.blobs.path(sm.inputs[0].ID), Config: config, OutputPath: s.blobs.path(sm.output)})
		if err != nil {
			return nil, fmt.Errorf("sandbox: seed: fill demo form %s: %w", form.Name, err)
		}
		samples = append(samples, sm)
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("sandbox: seed: no demo forms")
	}
	return samples, nil
}

// seedOddFiles are the inputs of the type failures: an image and a Word file.
func (s *Server) seedOddFiles(at time.Time) ([]extendapi.File, error) {
	odd := []struct {
		name  string
		typ   extendapi.FileType
		bytes []byte
	}{
		{"scanned-claim-form.png", "IMG", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")},
		{"w9-request.docx", "DOCX", []byte("PK\x03\x04 not really a Word document, a seeded stand-in")},
	}
	var files []extendapi.File
	for _, o := range odd {
		f := extendapi.File{Object: "file", ID: newID("file_"), Name: o.name, Type: o.typ, Metadata: &extendapi.FileMetadata{}, CreatedAt: &at, UpdatedAt: &at}
		if err := s.blobs.writeBytes(f.ID, o.bytes); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// seedProcessedRunLocked is a PROCESSED run with its own copy (a hard link)
// of the real output and metrics scaled to a realistic duration.
func (s *Server) seedProcessedRunLocked(wd *workspaceData, rng *rand.Rand, samples []seedSample, created time.Time) (*editRunRecord, error) {
	sm := samples[rng.IntN(len(samples))]
	in := sm.inputs[rng.IntN(len(sm.inputs))]
	// Extend's edits take seconds to a minute: log-normal around 9 s.
	ms := math.Min(math.Max(math.Exp(math.Log(9000)+0.55*rng.NormFloat64()), 1800), 120000)
	updated := created.Add(time.Duration(ms * float64(time.Millisecond)))
	rec := seedRecord(in, sm.config, created, updated)
	pages := sm.result.PageCount
	out := extendapi.File{Object: "file", ID: newID("file_"), Name: editedFileName(in.Name), Type: FileTypePDF,
		Metadata: &extendapi.FileMetadata{PageCount: &pages}, CreatedAt: &updated, UpdatedAt: &updated}
	if err := s.blobs.clone(sm.output, out.ID); err != nil {
		return nil, err
	}
	wd.Files[out.ID] = &fileRecord{File: out, Size: int64(len(sm.form.PDF))}
	metrics := sm.result.Metrics
	share := func(f float64) *float64 { v := math.Round(ms*f*(0.85+0.3*rng.Float64())*1000) / 1000; return &v }
	metrics.ProcessingTimeMs = &ms
	metrics.FieldDetectionTimeMs, metrics.FieldAnnotationTimeMs, metrics.FieldFillingTimeMs = share(0.30), share(0.15), share(0.45)
	metrics.PageCount = &pages
	credits := CreditsForPages(pages)
	rec.Run.Status = extendapi.StatusProcessed
	rec.Run.Output = &extendapi.EditRunOutput{EditedFile: extendapi.EditedFile{ID: out.ID}, FilledValues: sm.result.FilledValues}
	rec.Run.Metrics = &metrics
	rec.Run.Usage = runUsage("edit_run", rec.Run.ID, "edit", pages, credits)
	return rec, nil
}

// seedFailedRun is a FAILED run with an input that fits its reason.
func (s *Server) seedFailedRun(rng *rand.Rand, samples []seedSample, others []extendapi.File, created time.Time, reason extendapi.FailureReason) *editRunRecord {
	ms := 300 + rng.Float64()*5700
	updated := created.Add(time.Duration(ms * float64(time.Millisecond)))
	sm := samples[rng.IntN(len(samples))]
	in := sm.inputs[rng.IntN(len(sm.inputs))]
	var rec *editRunRecord
	switch reason {
	case extendapi.ReasonFileTypeNotSupported:
		rec = seedRecord(others[0], sm.config, created, updated)
	case extendapi.ReasonFailedToConvertToPDF:
		rec = seedRecord(others[1], sm.config, created, updated)
	case extendapi.ReasonUnableToDownloadFile, extendapi.ReasonFileSizeTooLarge:
		// A file.url run: the download never made a file.
		name := fmt.Sprintf("statement-%s.pdf", seedCompanies[rng.IntN(len(seedCompanies))])
		rec = seedRecord(extendapi.File{ID: newID("file_"), Name: name}, sm.config, created, updated)
		rec.Run.File = extendapi.FileSummary{Object: "file", ID: rec.Run.File.ID, Name: name}
		rec.Input = runInput{URL: "https://files.example.com/exports/" + name}
	default:
		rec = seedRecord(in, sm.config, created, updated)
	}
	rec.Run.Status = extendapi.StatusFailed
	rec.Run.FailureReason = reason
	rec.Run.FailureMessage = seedFailureMessages[reason]
	return rec
}

// seedRecord is a STUDIO run on file f.
func seedRecord(f extendapi.File, config extendapi.EditConfig, created, updated time.Time) *editRunRecord {
	cfg := config
	return &editRunRecord{
		Run: extendapi.EditRun{Object: "edit_run", ID: newID("edr_"), File: fileSummary(f), Status: extendapi.StatusProcessing,
			Config: &cfg, Source: SourceStudio, CreatedAt: &created, UpdatedAt: &updated},
		Input: runInput{FileID: f.ID},
	}
}

// seedTime draws a creation time in the last week with a working-day
// rhythm: office hours and weekdays are busier.
func seedTime(rng *rand.Rand, now time.Time) time.Time {
	for {
		t := now.Add(-time.Duration(rng.Int64N(int64(seedDays * 24 * time.Hour))))
		weight := 0.2
		if h := t.Hour(); h >= 8 && h < 19 {
			weight = 1
		}
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			weight *= 0.35
		}
		if rng.Float64() < weight {
			return t.Truncate(time.Millisecond)
		}
	}
}

// pickWeighted draws a reason by weight, in a stable order.
func pickWeighted(rng *rand.Rand, weights map[extendapi.FailureReason]float64) extendapi.FailureReason {
	total := 0.0
	for _, r := range extendapi.FailureReasons {
		total += weights[r]
	}
	x := rng.Float64() * total
	for _, r := range extendapi.FailureReasons {
		if x -= weights[r]; x < 0 {
			return r
		}
	}
	return extendapi.FailureReasons[len(extendapi.FailureReasons)-1]
}

// releaseSeededRuns queues the seeded PROCESSING runs 10 to 60 seconds after
// start, so a fresh dashboard shows runs in flight that then really finish.
func (s *Server) releaseSeededRuns(rng *rand.Rand, ids []string) {
	delays := make([]time.Duration, len(ids))
	for i := range delays {
		delays[i] = time.Duration(10+rng.IntN(50)) * time.Second
	}
	slices.Sort(delays)
	start := time.Now()
	for i, id := range ids {
		t := time.NewTimer(time.Until(start.Add(delays[i])))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.mu.Lock()
		if rec := s.editRunLocked(s.opts.SeedWorkspace, id); rec != nil && rec.delayed && rec.Run.Status == extendapi.StatusProcessing {
			rec.delayed = false
			s.enqueueLocked(jobEdit, s.opts.SeedWorkspace, id, 0)
		}
		s.mu.Unlock()
	}
}
