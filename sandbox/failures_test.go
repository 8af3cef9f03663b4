package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// formServer serves documents for file.url runs: a form, files over the
// limit (with and without Content-Length) and a 404.
func formServer(t testing.TB, pdf []byte, limit int64) *httptest.Server {
	t.Helper()
	big := bytes.Repeat([]byte("%"), int(limit)+1)
	mux := http.NewServeMux()
	mux.HandleFunc("/forms/vendor.pdf", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(pdf) })
	mux.HandleFunc("/big.pdf", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		_, _ = w.Write(big)
	})
	mux.HandleFunc("/big-chunked.pdf", func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i < len(big); i += 512 {
			_, _ = w.Write(big[i:min(i+512, len(big))])
			w.(http.Flusher).Flush()
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestEveryFailureReasonFromRealInput reaches each documented failure
// reason through the API with a real document, config or budget, both as a
// FAILED async run and as the 422 of POST /edit.
func TestEveryFailureReasonFromRealInput(t *testing.T) {
	vendor := demoForm(t, "vendor-onboarding.pdf")
	const limit = 200_000
	docs := formServer(t, vendor.PDF, limit)
	ts := startSandbox(t, Options{AllowPrivateURLs: true, MaxUpload: limit})
	c := ts.api(testKeyA, "")
	id := func(name string, data []byte) func(t *testing.T) *extendapi.FileRef {
		return func(t *testing.T) *extendapi.FileRef {
			return &extendapi.FileRef{ID: uploadFile(t, c, name, data, "").ID}
		}
	}
	byURL := func(path string) func(t *testing.T) *extendapi.FileRef {
		return func(*testing.T) *extendapi.FileRef { return &extendapi.FileRef{URL: docs.URL + path} }
	}
	var encrypted bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(vendor.PDF), &encrypted, model.NewAESConfiguration("open-sesame", "open-sesame", 256)); err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	schema := func(s string, conditional bool) *extendapi.EditConfig {
		return &extendapi.EditConfig{Schema: json.RawMessage(s), AdvancedOptions: &extendapi.EditAdvancedOptions{ConditionalGenerationEnabled: &conditional}}
	}

	tests := []struct {
		reason extendapi.FailureReason
		file   func(t *testing.T) *extendapi.FileRef
		config *extendapi.EditConfig
	}{
		{extendapi.ReasonFileTypeNotSupported, id("form.pdf", []byte("Name: Ada Lovelace\nThis is a text file named .pdf\n")), nil},
		{extendapi.ReasonPasswordProtectedFile, id("locked.pdf", encrypted.Bytes()), nil},
		{extendapi.ReasonCorruptFile, id("half.pdf", vendor.PDF[:len(vendor.PDF)/2]), nil},
		{extendapi.ReasonEmptySchema, id("letter.pdf", letterPDF(t)), nil},
		{extendapi.ReasonFileSizeTooLarge, byURL("/big.pdf"), nil},
		{extendapi.ReasonUnableToDownloadFile, byURL("/gone.pdf"), nil},
		{extendapi.ReasonFailedToConvertToPDF, func(t *testing.T) *extendapi.FileRef {
			f, err := c.UploadFile(context.Background(), extendapi.UploadFileParams{Name: "scan.png", ConvertToPDF: true,
				Body: bytes.NewReader([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"))})
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			return &extendapi.FileRef{ID: f.ID}
		}, nil},
		{extendapi.ReasonSchemaValidationError, id("vendor.pdf", vendor.PDF), &extendapi.EditConfig{Instructions: "Payment terms: Net 90"}},
		{extendapi.ReasonInvalidOptions, id("vendor.pdf", vendor.PDF), schema(`{"type":"object","properties":{"taxId":{"type":["string","null"]}}}`, true)},
	}
	// OUT_OF_CREDITS: TestCredits. No document reaches FIELD_DETECTION_ERROR
	// or INTERNAL_ERROR any more (an odd field is "unknown", a quirk pdfcpu
	// cannot handle is written by the sandbox itself): they come from fault
	// injection, below.
	covered := []extendapi.FailureReason{extendapi.ReasonOutOfCredits}
	for _, reason := range []extendapi.FailureReason{extendapi.ReasonFieldDetectionError, extendapi.ReasonInternalError} {
		covered = append(covered, reason)
		t.Run(string(reason)+" injected", func(t *testing.T) {
			faulty := startSandbox(t, Options{Faults: Faults{RateFail: 1, FailReason: reason}})
			fc := faulty.api(testKeyA, "")
			file := uploadFile(t, fc, "vendor.pdf", vendor.PDF, "")
			created, err := fc.CreateEditRun(context.Background(), &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			run := waitRun(t, fc, created.ID)
			if run.Status != extendapi.StatusFailed || run.FailureReason != reason || run.FailureMessage == "" {
				t.Fatalf("run %s: %s %s %q, want FAILED %s with a message", run.ID, run.Status, run.FailureReason, run.FailureMessage, reason)
			}
		})
	}
	for _, tt := range tests {
		covered = append(covered, tt.reason)
		t.Run(string(tt.reason), func(t *testing.T) {
			ctx := context.Background()
			req := &extendapi.CreateEditRunRequest{File: tt.file(t), Config: tt.config}
			created, err := c.CreateEditRun(ctx, req)
			if err != nil {
				t.Fatalf("creation must succeed, the failure comes later: %v", err)
			}
			run := waitRun(t, c, created.ID)
			if run.Status != extendapi.StatusFailed || run.FailureReason != tt.reason || run.FailureMessage == "" {
				t.Fatalf("run %s: %s %s %q, want FAILED %s with a message", run.ID, run.Status, run.FailureReason, run.FailureMessage, tt.reason)
			}
			if run.Output != nil || run.Usage != nil {
				t.Errorf("a failed run has output %+v / usage %+v", run.Output, run.Usage)
			}
			_, err = c.Edit(ctx, req)
			ae := asAPIError(t, err)
			if ae.StatusCode != http.StatusUnprocessableEntity || ae.Code != string(tt.reason) {
				t.Fatalf("POST /edit: %d %s, want 422 %s", ae.StatusCode, ae.Code, tt.reason)
			}
		})
	}
	for _, r := range extendapi.FailureReasons {
		if !slices.Contains(covered, r) {
			t.Errorf("failure reason %s is not reached by any test", r)
		}
	}
	// The server is still up after all that.
	if _, err := c.ListEditRuns(context.Background(), extendapi.ListEditRunsParams{}); err != nil {
		t.Fatalf("after the failures: %v", err)
	}
}

// letterPDF is a real one-page PDF without a single form field.
func letterPDF(t testing.TB) []byte {
	t.Helper()
	var out bytes.Buffer
	desc := `{"paper":"A4P","origin":"LowerLeft","pages":{"1":{"content":{"text":[{"value":"Dear customer, no form here.","pos":[50,700],"font":{"name":"Helvetica","size":12}}]}}}}`
	if err := api.Create(nil, bytes.NewReader([]byte(desc)), &out, model.NewDefaultConfiguration()); err != nil {
		t.Fatalf("create letter: %v", err)
	}
	return out.Bytes()
}

// TestFileURLInputs: a URL download becomes the run's file; the limit holds
// without Content-Length; private addresses are refused unless allowed.
func TestFileURLInputs(t *testing.T) {
	vendor := demoForm(t, "vendor-onboarding.pdf")
	const limit = 100_000
	docs := formServer(t, vendor.PDF, limit)
	ctx := context.Background()

	t.Run("allowed", func(t *testing.T) {
		ts := startSandbox(t, Options{AllowPrivateURLs: true, MaxUpload: limit})
		c := ts.api(testKeyA, "")
		run, err := c.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{URL: docs.URL + "/forms/vendor.pdf"},
			Config: &extendapi.EditConfig{Instructions: vendor.Instructions}})
		if err != nil {
			t.Fatalf("Edit from URL: %v", err)
		}
		if run.File.Name != "vendor.pdf" || run.File.Type != FileTypePDF || len(run.Output.FilledValues) == 0 {
			t.Fatalf("URL run file %+v, %d values", run.File, len(run.Output.FilledValues))
		}
		if f, err := c.GetFile(ctx, run.File.ID); err != nil || f.Name != "vendor.pdf" {
			t.Fatalf("the downloaded input is not a file of the workspace: %+v, %v", f, err)
		}
		chunked, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{URL: docs.URL + "/big-chunked.pdf", Name: "named.pdf"}})
		if err != nil {
			t.Fatal(err)
		}
		if run := waitRun(t, c, chunked.ID); run.FailureReason != extendapi.ReasonFileSizeTooLarge || run.File.Name != "named.pdf" {
			t.Fatalf("chunked download over the limit: %s %s (file %q)", run.Status, run.FailureReason, run.File.Name)
		}
	})
	t.Run("private refused", func(t *testing.T) {
		ts := startSandbox(t, Options{MaxUpload: limit})
		c := ts.api(testKeyA, "")
		for _, u := range []string{docs.URL + "/forms/vendor.pdf", "http://localhost:" + portOf(t, docs.URL) + "/forms/vendor.pdf"} {
			created, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{URL: u}})
			if err != nil {
				t.Fatal(err)
			}
			run := waitRun(t, c, created.ID)
			if run.FailureReason != extendapi.ReasonUnableToDownloadFile || !bytes.Contains([]byte(run.FailureMessage), []byte("allow-private-urls")) {
				t.Fatalf("%s: %s %s %q, want UNABLE_TO_DOWNLOAD_FILE refusing the private address", u, run.Status, run.FailureReason, run.FailureMessage)
			}
		}
	})
}

