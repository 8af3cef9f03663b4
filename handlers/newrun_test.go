package handlers

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// formPart is one field of a multipart form, in the order a browser sends
// the new-run form (the CSRF token comes last).
type formPart struct {
	name, value string
	file        []byte // set for the file input
	fileName    string
}

// postMultipart sends parts; csrf "" means no token part.
func (env *testEnv) postMultipart(p string, parts []formPart, csrf string, header http.Header) response {
	env.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, part := range parts {
		if part.fileName != "" || part.file != nil {
			fw, err := w.CreateFormFile(part.name, part.fileName)
			if err != nil {
				env.t.Fatal(err)
			}
			fw.Write(part.file)
			continue
		}
		w.WriteField(part.name, part.value)
	}
	if csrf != "" {
		w.WriteField(views.CSRFField, csrf)
	}
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, env.url(p), &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	for k, v := range header {
		req.Header[k] = v
	}
	return env.do(req)
}

func demoForm(t *testing.T) sandbox.DemoForm {
	t.Helper()
	forms, err := sandbox.DemoForms()
	if err != nil {
		t.Fatal(err)
	}
	return forms[0]
}

// newRunParts is the new-run form with an uploaded PDF.
func newRunParts(form sandbox.DemoForm, schema, instructions string) []formPart {
	return []formPart{
		{name: views.FieldInput, value: views.InputUpload},
		{name: views.FieldFile, file: form.PDF, fileName: form.Name},
		{name: views.FieldFileURL}, {name: views.FieldTemplateID},
		{name: views.FieldSchema, value: schema},
		{name: views.FieldInstructions, value: instructions},
		{name: "flattenPdf", value: "true"},
	}
}

// waitFinished polls the run's page until Extend (the sandbox) finishes
// it; the sandbox really fills the PDF, which takes a moment.
func waitFinished(t *testing.T, env *testEnv, id string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		d := env.get("runs/" + id + "?ws=" + demoWS).doc(t)
		if st := testid(d, "run-status-panel").AttrOr("data-status", ""); st != views.StatusProcessing {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("run %s still processing after 60 s", id)
	return ""
}

func TestNewRunUploadStreamsAndCompletes(t *testing.T) {
	for _, tt := range []struct {
		name   string
		header http.Header // Sec-Fetch-Site lets the file stream straight through
	}{
		{"browser says same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}},
		{"token after the file", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, envOptions{})
			env.connect(demoKey, demoWS)
			form := demoForm(t)
			r := env.postMultipart("runs/new?ws="+demoWS, newRunParts(form, "", form.Instructions), env.csrf(), tt.header)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("create: %d %s", r.StatusCode, errorText(r))
			}
			loc, _ := url.Parse(location(t, r))
			id := strings.TrimPrefix(loc.Path, testBase+"runs/")
			if status := waitFinished(t, env, id); status != views.StatusProcessed {
				t.Fatalf("run ended %s", status)
			}
			run, err := env.extend(demoKey, demoWS).GetEditRun(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if run.File.Name != form.Name || run.Config.Instructions != form.Instructions || len(run.Output.FilledValues) == 0 {
				t.Errorf("run %s: file %q, %d values", id, run.File.Name, len(run.Output.FilledValues))
			}
			entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditCreate, Target: id})
			if err != nil || len(entries) != 1 {
				t.Fatalf("create audit: %v %v", entries, err)
			}
		})
	}
}

func TestNewRunRefusesWithoutToken(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	form := demoForm(t)
	files := func() int {
		list, err := env.extend(demoKey, demoWS).ListFiles(context.Background(), extendapi.ListFilesParams{MaxPageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Data)
	}
	before := files()
	for _, csrf := range []string{"", "forged-token"} {
		r := env.postMultipart("runs/new?ws="+demoWS, newRunParts(form, "", "x"), csrf, nil)
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("token %q: status %d, want 403", csrf, r.StatusCode)
		}
	}
	if after := files(); after != before {
		t.Errorf("a refused form uploaded %d files to Extend", after-before)
	}
}

