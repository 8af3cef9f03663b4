package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

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
	fields := d.Find("script#" + views.DocViewFieldsID).Text()
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
