package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// TestCreateEditRunBadRequests: problems with the request itself are HTTP
// errors at creation (§2.2), never FAILED runs.
func TestCreateEditRunBadRequests(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	file := uploadFile(t, c, "f.pdf", demoForm(t, "").PDF, "")
	tests := []struct {
		name, body string
		wantStatus int
	}{
		{"malformed JSON", `{"file": {"id": "` + file.ID + `"`, 400},
		{"not an object", `[1,2]`, 400},
		{"empty body", ``, 400},
		{"trailing data", `{"file":{"id":"` + file.ID + `"}} {}`, 400},
		{"config of the wrong type", `{"file":{"id":"` + file.ID + `"},"config":"fill it"}`, 400},
		{"schema not an object", `{"file":{"id":"` + file.ID + `"},"config":{"schema":[1]}}`, 400},
		{"schema properties not objects", `{"file":{"id":"` + file.ID + `"},"config":{"schema":{"type":"object","properties":{"a":1}}}}`, 400},
		{"schema of another type", `{"file":{"id":"` + file.ID + `"},"config":{"schema":{"type":"array"}}}`, 400},
		{"option of the wrong type", `{"file":{"id":"` + file.ID + `"},"config":{"advancedOptions":{"flattenPdf":"yes"}}}`, 400},
		{"neither file nor template", `{"config":{}}`, 400},
		{"both file and template", `{"file":{"id":"` + file.ID + `"},"templateId":"edt_demo_x"}`, 400},
		{"file with url and id", `{"file":{"id":"` + file.ID + `","url":"https://example.com/a.pdf"}}`, 400},
		{"file with neither", `{"file":{"name":"a.pdf"}}`, 400},
		{"url not http", `{"file":{"url":"file:///etc/passwd"}}`, 400},
		{"unknown file", `{"file":{"id":"file_doesnotexist"}}`, 404},
		{"unknown template", `{"templateId":"edt_nope"}`, 404},
	}
	for _, path := range []string{"/edit_runs", "/edit"} {
		for _, tt := range tests {
			t.Run(path+" "+tt.name, func(t *testing.T) {
				headers := authHeaders(testKeyA)
				headers["Content-Type"] = "application/json"
				resp, body := ts.raw(http.MethodPost, path, headers, []byte(tt.body))
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
				}
				var e extendapi.ErrorBody
				if err := json.Unmarshal(body, &e); err != nil || e.Code == "" || e.RequestID == "" {
					t.Fatalf("error body %s (%v)", body, err)
				}
			})
		}
	}
	page, err := c.ListEditRuns(context.Background(), extendapi.ListEditRunsParams{})
	if err != nil || len(page.Data) != 0 {
		t.Fatalf("bad requests created %d runs (%v)", len(page.Data), err)
	}
}

// TestSyncEdit: POST /edit answers the finished run; a document failure is
// a 422 whose code is the failure reason (§2.1), and the run is kept.
func TestSyncEdit(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	form := demoForm(t, "")
	file := uploadFile(t, c, form.Name, form.PDF, "")
	run, err := c.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}, Config: &extendapi.EditConfig{Instructions: form.Instructions}})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if run.Status != extendapi.StatusProcessed || run.Output == nil || run.Output.EditedFile.PresignedURL == "" {
		t.Fatalf("sync run = %+v", run)
	}

	text := uploadFile(t, c, "memo.txt", []byte("Dear team,\nthis is not a form.\n"), "")
	_, err = c.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: text.ID}})
	ae := asAPIError(t, err)
	if ae.StatusCode != http.StatusUnprocessableEntity || ae.Code != string(extendapi.ReasonFileTypeNotSupported) || ae.Message == "" {
		t.Fatalf("sync failure: %d %s %q, want 422 FILE_TYPE_NOT_SUPPORTED", ae.StatusCode, ae.Code, ae.Message)
	}
	failed, err := c.ListEditRuns(ctx, extendapi.ListEditRunsParams{Status: extendapi.StatusFailed})
	if err != nil || len(failed.Data) != 1 || failed.Data[0].FailureReason != extendapi.ReasonFileTypeNotSupported {
		t.Fatalf("the failed sync run is not listed: %+v, %v", failed, err)
	}
}

