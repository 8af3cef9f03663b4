package views

import (
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
	"github.com/google/go-cmp/cmp"
)

func render(t *testing.T, c templ.Component) (string, *goquery.Document) {
	t.Helper()
	var sb strings.Builder
	if err := Render(context.Background(), &sb, c); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return sb.String(), doc
}

func testids(doc *goquery.Document, id string) *goquery.Selection {
	return doc.Find(`[data-testid="` + id + `"]`)
}

func TestRunsView(t *testing.T) {
	page := fixtureRunsPage()
	_, doc := render(t, RunsView(page))

	if n := testids(doc, "runs-table").Length(); n != 1 {
		t.Fatalf("runs-table count = %d, want 1", n)
	}
	rows := testids(doc, "run-row")
	if rows.Length() != len(page.Rows) {
		t.Fatalf("rows = %d, want %d", rows.Length(), len(page.Rows))
	}
	var gotBadges, wantBadges []string
	rows.Each(func(i int, row *goquery.Selection) {
		gotBadges = append(gotBadges, strings.TrimSpace(row.Find(`[data-testid="status-badge"]`).Text()))
		wantBadges = append(wantBadges, statusLabel(page.Rows[i].Status))

		polls := page.Rows[i].Status == StatusProcessing
		hxGet, has := row.Attr("hx-get")
		if has != polls {
			t.Errorf("row %s: hx-get present = %v, want %v", page.Rows[i].ID, has, polls)
		}
		if polls {
			wantURL := testBasePath + "runs/" + page.Rows[i].ID + "/row?ws=" + testWS
			if hxGet != wantURL {
				t.Errorf("row hx-get = %q, want %q", hxGet, wantURL)
			}
			if trig := row.AttrOr("hx-trigger", ""); trig != "every 5s" {
				t.Errorf("row hx-trigger = %q, want %q", trig, "every 5s")
			}
			if row.AttrOr("hx-swap", "") != "outerHTML" || !hasAttr(row, "data-poll") {
				t.Errorf("row %s: want hx-swap=outerHTML and data-poll", page.Rows[i].ID)
			}
		}
	})
	if diff := cmp.Diff(wantBadges, gotBadges); diff != "" {
		t.Errorf("badges (-want +got):\n%s", diff)
	}
	if got := testids(doc, "failure-reason").First().Text(); got != "CORRUPT_FILE" {
		t.Errorf("first failure reason = %q", got)
	}

	for _, id := range []string{"filter-q", "filter-status", "filter-source", "filter-sort", "filter-dir", "filter-size", "filter-apply", "pager", "pager-prev", "pager-next", "runs-note"} {
		if testids(doc, id).Length() == 0 {
			t.Errorf("missing data-testid %q", id)
		}
	}
	if sel := testids(doc, "filter-sort").Find("option[selected]").AttrOr("value", ""); sel != SortCreated {
		t.Errorf("selected sort = %q, want %q", sel, SortCreated)
	}
	if sel := testids(doc, "filter-size").Find("option[selected]").AttrOr("value", ""); sel != "25" {
		t.Errorf("selected page size = %q", sel)
	}
	form := testids(doc, "runs-filter")
	if m := strings.ToLower(form.AttrOr("method", "")); m != "get" {
		t.Errorf("filter form method = %q, want get (state in the URL)", m)
	}
	if ws := form.Find(`input[name="ws"]`).AttrOr("value", ""); ws != testWS {
		t.Errorf("filter form keeps ws = %q", ws)
	}
	if !hasAttr(testids(doc, "filter-q"), "data-search") {
		t.Error("the file name box is not the / search target")
	}
	if next := testids(doc, "pager-next").AttrOr("href", ""); !strings.Contains(next, "cursor=tok_next") || !strings.Contains(next, "ws="+testWS) {
		t.Errorf("next page link = %q", next)
	}
	if !hasAttr(testids(doc, "runs-table"), "data-nav-table") {
		t.Error("runs table lacks the keyboard navigation hook")
	}
}

func TestRunsViewEmpty(t *testing.T) {
	tests := []struct {
		name   string
		filter RunsFilter
		want   string
	}{
		{"filtered", RunsFilter{Status: StatusFailed}, "No runs match these filters"},
		{"unfiltered", RunsFilter{}, "No runs in this workspace yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, doc := render(t, RunsView(RunsPage{Base: testBase(NavRuns), Filter: tt.filter}))
			empty := testids(doc, "runs-empty")
			if !strings.Contains(empty.Text(), tt.want) {
				t.Errorf("empty state = %q, want %q", strings.TrimSpace(empty.Text()), tt.want)
			}
			if testids(doc, "runs-table").Length() != 0 {
				t.Error("empty list still renders a table")
			}
		})
	}
}