func TestDetectFieldsThenStartWithTheSameFile(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	form := demoForm(t)
	r := env.postMultipart("runs/new/detect?ws="+demoWS, newRunParts(form, "", ""), env.csrf(), nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("detect: %d %s", r.StatusCode, errorText(r))
	}
	d := r.doc(t)
	schema := testid(d, "schema-input").Text()
	if !strings.Contains(schema, `"properties"`) || !strings.Contains(testid(d, "detect-note").Text(), "Detected") {
		t.Fatalf("detected schema %q", schema)
	}
	fileID := d.Find(`input[name="file_id"]`).AttrOr("value", "")
	if !strings.HasPrefix(fileID, "file_") || !strings.Contains(testid(d, "uploaded-file").Text(), form.Name) {
		t.Fatalf("the uploaded file is not kept: %q", fileID)
	}

	// A broken schema points at its line; the uploaded file is kept.
	broken := strings.Replace(schema, ",", "", 1)
	bad := env.postMultipart("runs/new?ws="+demoWS, []formPart{
		{name: views.FieldInput, value: views.InputUpload}, {name: views.FieldFileID, value: fileID},
		{name: views.FieldFileName, value: form.Name}, {name: views.FieldSchema, value: broken},
	}, env.csrf(), nil)
	if bad.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("broken schema: %d", bad.StatusCode)
	}
	bd := bad.doc(t)
	if msg := testid(bd, "schema-error").Text(); !strings.Contains(msg, "Line ") || !strings.Contains(msg, "column") {
		t.Errorf("schema error %q", msg)
	}
	if bd.Find(`input[name="file_id"]`).AttrOr("value", "") != fileID {
		t.Error("the uploaded file was forgotten after a schema error")
	}

	ok := env.postMultipart("runs/new?ws="+demoWS, []formPart{
		{name: views.FieldInput, value: views.InputUpload}, {name: views.FieldFileID, value: fileID},
		{name: views.FieldFileName, value: form.Name}, {name: views.FieldSchema, value: schema},
		{name: views.FieldInstructions, value: form.Instructions}, {name: "flattenPdf", value: "true"},
	}, env.csrf(), nil)
	if ok.StatusCode != http.StatusSeeOther {
		t.Fatalf("start with detected schema: %d %s", ok.StatusCode, errorText(ok))
	}
	id := strings.TrimPrefix(strings.Split(location(t, ok), "?")[0], testBase+"runs/")
	run, err := env.extend(demoKey, demoWS).GetEditRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if run.File.ID != fileID || len(run.Config.Schema) == 0 {
		t.Errorf("run used file %s and schema %d bytes", run.File.ID, len(run.Config.Schema))
	}
}

func TestNewRunValidation(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	tests := []struct {
		name      string
		parts     []formPart
		field     string
		wantError string
	}{
		{"no file", []formPart{{name: views.FieldInput, value: views.InputUpload}}, "file-error", "Choose a PDF"},
		{"not a PDF", []formPart{{name: views.FieldInput, value: views.InputUpload},
			{name: views.FieldFile, file: []byte("hello, not a pdf"), fileName: "notes.txt"}}, "file-error", "notes.txt is not a PDF"},
		{"bad URL", []formPart{{name: views.FieldInput, value: views.InputURL}, {name: views.FieldFileURL, value: "ftp://x"}},
			"file-url-error", "starting with https://"},
		{"bad template", []formPart{{name: views.FieldInput, value: views.InputTemplate}, {name: views.FieldTemplateID, value: "edt x"}},
			"template-error", "template ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.postMultipart("runs/new?ws="+demoWS, tt.parts, env.csrf(), nil)
			if r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d: %s", r.StatusCode, errorText(r))
			}
			if msg := r.doc(t).Find("#" + tt.field).Text(); !strings.Contains(msg, tt.wantError) {
				t.Errorf("%s says %q, want %q", tt.field, msg, tt.wantError)
			}
		})
	}
	// The page shows the limit before anything is uploaded.
	if limit := testid(env.get("runs/new?ws="+demoWS).doc(t), "upload-limit").Text(); !strings.Contains(limit, "50 MB") {
		t.Errorf("upload limit %q", limit)
	}
}
