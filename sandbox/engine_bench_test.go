package sandbox

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
)

// engineSampleFormBenchConfig is the edit the benchmarks run on
// sample_form.pdf: a dozen text fields, checkboxes and the radio group from
// instructions, flattenPdf at its default (flattened). The HTTP benchmark sends
// the same config so the two measure the same pipeline.
func engineSampleFormBenchConfig() extendapi.EditConfig {
	return extendapi.EditConfig{Instructions: `Name_Last: Lovelace
Name_First: Ada
Name_Middle: K
Telephone_Home: 2065550100
Telephone_Work: 2065550199
SSN: 123456789
Address_1: 12 St James's Square
City: London
STATE: WA
ZIP: 98101
Emergency_Contact: Charles Babbage
Emergency_Relationship: Colleague
PHD: yes
MASTERS DEGREE: yes
HIGH SCHOOL DIPLOMA: no
Sex: female
Birthdate: 12/10/1815`}
}

// BenchmarkEngineEditSampleForm runs detect, fill and flatten in process on
// sample_form.pdf: parse once, detect and annotate the fields, apply the
// instructions, flatten, write the output. It reports runs per second; the
// HTTP benchmark (upload, create, poll, download) compares itself with it.
func BenchmarkEngineEditSampleForm(b *testing.B) {
	in := engineFixture(b, "sample_form.pdf")
	out := filepath.Join(b.TempDir(), "edited.pdf")
	engine := NewEngine(nil)
	cfg := engineSampleFormBenchConfig()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := EditInProcess(ctx, engine, in, out, cfg)
		if err != nil {
			b.Fatalf("EditInProcess: %v", err)
		}
		if len(res.FilledValues) != 17 {
			b.Fatalf("filled %d values, want 17", len(res.FilledValues))
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}

// BenchmarkEngineDetectSampleForm is form detection alone on the same file.
func BenchmarkEngineDetectSampleForm(b *testing.B) {
	in := engineFixture(b, "sample_form.pdf")
	engine := NewEngine(nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := engine.Detect(ctx, in, "", nil); err != nil {
			b.Fatalf("Detect: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}