// RunRow is rendered alone for polling; the answer must be a bare <tr>.
func TestRunRowAlone(t *testing.T) {
	var sb strings.Builder
	item := fixtureRunsPage().Rows[1]
	if err := Render(context.Background(), &sb, RunRow(testBase(NavRuns), item)); err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSpace(sb.String())
	if !strings.HasPrefix(out, "<tr") || !strings.HasSuffix(out, "</tr>") {
		t.Errorf("row partial is not a bare <tr>: %.80q", out)
	}
	if strings.Contains(out, "hx-get") {
		t.Error("a PROCESSED row must stop polling")
	}
}

func TestConnectView(t *testing.T) {
	page := fixtureConnectPage()
	_, doc := render(t, ConnectView(page))
	key := testids(doc, "connect-key")
	if key.AttrOr("type", "") != "password" || key.AttrOr("autocomplete", "") != "off" {
		t.Errorf("key field type=%q autocomplete=%q", key.AttrOr("type", ""), key.AttrOr("autocomplete", ""))
	}
	if key.AttrOr("value", "") != "sk_sandbox_demo" {
		t.Errorf("sandbox key not pre-filled: %q", key.AttrOr("value", ""))
	}
	if got := testids(doc, "connect-error").Text(); !strings.Contains(got, "Extend rejected this key (401).") {
		t.Errorf("error = %q", got)
	}
	if got := testids(doc, "connect-deployment").Find("option[selected]").AttrOr("value", ""); got != "eu1" {
		t.Errorf("selected deployment = %q", got)
	}
	items := testids(doc, "connected-workspace")
	if items.Length() != 2 {
		t.Fatalf("connected workspaces = %d", items.Length())
	}
	if got := items.Eq(1).Find(`[data-testid="key-last4"]`).Text(); got != "…9f3a" {
		t.Errorf("last 4 = %q", got)
	}
	if n := testids(doc, "disconnect-button").Length(); n != 2 {
		t.Errorf("disconnect buttons = %d", n)
	}

	// Outside sandbox mode no key ever goes back to the browser.
	page.SandboxBanner = false
	out, doc := render(t, ConnectView(page))
	if v, ok := testids(doc, "connect-key").Attr("value"); ok && v != "" {
		t.Errorf("key pre-filled outside sandbox mode: %q", v)
	}
	if strings.Contains(out, "sk_sandbox_demo") {
		t.Error("the sandbox key leaks outside sandbox mode")
	}

	// A configured --extend-url replaces the select.
	page.CustomURL = "https://extend.internal.example"
	_, doc = render(t, ConnectView(page))
	if testids(doc, "connect-deployment").Length() != 0 || testids(doc, "connect-custom-url").Text() != page.CustomURL {
		t.Error("custom URL not shown instead of the deployment select")
	}
}

func TestNewRunView(t *testing.T) {
	page := fixtureNewRunPage()
	_, doc := render(t, NewRunView(page))
	form := testids(doc, "new-run-form")
	if form.AttrOr("enctype", "") != "multipart/form-data" || strings.ToLower(form.AttrOr("method", "")) != "post" {
		t.Errorf("form enctype=%q method=%q", form.AttrOr("enctype", ""), form.AttrOr("method", ""))
	}
	if got := testids(doc, "upload-limit").Text(); !strings.Contains(got, "Up to 50 MB.") {
		t.Errorf("upload limit text = %q", got)
	}
	detect := testids(doc, "detect-fields")
	wantDetect := DetectFieldsURL(testBasePath, testWS)
	if detect.AttrOr("formaction", "") != wantDetect || detect.AttrOr("hx-post", "") != wantDetect {
		t.Errorf("detect button formaction=%q hx-post=%q, want %q", detect.AttrOr("formaction", ""), detect.AttrOr("hx-post", ""), wantDetect)
	}
	if detect.AttrOr("type", "") != "submit" {
		t.Error("detect must work without JS: a submit button")
	}
	schemaErr := testids(doc, "schema-error")
	if !strings.Contains(schemaErr.Text(), "Line 5, column 5: expected ',' or '}' after object member") {
		t.Errorf("schema error = %q", schemaErr.Text())
	}
	wantExcerpt := "5 |     \"age\": {\"type\": [\"number\", \"null\"]}\n        ^"
	if got := testids(doc, "schema-error-excerpt").Text(); got != wantExcerpt {
		t.Errorf("excerpt:\n%s\nwant:\n%s", got, wantExcerpt)
	}
	if testids(doc, "schema-input").AttrOr("aria-invalid", "") != "true" {
		t.Error("schema textarea not marked invalid")
	}
	if testids(doc, "schema-input").Text() != fixtureBadSchema {
		t.Error("schema textarea does not keep the input")
	}
	checked := map[string]bool{}
	testids(doc, "advanced-option").Each(func(_ int, s *goquery.Selection) {
		checked[s.AttrOr("name", "")] = hasAttr(s, "checked")
	})
	wantChecked := map[string]bool{"flattenPdf": true, "tableParsingEnabled": false, "radioEnumsEnabled": false, "nativeFieldsOnly": false, "conditionalGenerationEnabled": false}
	if diff := cmp.Diff(wantChecked, checked); diff != "" {
		t.Errorf("advanced option defaults (-want +got):\n%s", diff)
	}
	if got := doc.Find(`input[name="file_id"]`).AttrOr("value", ""); got != "file_up123" {
		t.Errorf("uploaded file not kept: %q", got)
	}
	if got := testids(doc, "detect-note").Text(); got != page.DetectNote {
		t.Errorf("detect note = %q", got)
	}
	if !hasAttr(doc.Find("#input-upload"), "checked") {
		t.Error("upload input not selected")
	}
}

