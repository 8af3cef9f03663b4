// Command formcheck tries the sandbox on a folder of PDF forms, the way a
// new user would: for every *.pdf under DIR (recursively) it detects the
// form, fills up to five fields with values that fit, and reads the
// outputs back with other projects' tools: qpdf finds the values as field
// values with flattenPdf false, and with flattenPdf true (the default) no
// form is left and pdftotext finds the text values on the page.
//
// It runs each form through a sandbox server on a loopback listener with
// the project's Extend client, and through the in-process pipeline, and
// prints one verdict line per form, a summary, and the time per filled form
// (detect plus the default, flattened, edit) for both.
//
//	go run ./sandbox/cmd/formcheck [-mode both|http|pipeline] [-strict] DIR
//
// What a file is decides what counts as a pass: an encrypted file must fail
// with PASSWORD_PROTECTED_FILE, a file without form fields with EMPTY_SCHEMA
// (or CORRUPT_FILE when qpdf had to repair it), a form must fill and read
// back. The exit status is 1 on any INTERNAL_ERROR, 5xx, panic or read-back
// mismatch (and, with -strict, on any other unexpected outcome), 2 on bad
// usage or missing tools.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/internal/pdfreadback"
	"github.com/editwatch/editwatch/sandbox"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("formcheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	mode := flags.String("mode", "both", "how to reach the sandbox: http, pipeline (in process) or both")
	strict := flags.Bool("strict", false, "fail on any unexpected outcome, not only on errors and mismatches")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() != 1 || !slices.Contains([]string{"both", "http", "pipeline"}, *mode) {
		fmt.Fprintln(stderr, "usage: formcheck [-mode both|http|pipeline] [-strict] DIR")
		return 2
	}
	if missing := pdfreadback.Missing(); len(missing) > 0 {
		fmt.Fprintf(stderr, "formcheck reads the outputs back with other tools; missing: %s (apt-get install qpdf poppler-utils)\n", strings.Join(missing, ", "))
		return 2
	}
	dir := flags.Arg(0)
	files, err := findPDFs(dir)
	if err != nil {
		fmt.Fprintln(stderr, "formcheck:", err)
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "formcheck: no *.pdf under %s\n", dir)
		return 2
	}

	var backends []backend
	if *mode != "pipeline" {
		b, err := newHTTPBackend()
		if err != nil {
			fmt.Fprintln(stderr, "formcheck: start the sandbox:", err)
			return 2
		}
		defer b.close()
		backends = append(backends, b)
	}
	if *mode != "http" {
		backends = append(backends, pipelineBackend{engine: sandbox.NewEngine(nil)})
	}

	report := checkAll(context.Background(), dir, files, backends, stdout)
	report.print(stdout, backends)
	if report.count[verdictFail] > 0 || (*strict && report.count[verdictUnexpected] > 0) {
		return 1
	}
	return 0
}

func findPDFs(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(path), ".pdf") {
			files = append(files, path)
		}
		return nil
	})
	slices.Sort(files)
	return files, err
}

// Verdicts, one per form.
const (
	verdictOK         = "ok"         // filled, and read back as asked
	verdictExpected   = "expected"   // failed the way that kind of file must
	verdictUnexpected = "unexpected" // a clean outcome other than the expected one
	verdictFail       = "FAIL"       // INTERNAL_ERROR, 5xx, panic, read-back mismatch
)

// report is the whole run's tally.
type report struct {
	count map[string]int
	times map[string][]time.Duration // per backend
}

func checkAll(ctx context.Context, dir string, files []string, backends []backend, out io.Writer) report {
	r := report{count: map[string]int{}, times: map[string][]time.Duration{}}
	for _, path := range files {
		name, _ := filepath.Rel(dir, path)
		verdict, detail := checkFile(ctx, path, backends, r.times)
		r.count[verdict]++
		fmt.Fprintf(out, "%-10s %s: %s\n", verdict, name, detail)
	}
	return r
}

// checkFile checks one file through every backend and decides its verdict.
func checkFile(ctx context.Context, path string, backends []backend, times map[string][]time.Duration) (string, string) {
	kind, current, err := classify(ctx, path)
	if err != nil {
		return verdictFail, "cannot tell what the file is: " + err.Error()
	}
	tmp, err := os.MkdirTemp("", "formcheck-")
	if err != nil {
		return verdictFail, err.Error()
	}
	defer os.RemoveAll(tmp)

	var results []modeResult
	var timings []string
	for _, b := range backends {
		res := checkForm(ctx, b, path, current, tmp)
		results = append(results, res)
		if res.outcome != "" { // the run ended, whatever the read-back finds
			timings = append(timings, b.name()+" "+millis(res.elapsed))
			if res.outcome == outcomeFilled {
				times[b.name()] = append(times[b.name()], res.elapsed)
			}
		}
	}
	first := results[0]
	var problems []string
	for i, res := range results {
		for _, p := range res.problems {
			problems = append(problems, backends[i].name()+": "+p)
		}
		if res.outcome == string(extendapi.ReasonInternalError) {
			problems = append(problems, backends[i].name()+": INTERNAL_ERROR")
		}
		if res.outcome != first.outcome {
			problems = append(problems, fmt.Sprintf("%s ends %s but %s ends %s", backends[0].name(), first.outcome, backends[i].name(), res.outcome))
		}
	}
	what := fmt.Sprintf("%s -> %s", kind, first.outcome)
	if first.outcome == outcomeFilled {
		what = fmt.Sprintf("%s, fields filled: %d, read back; text values on the flattened page: %d", kind, len(first.picks), first.onPage)
		if len(problems) > 0 {
			what = fmt.Sprintf("%s, fields filled: %d", kind, len(first.picks))
		}
	}
	timing := ""
	if len(timings) > 0 {
		timing = " (" + strings.Join(timings, ", ") + ")"
	}
	switch {
	case len(problems) > 0:
		return verdictFail, what + timing + ": " + strings.Join(problems, "; ")
	case !slices.Contains(expectedOutcomes[kind], first.outcome):
		return verdictUnexpected, fmt.Sprintf("%s, expected %s%s", what, strings.Join(expectedOutcomes[kind], " or "), timing)
	case first.outcome == outcomeFilled:
		return verdictOK, what + timing
	}
	return verdictExpected, what + timing
}

func (r report) print(out io.Writer, backends []backend) {
	total := 0
	for _, n := range r.count {
		total += n
	}
	fmt.Fprintf(out, "\n%d files: %d filled and read back, %d expected failures, %d unexpected outcomes, %d FAIL\n",
		total, r.count[verdictOK], r.count[verdictExpected], r.count[verdictUnexpected], r.count[verdictFail])
	for _, b := range backends {
		t := r.times[b.name()]
		if len(t) == 0 {
			continue
		}
		slices.Sort(t)
		fmt.Fprintf(out, "time per filled form, detect + flattened edit, %-9s p50 %s, max %s (%d forms)\n",
			b.name()+":", millis(percentile(t, 50)), millis(t[len(t)-1]), len(t))
	}
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