// TestSyncEditTimeout: past the cap the caller gets a 504 naming the run,
// which goes on.
func TestSyncEditTimeout(t *testing.T) {
	ts := startSandbox(t, Options{Faults: Faults{RateStuck: 1}, syncTimeout: 50 * time.Millisecond})
	c := ts.api(testKeyA, "")
	file := uploadFile(t, c, "f.pdf", demoForm(t, "").PDF, "")
	_, err := c.Edit(context.Background(), &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}})
	ae := asAPIError(t, err)
	if ae.StatusCode != http.StatusGatewayTimeout || !strings.Contains(ae.Message, "edr_") {
		t.Fatalf("stuck sync run: %d %s %q, want 504 naming the run", ae.StatusCode, ae.Code, ae.Message)
	}
}

// TestTemplates: built-in templates on the demo forms in every workspace,
// runs from a templateId with request config overriding the template's,
// and directory templates private to their workspace.
func TestTemplates(t *testing.T) {
	dir := t.TempDir()
	form := demoForm(t, "")
	if err := os.WriteFile(filepath.Join(dir, "my-form.pdf"), form.PDF, 0o600); err != nil {
		t.Fatal(err)
	}
	tpl := `{"id":"edt_alpha_only","workspace":"` + testWSA + `","name":"Alpha form","pdf":"my-form.pdf",
		"config":{"instructions":` + mustJSON(t, form.Instructions) + `,"advancedOptions":{"flattenPdf":true}}}`
	if err := os.WriteFile(filepath.Join(dir, "alpha.json"), []byte(tpl), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startSandbox(t, Options{TemplatesDir: dir})
	a, b := ts.api(testKeyA, ""), ts.api(testKeyB, "")
	ctx := context.Background()

	ids := ts.srv.TemplateIDs(testWSA)
	forms, _ := DemoForms()
	if len(ids) != len(forms)+1 {
		t.Fatalf("templates of A = %v, want one per demo form plus the directory's", ids)
	}
	got, err := a.GetEditTemplate(ctx, "edt_alpha_only")
	if err != nil {
		t.Fatalf("GetEditTemplate: %v", err)
	}
	if got.Name != "Alpha form" || got.File.Name != "my-form.pdf" || got.Config.Instructions != form.Instructions || got.CreatedAt == nil {
		t.Fatalf("template = %+v", got)
	}
	if _, err := b.GetEditTemplate(ctx, "edt_alpha_only"); !errors.Is(err, extendapi.ErrNotFound) {
		t.Fatalf("B reads A's template: %v, want 404", err)
	}
	builtin := "edt_demo_" + slug(strings.TrimSuffix(form.Name, ".pdf"))
	if _, err := b.GetEditTemplate(ctx, builtin); err != nil {
		t.Fatalf("built-in %s in B: %v", builtin, err)
	}

	noFlatten := false
	run, err := a.Edit(ctx, &extendapi.CreateEditRunRequest{TemplateID: "edt_alpha_only",
		Config: &extendapi.EditConfig{AdvancedOptions: &extendapi.EditAdvancedOptions{FlattenPDF: &noFlatten}}})
	if err != nil {
		t.Fatalf("Edit from template: %v", err)
	}
	if run.File.ID != got.File.ID || *run.Config.AdvancedOptions.FlattenPDF || run.Config.Instructions != form.Instructions {
		t.Fatalf("template run: file %s (want %s), config %+v: want the template's file and instructions, the request's flattenPdf",
			run.File.ID, got.File.ID, run.Config)
	}
	if len(run.Output.FilledValues) == 0 {
		t.Fatalf("the template's instructions filled nothing")
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTemplatesDirErrors: a broken template file stops New with its name.
func TestTemplatesDirErrors(t *testing.T) {
	for name, content := range map[string]string{
		"unknown field": `{"name":"x","demoForm":"a.pdf","colour":"red"}`,
		"no name":       `{"demoForm":"a.pdf"}`,
		"no pdf":        `{"name":"x"}`,
		"missing pdf":   `{"name":"x","pdf":"nope.pdf"}`,
		"bad id":        `{"id":"tpl_1","name":"x","demoForm":"a.pdf"}`,
		"bad schema":    `{"name":"x","demoForm":"a.pdf","config":{"schema":"nope"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			srv, err := New(Options{TemplatesDir: dir})
			if err == nil {
				srv.Close()
				t.Fatal("New accepted a broken template")
			}
			if !strings.Contains(err.Error(), "broken.json") {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
}