func TestAuditView(t *testing.T) {
	page := fixtureAuditPage()
	_, doc := render(t, AuditView(page))
	rows := testids(doc, "audit-row")
	if rows.Length() != len(page.Entries) {
		t.Fatalf("rows = %d", rows.Length())
	}
	if got := rows.Eq(0).Find("a").AttrOr("href", ""); got != RunURL(testBasePath, testWS, page.Entries[0].Target) {
		t.Errorf("run target link = %q", got)
	}
	if rows.Eq(1).Find("a").Length() != 0 {
		t.Error("a deleted run is linked")
	}
	if got := testids(doc, "filter-action").Find("option[selected]").AttrOr("value", ""); got != "reveal" {
		t.Errorf("selected action = %q", got)
	}
	if testids(doc, "pager-next").AttrOr("href", "") == "" {
		t.Error("no next page link")
	}
}

func TestErrorView(t *testing.T) {
	page := fixtureErrorPage()
	out, doc := render(t, ErrorView(page))
	got := map[string]string{
		"status":   testids(doc, "error-status").Text(),
		"category": testids(doc, "error-category").Text(),
		"extend":   testids(doc, "extend-request-id").Text(),
		"ours":     testids(doc, "our-request-id").Text(),
		"retry":    strings.TrimSpace(testids(doc, "retry-after").Text()),
	}
	want := map[string]string{"status": "429", "category": "RATE_LIMIT_EXCEEDED", "extend": "req_Xj8mK2pL9nR4vT7qY5wZ", "ours": "req_ours_42", "retry": "Try again in 30 s."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error page (-want +got):\n%s", diff)
	}
	if testids(doc, "error-back-runs").AttrOr("href", "") != RunsURL(testBasePath, testWS, RunsFilter{}, "") {
		t.Error("no link back to the runs")
	}
	if href := testids(doc, "error-connect-workspace").AttrOr("href", ""); href != testBasePath+"connect?workspace_id=ws_other" {
		t.Errorf("connect-workspace link = %q", href)
	}
	if !strings.Contains(out, "<title>Rate limited · Editwatch</title>") {
		t.Error("page title missing")
	}
}

func TestLayoutBanners(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Base)
		want   []string
	}{
		{"sandbox", func(b *Base) {}, []string{"sandbox-banner"}},
		{"single user", func(b *Base) { b.SandboxBanner = false; b.SingleUserWarning = true }, []string{"single-user-warning"}},
		{"read-only", func(b *Base) { b.SandboxBanner = false; b.ReadOnly = true }, []string{"read-only-banner"}},
		{"none", func(b *Base) { b.SandboxBanner = false }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := fixtureRunsPage()
			tt.modify(&page.Base)
			_, doc := render(t, RunsView(page))
			var got []string
			for _, id := range []string{"sandbox-banner", "single-user-warning", "read-only-banner"} {
				if testids(doc, id).Length() > 0 {
					got = append(got, id)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("banners (-want +got):\n%s", diff)
			}
		})
	}
	page := fixtureRunsPage()
	page.Flash = Flash{Kind: FlashSuccess, Message: "Run edr_1 deleted."}
	page.ThemeDefault = ThemeDark
	out, doc := render(t, RunsView(page))
	if testids(doc, "flash").Text() != "Run edr_1 deleted." || testids(doc, "flash").AttrOr("data-kind", "") != "success" {
		t.Error("flash not shown")
	}
	if !doc.Find("html").HasClass("dark") {
		t.Error("dark default not applied server side")
	}
	if cfg := doc.Find(`meta[name="htmx-config"]`).AttrOr("content", ""); !strings.Contains(cfg, `"allowEval":false`) || !strings.Contains(cfg, `"includeIndicatorStyles":false`) {
		t.Errorf("htmx config %q does not turn eval and indicator styles off", cfg)
	}
	_ = out
	if doc.Find(`a[href="#main"]`).Length() != 1 || doc.Find("main#main").Length() != 1 {
		t.Error("skip link or its target missing")
	}
}

func TestNewRunHiddenForViewers(t *testing.T) {
	page := fixtureRunsPage()
	page.CanAct = false
	out, doc := render(t, RunsView(page))
	if testids(doc, "new-run-link").Length() != 0 || strings.Contains(out, "runs/new") {
		t.Error("viewers are offered New run")
	}
}
