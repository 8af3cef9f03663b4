package monitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// SeedOptions shape a synthetic history.
type SeedOptions struct {
	Runs int
	Days int
	// End is the newest run's time (default now): runs spread over the
	// Days before it.
	End time.Time
	// RandomSeed makes the history reproducible; 0 picks one at random.
	RandomSeed uint64
	// Batch is how many runs one transaction writes (default 20,000).
	Batch int
	// Progress, when set, hears how many runs are written so far.
	Progress func(written int)
}

// SeedReport says what Seed wrote.
type SeedReport struct {
	Runs       int
	Processed  int
	Failed     int
	Processing int
	From, To   time.Time
}

// Synthetic-history shape: most runs succeed; failures follow the reasons'
// weights of a production mix, with one incident (a few hours where
// INTERNAL_ERROR spikes) so the charts have something to show; a handful
// of runs are still processing at the end, some of them stuck.
const (
	seedFailedShare        = 0.09
	seedIncidentFailShare  = 0.45
	seedRecentProcessing   = 12
	seedStuckProcessing    = 4
	seedIncidentHours      = 3
	seedMedianProcessingMs = 9000
)

var seedReasonWeights = []struct {
	reason extendapi.FailureReason
	weight float64
}{
	{extendapi.ReasonSchemaValidationError, 6}, {extendapi.ReasonUnableToDownloadFile, 5}, {extendapi.ReasonFileTypeNotSupported, 4},
	{extendapi.ReasonPasswordProtectedFile, 3}, {extendapi.ReasonEmptySchema, 3}, {extendapi.ReasonFileSizeTooLarge, 2},
	{extendapi.ReasonCorruptFile, 2}, {extendapi.ReasonInvalidOptions, 2}, {extendapi.ReasonFailedToConvertToPDF, 2},
	{extendapi.ReasonOutOfCredits, 1}, {extendapi.ReasonFieldDetectionError, 1}, {extendapi.ReasonInternalError, 1},
}

var seedReasonMessages = map[extendapi.FailureReason]string{
	extendapi.ReasonUnableToDownloadFile:  "could not download file.url: the server answered 403 Forbidden",
	extendapi.ReasonFileTypeNotSupported:  "edit runs require a PDF; the file is IMG",
	extendapi.ReasonFileSizeTooLarge:      "the file exceeds the maximum allowed size",
	extendapi.ReasonCorruptFile:           "the PDF cannot be read: xref table not found",
	extendapi.ReasonFieldDetectionError:   "field detection failed",
	extendapi.ReasonPasswordProtectedFile: "the PDF is encrypted and no password was given",
	extendapi.ReasonFailedToConvertToPDF:  "could not convert the file to PDF",
	extendapi.ReasonInternalError:         "unexpected internal error",
	extendapi.ReasonInvalidOptions:        "conditionalGenerationEnabled only applies when no schema is given",
	extendapi.ReasonEmptySchema:           "no schema was given and no fields were detected",
	extendapi.ReasonOutOfCredits:          "insufficient credits",
	extendapi.ReasonSchemaValidationError: "generated values failed validation against the edit schema",
}

var (
	seedForms     = []string{"w9", "w4", "i9", "1099-nec", "lease-agreement", "patient-intake", "claim-form", "direct-deposit", "nda", "vendor-onboarding"}
	seedCompanies = []string{"acme-corp", "globex", "initech", "umbrella-health", "stark-industries", "wayne-logistics", "hooli", "soylent", "tyrell", "wonka"}
	// Runs per hour of the day (UTC): office hours are busy.
	seedHourWeights = [24]float64{2, 1.5, 1, 1, 1, 1.5, 3, 6, 9, 10, 10, 9, 8, 9, 10, 10, 9, 7, 5, 4, 3.5, 3, 2.5, 2}
)

const runIDAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Seed writes a synthetic history of opts.Runs runs over opts.Days days
// into a tenant, marked synthetic (such runs never prove access to the
// tenant), in batches with bulk inserts and rollups summed per batch.
func Seed(ctx context.Context, st *store.Store, tenant string, opts SeedOptions) (SeedReport, error) {
	if opts.Runs <= 0 || opts.Days <= 0 {
		return SeedReport{}, errors.New("monitor: seed: runs and days must be positive")
	}
	if opts.End.IsZero() {
		opts.End = time.Now()
	}
	if opts.Batch <= 0 {
		opts.Batch = 20000
	}
	if opts.RandomSeed == 0 {
		opts.RandomSeed = rand.Uint64()
	}
	g := newSeedGenerator(opts)
	// Creation times first, sorted, so runs go in as they would have
	// arrived: rows of one hour sit together on disk, as in real history.
	finished := opts.Runs - min(opts.Runs, seedRecentProcessing+seedStuckProcessing)
	g.times = make([]int64, finished)
	for i := range g.times {
		g.times[i] = g.when().UnixNano()
	}
	slices.Sort(g.times)
	rep := SeedReport{From: g.start, To: opts.End}
	batch := make([]store.RunSnapshot, 0, opts.Batch)
	for written := 0; written < opts.Runs; {
		batch = batch[:0]
		for len(batch) < opts.Batch && written+len(batch) < opts.Runs {
			r := g.next(written + len(batch))
			switch r.Status {
			case store.StatusProcessed:
				rep.Processed++
			case store.StatusFailed:
				rep.Failed++
			default:
				rep.Processing++
			}
			batch = append(batch, r)
		}
		if err := st.InsertSyntheticRuns(ctx, tenant, batch); err != nil {
			return rep, fmt.Errorf("monitor: seed: %w", err)
		}
		written += len(batch)
		rep.Runs = written
		if opts.Progress != nil {
			opts.Progress(written)
		}
	}
	if err := st.Optimize(ctx); err != nil {
		return rep, fmt.Errorf("monitor: seed: %w", err)
	}
	return rep, nil
}

type seedGenerator struct {
	rng           *rand.Rand
	opts          SeedOptions
	start         time.Time
	span          time.Duration
	hourCDF       [24]float64
	incidentStart time.Time
	reasonTotal   float64
	times         []int64 // creation times of the finished runs, ascending (Unix ns)
}

func newSeedGenerator(opts SeedOptions) *seedGenerator {
	g := &seedGenerator{rng: rand.New(rand.NewPCG(opts.RandomSeed, 0x5eed)), opts: opts}
	g.span = time.Duration(opts.Days) * 24 * time.Hour
	g.start = opts.End.Add(-g.span)
	var sum float64
	for i, w := range seedHourWeights {
		sum += w
		g.hourCDF[i] = sum
	}
	for i := range g.hourCDF {
		g.hourCDF[i] /= sum
	}
	// The incident: a few hours, a fifth of the way back.
	g.incidentStart = opts.End.Add(-g.span / 5).Truncate(time.Hour)
	for _, w := range seedReasonWeights {
		g.reasonTotal += w.weight
	}
	return g
}