func portOf(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// TestCredits: usage is charged by CreditsForPages; a run that needs more
// than is left fails OUT_OF_CREDITS; a spent budget refuses creation with
// 402 USAGE_BLOCKED.
func TestCredits(t *testing.T) {
	vendor := demoForm(t, "vendor-onboarding.pdf")
	oneRun := CreditsForPages(1)
	ts := startSandbox(t, Options{Credits: oneRun * 1.5})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	file := uploadFile(t, c, vendor.Name, vendor.PDF, "")
	req := &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}}
	first, err := c.Edit(ctx, req)
	if err != nil {
		t.Fatalf("first run within budget: %v", err)
	}
	if *first.Metrics.PageCount != 1 || first.Usage.Credits != oneRun {
		t.Fatalf("first run: %d pages, %g credits; want 1 page costing %g", *first.Metrics.PageCount, first.Usage.Credits, oneRun)
	}
	created, err := c.CreateEditRun(ctx, req)
	if err != nil {
		t.Fatalf("creation with half a run's credits left must succeed: %v", err)
	}
	run := waitRun(t, c, created.ID)
	if run.FailureReason != extendapi.ReasonOutOfCredits {
		t.Fatalf("second run: %s %s, want OUT_OF_CREDITS", run.Status, run.FailureReason)
	}
	// B's budget is its own.
	if _, err := ts.api(testKeyB, "").Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: uploadFile(t, ts.api(testKeyB, ""), "b.pdf", vendor.PDF, "").ID}}); err != nil {
		t.Fatalf("workspace B spends its own budget: %v", err)
	}

	spent := startSandbox(t, Options{Credits: oneRun})
	sc := spent.api(testKeyA, "")
	sfile := uploadFile(t, sc, vendor.Name, vendor.PDF, "")
	if _, err := sc.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: sfile.ID}}); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"CreateEditRun": func() error {
			_, err := sc.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: sfile.ID}})
			return err
		},
		"DetectForm": func() error {
			_, err := sc.DetectForm(ctx, &extendapi.DetectFormRequest{File: extendapi.FileRef{ID: sfile.ID}})
			return err
		},
	} {
		err := call()
		if !errors.Is(err, extendapi.ErrPaymentRequired) || asAPIError(t, err).Code != "USAGE_BLOCKED" {
			t.Errorf("%s on a spent budget: %v, want 402 USAGE_BLOCKED", name, err)
		}
	}
}
