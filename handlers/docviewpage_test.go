package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// TestRevealAllIsOneAuditEntry: Reveal all shows every filled value of the
// run after one audit entry with the count and the reason.
func TestRevealAllIsOneAuditEntry(t *testing.T) {
	env := seededEnv(t, envOptions{})
	run := findRun(t, env, extendapi.StatusProcessed)
	page := env.get("runs/" + run.ID + "?ws=" + demoWS)
	if testid(page.doc(t), "reveal-all-form").Length() != 1 {
		t.Fatal("no Reveal all form on a processed run with values")
	}
	r := env.post("runs/"+run.ID+"/reveal-all?ws="+demoWS, url.Values{views.ParamRevealReason: {"  customer\ncall  #42 "}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reveal all: %d %s", r.StatusCode, errorText(r))
	}
	entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditReveal, Target: run.ID})
	want := "revealed all " + strconv.Itoa(len(run.Output.FilledValues)) + " filled values: customer call #42"
	if err != nil || len(entries) != 1 || entries[0].Detail != want {
		t.Fatalf("audit after reveal all: %+v %v, want one entry %q", entries, err, want)
	}
	d := env.get(location(t, r)).doc(t)
	if n := testid(d, "filled-values").Find(`[data-testid="masked-value"]`).Length(); n != 0 {
		t.Errorf("%d values still masked in the table after reveal all", n)
	}
	if testid(d, "reveal-all-form").Length() != 0 {
		t.Error("Reveal all is still offered with nothing left to reveal")
	}
}

// TestRunPageDocumentView: a processed run's page carries the document
// view's card with links to both files and its fields as JSON, but no
// value; a failed run with an input only the input.
func TestRunPageDocumentView(t *testing.T) {
	env := seededEnv(t, envOptions{})
	run := findRun(t, env, extendapi.StatusProcessed)
	page := env.get("runs/" + run.ID + "?ws=" + demoWS)
	d := page.doc(t)
	card := testid(d, "docview")
	if card.Length() != 1 {
		t.Fatal("no document view on a processed run")
	}
	if got, want := card.Find(`[data-testid="docview-link-edited"]`).AttrOr("href", ""), views.RunFileURL(testBase, demoWS, run.ID, views.FileEdited); got != want {
		t.Errorf("edited link %q, want %q", got, want)
	}
	if !strings.Contains(card.AttrOr("data-pdfjs", ""), "/static/pdfjs-") {
		t.Errorf("PDF.js folder %q", card.AttrOr("data-pdfjs", ""))
	}
	fields := card.AttrOr("data-fields", "")
	if !strings.HasPrefix(fields, "[") {
		t.Errorf("fields JSON %q", fields)
	}
	for field, v := range secretsOf(run) {
		if strings.Contains(fields, v) {
			t.Errorf("the fields JSON holds the value of %s", field)
		}
	}

	failed := findRun(t, env, extendapi.StatusFailed)
	fd := env.get("runs/" + failed.ID + "?ws=" + demoWS).doc(t)
	switch fc := testid(fd, "docview"); {
	case failed.File.ID == "" && fc.Length() != 0:
		t.Error("a failed run without an input file has a document view")
	case failed.File.ID != "" && (fc.Length() != 1 || fc.Find(`[data-testid="docview-link-edited"]`).Length() != 0 || fc.Find(`[data-testid="docview-link-input"]`).Length() != 1):
		t.Error("a failed run with an input file should view the input only")
	}
}

// TestDetectFieldsShowsTheSchemaAsATable: after Detect fields, every
// detected property is a row of the schema table, with its page.
func TestDetectFieldsShowsTheSchemaAsATable(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	r := env.postMultipart("runs/new/detect?ws="+demoWS, newRunParts(demoForm(t), "", ""), env.csrf(), nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("detect: %d %s", r.StatusCode, errorText(r))
	}
	d := r.doc(t)
	var schema struct {
		Properties map[string]struct {
			Page *int `json:"extend_edit:page_index"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(testid(d, "schema-input").Text()), &schema); err != nil || len(schema.Properties) == 0 {
		t.Fatalf("detected schema: %v", err)
	}
	rows := testid(d, "detected-schema").Find(`[data-testid="schema-field"]`)
	if rows.Length() != len(schema.Properties) {
		t.Errorf("%d rows in the schema table, want %d", rows.Length(), len(schema.Properties))
	}
	for name, p := range schema.Properties {
		row := rows.FilterFunction(func(_ int, s *goquery.Selection) bool { return s.AttrOr("data-field", "") == name })
		if row.Length() != 1 {
			t.Errorf("no row for %s", name)
			continue
		}
		if p.Page != nil && strings.TrimSpace(row.Find("td").Eq(2).Text()) != strconv.Itoa(*p.Page+1) {
			t.Errorf("%s: page %q, want %d", name, row.Find("td").Eq(2).Text(), *p.Page+1)
		}
	}
}

// TestDetectPreviewStreamsTheUploadedFile: after Detect fields on an
// uploaded PDF, the new-run page previews it through GET /files/:fileId,
// which streams it (ranges included) and audits the view once.
func TestDetectPreviewStreamsTheUploadedFile(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	r := env.postMultipart("runs/new/detect?ws="+demoWS, newRunParts(demoForm(t), "", ""), env.csrf(), nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("detect: %d %s", r.StatusCode, errorText(r))
	}
	d := r.doc(t)
	fileID := d.Find(`input[name="file_id"]`).AttrOr("value", "")
	link := testid(d, "docview").Find(`[data-testid="docview-link-input"]`).AttrOr("href", "")
	if want := views.FileURL(testBase, demoWS, fileID); link != want {
		t.Fatalf("preview link %q, want %q", link, want)
	}
	link = strings.TrimPrefix(link, testBase)
	got := env.get(link)
	if got.StatusCode != http.StatusOK || got.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(got.body, "%PDF") {
		t.Fatalf("GET %s: %d %s %.20q", link, got.StatusCode, got.Header.Get("Content-Type"), got.body)
	}
	req, _ := http.NewRequest(http.MethodGet, env.url(link), nil)
	req.Header.Set("Range", "bytes=10-19")
	if part := env.do(req); part.StatusCode != http.StatusPartialContent || len(part.body) != 10 {
		t.Errorf("range request: %d, %d bytes", part.StatusCode, len(part.body))
	}
	entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditView, Target: fileID})
	if err != nil || len(entries) != 1 {
		t.Errorf("audit of the preview: %+v %v, want one entry", entries, err)
	}
	if nf := env.get("files/file_doesNotExist?ws=" + demoWS); nf.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown file: %d, want 404", nf.StatusCode)
	}
}
