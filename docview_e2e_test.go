package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/internal/testenv"
	"github.com/editwatch/editwatch/views"
)

// TestDocumentViewInBrowser opens the document view of runs started on
// real forms, in headless Chromium against `editwatch --sandbox`: a run
// from a Detect-fields schema with values (boxes from the schema), a run
// from instructions only (boxes from the input's widgets), and a two-page
// form (page picker, side by side), a FAILED run (the fields its message
// names marked red). It checks the page is drawn, one box
// per field sits on its page, a row and its box are linked, the audit log
// holds the view, and nothing breaks the CSP, neither in the page nor in
// PDF.js's worker (whose console is watched too). Screenshots go to
// EDITWATCH_SCREENSHOTS/docview when set (docs/screenshots is made so).
func TestDocumentViewInBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	sampleForm := testenv.Fixture(t, "sample_form.pdf")
	twoPages := testenv.Fixture(t, "with_xfa_fields.pdf")
	shots := screenshotDir(t, "docview")
	tab := startSandboxAndBrowser(t, chromium)
	workers := watchWorkers(tab)
	api := sandboxClient(t, tab.origin)

	tab.open("connect page", views.ConnectURL("/", ""), `!!document.querySelector('[data-testid=connect-submit]')`)
	tab.do("connect", chromedp.Click(chromedp.CSS(`[data-testid=connect-submit]`)))
	tab.waitFor("runs table", `document.querySelectorAll('[data-testid=run-row]').length > 0`, 20*time.Second)

	// 1. A schema from Detect fields, with values for two text fields.
	schema, valued := detectedSchemaWithValues(t, api, sampleForm)
	fileID := uploadForm(t, api, sampleForm)
	schemaRun := startRun(t, api, fileID, &extendapi.EditConfig{Schema: schema})
	schemaFields := schemaFieldPages(t, schema)

	openDocView(tab, schemaRun)
	for _, kind := range []string{views.FileEdited, views.FileInput} {
		if !tab.evalBool(canvasDrawn(kind)) {
			t.Errorf("schema run: the %s canvas is blank", kind)
		}
	}
	if got := tab.evalString(boxProblems(schemaFields)); got != "" {
		t.Errorf("schema run: boxes do not match the schema: %s", got)
	}
	if !workers.sawWorker() {
		t.Error("no PDF.js worker target was attached: its console was not watched")
	}
	if got := workers.evalInWorker(t, `WebAssembly.compile(new Uint8Array([0,97,115,109,1,0,0,0])).then(() => 'ok', e => String(e))`); got != "ok" {
		t.Errorf("PDF.js's worker may not compile WebAssembly under its CSP: %s", got)
	}
	// The filled field's row and its box are linked both ways.
	tab.do("show a filled field on the page", chromedp.Click(chromedp.CSS(`[data-testid=filled-value][data-field="`+valued+`"] [data-testid=docview-locate]`)))
	tab.waitFor("its box highlighted", `[...document.querySelectorAll('g.docbox.is-active')].some(g => g.dataset.field === `+jsString(valued)+` && g.dataset.outcome === 'filled')`, 10*time.Second)
	if got := tab.evalString(`document.querySelector('[data-testid=docview-field]').textContent`); !strings.Contains(got, valued) || !strings.Contains(got, "filled") {
		t.Errorf("the field panel says %q, want the field's name and that it was filled", got)
	}
	if got := tab.evalString(activeBoxOutOfView(views.FileEdited)); got != "" {
		t.Errorf("Show on page left the field's box out of view: %s", got)
	}
	tab.do("select the box on the page", chromedp.Evaluate[chromedp.Void](`(() => {
		document.querySelector('[data-testid=filled-value].is-selected').classList.remove('is-selected');
		const g = [...document.querySelectorAll('[data-kind=edited] g.docbox')].find(g => g.dataset.field === `+jsString(valued)+`);
		g.dispatchEvent(new MouseEvent('click', {bubbles: true}));
	})()`))
	tab.waitFor("its row highlighted", `document.querySelector('[data-testid=filled-value].is-selected')?.dataset.field === `+jsString(valued), 10*time.Second)
	tab.setViewport(wideViewport)
	saveDocViewShots(tab, shots, "schema")

	// 2. Instructions only: no positions in the schema, the boxes come
	// from the input's widgets.
	instructionsRun := startRun(t, api, fileID, &extendapi.EditConfig{Instructions: "Fill in the applicant's name: Grace Hopper."})
	openDocView(tab, instructionsRun)
	if !tab.evalBool(canvasDrawn(views.FileEdited)) {
		t.Error("instructions run: the edited canvas is blank")
	}
	// The input's widgets: every field the schema run knew has its box.
	if got := tab.evalString(`(() => {
		const boxes = new Set([...document.querySelectorAll('[data-kind=edited] g.docbox')].map(g => g.dataset.field));
		return ` + jsStrings(mapKeys(schemaFields)) + `.filter(n => !boxes.has(n)).join(', ');
	})()`); got != "" {
		t.Errorf("instructions run: no box from the input's widgets for %s", got)
	}

	// 3. A two-page form: the page picker turns pages, both panes follow.
	twoPageRun := startRun(t, api, uploadForm(t, api, twoPages), &extendapi.EditConfig{Instructions: "Fill in the name."})
	openDocView(tab, twoPageRun)
	if got := tab.evalString(`String(document.querySelector('[data-testid=docview-page]').options.length)`); got != "2" {
		t.Errorf("the page picker offers %s pages, want 2", got)
	}
	if got := tab.evalString(`[...document.querySelectorAll('[data-testid=docview-pane]')].filter(p => !p.classList.contains('hidden')).map(p => p.dataset.kind).join(',')`); got != "input,edited" {
		t.Errorf("at a wide window the panes shown are %q, want input and edited side by side", got)
	}
	tab.do("next page with the keyboard", chromedp.Focus(chromedp.CSS(`[data-kind=edited] .docview-scroller`)))
	tab.press(kb.PageDown)
	tab.waitFor("page 2 in both panes", `[...document.querySelectorAll('[data-testid=docview-pane]')].every(p => p.dataset.renderedPage === '1')`, 20*time.Second)
	if !tab.evalBool(canvasDrawn(views.FileInput)) {
		t.Error("two-page run: page 2 of the input is blank")
	}
	if got := tab.evalString(`String(document.querySelectorAll('[data-kind=edited] g.docbox[data-page="1"]').length > 0)`); got != "true" {
		t.Error("two-page run: no boxes on page 2")
	}
	saveDocViewShots(tab, shots, "two-pages")

	// 4. A FAILED run: its input is shown, with the field its failure
	// message names marked as failed (red), and only the fields it names.
	failed := runToEnd(t, api, fileID, &extendapi.EditConfig{Schema: breakProperty(t, schema, valued)})
	if failed.Status != extendapi.StatusFailed || !strings.Contains(failed.FailureMessage, valued) {
		t.Fatalf("run with %q broken: %s %s %q, want FAILED naming it", valued, failed.Status, failed.FailureReason, failed.FailureMessage)
	}
	openDocView(tab, failed.ID)
	// The pointer, left where an earlier click put it, would point at
	// another box.
	tab.do("move the pointer off the page", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1))
	if !tab.evalBool(canvasDrawn(views.FileInput)) {
		t.Error("failed run: the input canvas is blank")
	}
	var named []string
	for name := range schemaFields {
		if strings.Contains(failed.FailureMessage, name) {
			named = append(named, name)
		}
	}
	slices.Sort(named)
	if got := tab.evalString(`[...document.querySelectorAll('[data-kind=input] g.docbox[data-outcome=failed]')].map(g => g.dataset.field).sort().join(',')`); got != strings.Join(named, ",") {
		t.Errorf("failed run: boxes marked failed %q, want the fields its message names %q", got, strings.Join(named, ","))
	}
	// It opens on the named field: its box selected and in view, its
	// details in the panel.
	tab.waitFor("the named field selected", `[...document.querySelectorAll('[data-kind=input] g.docbox.is-active')].some(g => g.dataset.field === `+jsString(valued)+` && g.dataset.outcome === 'failed')`, 10*time.Second)
	if got := tab.evalString(`document.querySelector('[data-testid=docview-field]').textContent`); !strings.Contains(got, valued) {
		t.Errorf("failed run: the field panel says %q, want the field its message names", got)
	}
	if got := tab.evalString(activeBoxOutOfView(views.FileInput)); got != "" {
		t.Errorf("failed run: the named field's box is not scrolled into view: %s", got)
	}
	// Red, unlike the others, selected or not: the mark is the box's
	// colour, not only an attribute.
	if got := tab.evalString(`(() => {
		const stroke = sel => { const r = document.querySelector(sel + ' rect'); return r ? getComputedStyle(r).stroke : 'none'; };
		const failed = stroke('[data-kind=input] g.docbox[data-outcome=failed]');
		const other = stroke('[data-kind=input] g.docbox:not([data-outcome=failed])');
		const [r, g, b] = (failed.match(/\d+/g) || []).map(Number);
		return failed === other ? 'failed boxes look like the others: ' + failed : r > 150 && r > g * 2 && r > b * 2 ? '' : 'failed boxes are not red: ' + failed;
	})()`); got != "" {
		t.Errorf("failed run: %s", got)
	}
	if got := tab.evalString(`document.querySelector('[data-docview]').innerText`); !strings.Contains(got, "failure message") {
		t.Errorf("failed run: the legend does not explain the red boxes:\n%s", got)
	}
	saveDocViewShots(tab, shots, "failed")

	// 5. Detect fields on the new-run page: the uploaded input is shown
	// with one box per detected field before any run starts.
	tab.open("new run form", views.NewRunURL("/", sandboxWorkspace), `!!document.querySelector('[data-testid=file-input]')`)
	tab.do("choose the form", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=file-input]`), []string{sampleForm}))
	tab.do("detect fields", chromedp.Click(chromedp.CSS(`[data-testid=detect-fields]`)))
	tab.waitFor("the detected fields", `!!document.querySelector('[data-testid=docview-open]:not(.hidden)') && document.querySelectorAll('[data-testid=detected-schema] [data-testid=schema-field]').length > 0`, 60*time.Second)
	tab.do("open the preview", chromedp.Click(chromedp.CSS(`[data-testid=docview-open]`)))
	tab.waitFor("preview ready", `['ready', 'error'].includes(document.querySelector('[data-docview]').dataset.state)`, 60*time.Second)
	if state := tab.evalString(`document.querySelector('[data-docview]').dataset.state + ' ' + document.querySelector('[data-docview]').innerText`); !strings.HasPrefix(state, "ready") {
		t.Fatalf("preview: %s", state)
	}
	if !tab.evalBool(canvasDrawn(views.FileInput)) {
		t.Error("preview: the input canvas is blank")
	}
	// The file chosen on this computer is read from its own bytes, not
	// streamed back from Extend.
	if got := tab.evalString(`document.querySelector('[data-testid=docview-pane][data-kind=input]').dataset.source`); got != "local" {
		t.Errorf("preview: the input came from %q, want the chosen file itself (local)", got)
	}
	if got := tab.evalString(`(() => {
		const rows = [...document.querySelectorAll('[data-testid=detected-schema] [data-testid=schema-field]')].map(r => r.dataset.field);
		const boxes = new Set([...document.querySelectorAll('[data-kind=input] g.docbox')].map(g => g.dataset.field));
		return rows.filter(n => !boxes.has(n)).join(', ');
	})()`); got != "" {
		t.Errorf("preview: detected fields without a box: %s", got)
	}
	tab.screenshot(filepath.Join(shots, "detect-preview-wide.png"))

	// Each opened view is in the audit log, once per file.
	tab.open("audit log", views.AuditURL("/", views.AuditFilter{Target: schemaRun}, ""), `true`)
	audit := tab.evalString(`document.body.innerText`)
	for _, want := range []string{"viewed edited file", "viewed input"} {
		if strings.Count(audit, want) != 1 {
			t.Errorf("the audit log of %s holds %q %d times, want once:\n%s", schemaRun, want, strings.Count(audit, want), audit)
		}
	}
}

// openDocView opens a run's page and its document view and waits until
// the pages are drawn.
func openDocView(tab *browserTab, runID string) {
	tab.t.Helper()
	tab.open("run "+runID, views.RunURL("/", sandboxWorkspace, runID), `!!document.querySelector('[data-testid=docview-open]:not(.hidden)')`)
	tab.do("open the document view", chromedp.Click(chromedp.CSS(`[data-testid=docview-open]`)))
	defer func() {
		if tab.t.Failed() {
			tab.t.Logf("document view state: %s", tab.evalString(`document.querySelector('[data-docview]').dataset.state + ' ' + document.querySelector('[data-docview]').innerText`))
		}
	}()
	tab.waitFor("document view ready", `['ready', 'error'].includes(document.querySelector('[data-docview]').dataset.state)`, 60*time.Second)
	if state := tab.evalString(`document.querySelector('[data-docview]').dataset.state`); state != "ready" {
		tab.t.Fatalf("document view of %s: %s\n%s", runID, state, tab.evalString(`document.querySelector('[data-docview]').innerText`))
	}
}

// activeBoxOutOfView says where the selected box of the pane is when it
// is not inside the pane's visible part, and "" when it is.
func activeBoxOutOfView(kind string) string {
	return `(() => {
		const g = document.querySelector('[data-kind=` + kind + `] g.docbox.is-active');
		if (!g) return 'no box selected';
		const sc = g.closest('[data-testid=docview-pane]').querySelector('.docview-scroller');
		const s = sc.getBoundingClientRect(), b = g.getBoundingClientRect();
		return b.top >= s.top && b.bottom <= s.bottom && b.left >= s.left && b.right <= s.right ? '' :
			JSON.stringify({box: [b.left, b.top, b.right, b.bottom], pane: [s.left, s.top, s.right, s.bottom], scrollTop: sc.scrollTop});
	})()`
}

// canvasDrawn is true when the pane's canvas has pixels other than white.
func canvasDrawn(kind string) string {
	return `(() => {
		const c = document.querySelector('canvas[data-kind=` + kind + `]');
		if (!c || !c.width || !c.height) return false;
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let ink = 0;
		for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i+1] < 200 || d[i+2] < 200) ink++;
		return ink > 1000;
	})()`
}

// boxProblems lists what is wrong with the boxes of the page shown: every
// schema field of page 0 has exactly one box group inside the page, no
// other field has one.
func boxProblems(fieldPages map[string]int) string {
	want, _ := json.Marshal(fieldPages)
	return `(() => {
		const want = ` + string(want) + `;
		const problems = [];
		const svg = document.querySelector('[data-kind=edited] [data-testid=docview-overlay]');
		const w = +svg.getAttribute('width'), h = +svg.getAttribute('height');
		const seen = {};
		for (const g of svg.querySelectorAll('g.docbox')) {
			seen[g.dataset.field] = (seen[g.dataset.field] || 0) + 1;
			for (const r of g.querySelectorAll('rect')) {
				const x = +r.getAttribute('x'), y = +r.getAttribute('y'), rw = +r.getAttribute('width'), rh = +r.getAttribute('height');
				if (x < -1 || y < -1 || x + rw > w + 1 || y + rh > h + 1 || rw <= 0 || rh <= 0) problems.push(g.dataset.field + ' outside the page');
			}
		}
		for (const [name, page] of Object.entries(want)) {
			if (page === 0 && seen[name] !== 1) problems.push(name + ': ' + (seen[name] || 0) + ' boxes');
		}
		for (const name of Object.keys(seen)) if (!(name in want)) problems.push(name + ' is not in the schema');
		return problems.join('; ');
	})()`
}

func saveDocViewShots(tab *browserTab, dir, name string) {
	tab.t.Helper()
	for _, vp := range []viewport{wideViewport, phoneViewport} {
		tab.setViewport(vp)
		for _, theme := range []string{views.ThemeLight, views.ThemeDark} {
			tab.setTheme(theme)
			tab.do("scroll to the document view", chromedp.ScrollIntoView(chromedp.CSS(`[data-testid=docview]`)))
			tab.waitFor("document view redrawn", `document.querySelector('[data-docview]').dataset.state === 'ready'`, 20*time.Second)
			time.Sleep(300 * time.Millisecond) // the fit-width redraw after a resize is debounced
			tab.waitFor("document view redrawn", `[...document.querySelectorAll('[data-testid=docview-pane]:not(.hidden) canvas')].every(c => c.width > 0)`, 20*time.Second)
			tab.screenshot(filepath.Join(dir, name+"-"+vp.name+"-"+theme+".png"))
		}
	}
	tab.setViewport(wideViewport)
}

// sandboxClient talks to the embedded sandbox as another program would.
func sandboxClient(t *testing.T, origin string) *extendapi.Client {
	t.Helper()
	c, err := extendapi.New(extendapi.APIKey("sk_sandbox_demo"), extendapi.WithBaseURL(origin+"/_sandbox"),
		extendapi.WithWorkspace(sandboxWorkspace), extendapi.WithLimiter(nil), extendapi.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func uploadForm(t *testing.T, api *extendapi.Client, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	file, err := api.UploadFile(context.Background(), extendapi.UploadFileParams{Name: filepath.Base(path), Body: f})
	if err != nil {
		t.Fatalf("upload %s: %v", path, err)
	}
	return file.ID
}

// detectedSchemaWithValues runs Detect fields on the form and sets a value
// on its first text field; it returns the schema and that field's name.
func detectedSchemaWithValues(t *testing.T, api *extendapi.Client, path string) (json.RawMessage, string) {
	t.Helper()
	run, err := api.DetectForm(context.Background(), &extendapi.DetectFormRequest{File: extendapi.FileRef{ID: uploadForm(t, api, path)}})
	if err != nil || run.Output == nil {
		t.Fatalf("detect fields: %v (%+v)", err, run)
	}
	var schema map[string]any
	if err := json.Unmarshal(run.Output.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	props := schema["properties"].(map[string]any)
	valued := ""
	for name, p := range props {
		prop := p.(map[string]any)
		if prop["extend_edit:field_type"] == "text" && (valued == "" || name < valued) {
			valued = name
		}
	}
	if valued == "" {
		t.Fatal("detect fields found no text field")
	}
	props[valued].(map[string]any)["extend_edit:value"] = "Ada Lovelace"
	out, err := json.Marshal(schema)
	if err != nil {
		t.Fatal(err)
	}
	return out, valued
}

// schemaFieldPages maps each schema property to its page_index.
func schemaFieldPages(t *testing.T, schema json.RawMessage) map[string]int {
	t.Helper()
	var s struct {
		Properties map[string]struct {
			Page int `json:"extend_edit:page_index"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for name, p := range s.Properties {
		out[name] = p.Page
	}
	return out
}