// next makes run i. The last runs are the ones still processing: a few
// just started, a few stuck for hours.
func (g *seedGenerator) next(i int) store.RunSnapshot {
	rng := g.rng
	r := store.RunSnapshot{RunID: g.runID(), SeenVia: store.ViaSeed}
	r.Source = "API"
	if rng.IntN(5) == 0 {
		r.Source = "STUDIO"
	}
	form := seedForms[rng.IntN(len(seedForms))]
	r.FileName = fmt.Sprintf("%s-%s-%04d.pdf", form, seedCompanies[rng.IntN(len(seedCompanies))], rng.IntN(10000))
	r.FileID = "file_" + g.runID()[4:]
	pages := int64(1 + rng.IntN(12))
	r.PageCount = &pages

	left := g.opts.Runs - i
	switch {
	case left <= seedRecentProcessing+seedStuckProcessing && left > seedStuckProcessing:
		r.Status = store.StatusProcessing
		r.CreatedAt = g.opts.End.Add(-time.Duration(5+rng.IntN(300)) * time.Second)
		return g.seen(r)
	case left <= seedStuckProcessing:
		r.Status = store.StatusProcessing
		r.CreatedAt = g.opts.End.Add(-time.Duration(1+rng.IntN(6))*time.Hour - time.Duration(rng.IntN(3600))*time.Second)
		return g.seen(r)
	}
	r.CreatedAt = time.Unix(0, g.times[i]).UTC()
	failShare := seedFailedShare
	incident := !r.CreatedAt.Before(g.incidentStart) && r.CreatedAt.Before(g.incidentStart.Add(seedIncidentHours*time.Hour))
	if incident {
		failShare = seedIncidentFailShare
	}
	// Processing time: log-normal around 9 s, slower for long documents.
	ms := math.Exp(math.Log(seedMedianProcessingMs)+0.55*rng.NormFloat64()) * (0.8 + 0.05*float64(pages))
	ms = math.Round(min(max(ms, 800), 600000))
	r.UpdatedAt = r.CreatedAt.Add(time.Duration(ms) * time.Millisecond)
	if rng.Float64() < failShare {
		reason := extendapi.ReasonInternalError
		if !incident || rng.IntN(4) == 0 {
			reason = g.reason()
		}
		r.Status, r.FailureReason, r.FailureMessage = store.StatusFailed, string(reason), seedReasonMessages[reason]
		return g.seen(r)
	}
	r.Status = store.StatusProcessed
	fields := int64(8 + rng.IntN(110))
	detected := fields - int64(rng.IntN(int(fields/8)+1))
	filled := fields - int64(rng.IntN(int(fields/4)+1))
	share := func(f float64) *float64 { v := math.Round(ms * f * (0.85 + 0.3*rng.Float64())); return &v }
	credits := float64(pages) * 0.5
	r.FieldCount, r.FieldsDetected, r.FieldsAnnotated, r.FieldsFilled = &fields, &detected, &detected, &filled
	r.ProcessingMs = &ms
	r.DetectionMs, r.AnnotationMs, r.FillingMs = share(0.30), share(0.15), share(0.45)
	r.Credits = &credits
	return g.seen(r)
}

// seen stamps when Editwatch "saw" the run: when it was last updated.
func (g *seedGenerator) seen(r store.RunSnapshot) store.RunSnapshot {
	r.FirstSeenAt = r.CreatedAt
	r.LastSeenAt = orTime(r.UpdatedAt, r.CreatedAt)
	if r.Status != store.StatusProcessing {
		r.FinishedAt = r.UpdatedAt
	}
	return r
}

func orTime(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}

// when picks a creation time: a uniform day, an hour by office-hours
// weight, a uniform moment in it; never after End.
func (g *seedGenerator) when() time.Time {
	for {
		day := g.start.Truncate(24 * time.Hour).Add(time.Duration(g.rng.IntN(g.opts.Days+1)) * 24 * time.Hour)
		u := g.rng.Float64()
		hour := 0
		for hour < 23 && u > g.hourCDF[hour] {
			hour++
		}
		t := day.Add(time.Duration(hour)*time.Hour + time.Duration(g.rng.Int64N(int64(time.Hour))))
		if !t.Before(g.start) && t.Before(g.opts.End) {
			return t
		}
	}
}

func (g *seedGenerator) reason() extendapi.FailureReason {
	u := g.rng.Float64() * g.reasonTotal
	for _, w := range seedReasonWeights {
		if u < w.weight {
			return w.reason
		}
		u -= w.weight
	}
	return extendapi.ReasonInternalError
}

// runID is shaped like Extend's: edr_ and 22 base-62 characters.
func (g *seedGenerator) runID() string {
	var b [26]byte
	copy(b[:], "edr_")
	for i := 4; i < len(b); i++ {
		b[i] = runIDAlphabet[g.rng.IntN(len(runIDAlphabet))]
	}
	return string(b[:])
}