// startRun starts an edit run and waits until it is PROCESSED.
func startRun(t *testing.T, api *extendapi.Client, fileID string, cfg *extendapi.EditConfig) string {
	t.Helper()
	run := runToEnd(t, api, fileID, cfg)
	if run.Status != extendapi.StatusProcessed {
		t.Fatalf("run %s %s: %s %s", run.ID, run.Status, run.FailureReason, run.FailureMessage)
	}
	return run.ID
}

// runToEnd starts an edit run and waits until it ends, either way.
func runToEnd(t *testing.T, api *extendapi.Client, fileID string, cfg *extendapi.EditConfig) *extendapi.EditRun {
	t.Helper()
	ctx := context.Background()
	run, err := api.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: fileID}, Config: cfg})
	if err != nil {
		t.Fatalf("start run: %v", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !run.Status.Terminal() {
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %s", run.ID, run.Status)
		}
		time.Sleep(200 * time.Millisecond)
		if run, err = api.GetEditRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

// breakProperty gives the schema's property name a type Extend refuses,
// so that a run with it fails with a message naming the property.
func breakProperty(t *testing.T, schema json.RawMessage, name string) json.RawMessage {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(schema, &s); err != nil {
		t.Fatal(err)
	}
	s["properties"].(map[string]any)[name].(map[string]any)["type"] = 5
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
