package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
)

// TestListEditRunsPagination walks 3+ pages while new runs are created
// between pages: the keyset cursor neither repeats nor skips a run.
func TestListEditRunsPagination(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	form := demoForm(t, "")
	file := uploadFile(t, c, "batch.pdf", form.PDF, "")
	create := func() string {
		run, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID},
			Config: &extendapi.EditConfig{Instructions: form.Instructions}})
		if err != nil {
			t.Fatalf("CreateEditRun: %v", err)
		}
		return run.ID
	}
	var before []string
	for range 25 {
		before = append(before, create())
	}

	for _, dir := range []extendapi.SortDir{extendapi.SortDesc, extendapi.SortAsc} {
		t.Run(string(dir), func(t *testing.T) {
			var seen []string
			var added []string
			token := ""
			pages := 0
			for {
				page, err := c.ListEditRuns(ctx, extendapi.ListEditRunsParams{SortBy: extendapi.SortByCreatedAt, SortDir: dir, MaxPageSize: 10, NextPageToken: token})
				if err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
				pages++
				for _, r := range page.Data {
					seen = append(seen, r.ID)
				}
				added = append(added, create(), create()) // runs arrive while we page
				if page.NextPageToken == "" {
					break
				}
				token = page.NextPageToken
			}
			want := slices.Clone(before)
			if dir == extendapi.SortDesc {
				slices.Reverse(want)
			} else {
				// Ascending reaches the runs created while paging, in order.
				want = append(want, added[:len(seen)-len(before)]...)
			}
			if pages < 3 {
				t.Errorf("%d pages, want at least 3", pages)
			}
			if !slices.Equal(seen, want) {
				t.Fatalf("paged runs (%d) = %v\nwant (%d) %v", len(seen), seen, len(want), want)
			}
			before = append(before, added...)
		})
	}
	for _, id := range before {
		waitRun(t, c, id)
	}
}

// TestListEditRunsFilters: status, source and fileNameContains filter;
// items are summaries with timestamps, metrics and usage but no config or
// output; sortBy defaults to updatedAt.
func TestListEditRunsFilters(t *testing.T) {
	ts := startSandbox(t, Options{Seed: true, SeedWorkspace: testWSA})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	form := demoForm(t, "")
	file := uploadFile(t, c, "zebra-unique-name.pdf", form.PDF, "")
	run, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, run.ID)

	all := func(p extendapi.ListEditRunsParams) []extendapi.EditRun {
		t.Helper()
		var runs []extendapi.EditRun
		for r, err := range c.AllEditRuns(ctx, p) {
			if err != nil {
				t.Fatalf("AllEditRuns(%+v): %v", p, err)
			}
			runs = append(runs, r)
		}
		return runs
	}
	everything := all(extendapi.ListEditRunsParams{MaxPageSize: 100})
	if len(everything) < seedRunCount {
		t.Fatalf("%d runs listed, want the %d seeded plus ours", len(everything), seedRunCount)
	}
	for i, r := range everything {
		if r.Config != nil || r.Output != nil || r.CreatedAt == nil || r.UpdatedAt == nil || r.Source == "" {
			t.Fatalf("summary %s: config %v output %v createdAt %v updatedAt %v source %q", r.ID, r.Config, r.Output, r.CreatedAt, r.UpdatedAt, r.Source)
		}
		if r.Status == extendapi.StatusProcessed && (r.Metrics == nil || r.Usage == nil || r.Usage.Breakdown != nil) {
			t.Fatalf("processed summary %s: metrics %v usage %+v; want metrics and usage without breakdown", r.ID, r.Metrics, r.Usage)
		}
		if i > 0 && r.UpdatedAt.After(*everything[i-1].UpdatedAt) {
			t.Fatalf("default order is not updatedAt descending at %d", i)
		}
	}
	for _, tt := range []struct {
		name   string
		params extendapi.ListEditRunsParams
		keep   func(extendapi.EditRun) bool
	}{
		{"status FAILED", extendapi.ListEditRunsParams{Status: extendapi.StatusFailed},
			func(r extendapi.EditRun) bool { return r.Status == extendapi.StatusFailed }},
		{"status PROCESSED", extendapi.ListEditRunsParams{Status: extendapi.StatusProcessed},
			func(r extendapi.EditRun) bool { return r.Status == extendapi.StatusProcessed }},
		{"source API", extendapi.ListEditRunsParams{Source: SourceAPI},
			func(r extendapi.EditRun) bool { return r.Source == SourceAPI }},
		{"source STUDIO", extendapi.ListEditRunsParams{Source: SourceStudio},
			func(r extendapi.EditRun) bool { return r.Source == SourceStudio }},
		{"file name, any case", extendapi.ListEditRunsParams{FileNameContains: "ZEBRA-unique"},
			func(r extendapi.EditRun) bool { return r.File.Name == "zebra-unique-name.pdf" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.params.MaxPageSize = 100
			got := all(tt.params)
			var want []string
			for _, r := range everything {
				if tt.keep(r) {
					want = append(want, r.ID)
				}
			}
			var gotIDs []string
			for _, r := range got {
				gotIDs = append(gotIDs, r.ID)
			}
			// Seeded PROCESSING runs may finish meanwhile; compare as sets
			// of the runs that did not change.
			slices.Sort(want)
			slices.Sort(gotIDs)
			if len(want) == 0 || !slices.Equal(gotIDs, want) {
				t.Fatalf("%s: got %d runs, want %d", tt.name, len(gotIDs), len(want))
			}
		})
	}
	if page, err := c.ListEditRuns(ctx, extendapi.ListEditRunsParams{}); err != nil || len(page.Data) != defaultPageSize {
		t.Fatalf("default page size: %d, %v", len(page.Data), err)
	}
}

// TestListEditRunsBadParams: every malformed parameter is a 400.
func TestListEditRunsBadParams(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	file := uploadFile(t, c, "f.pdf", demoForm(t, "").PDF, "")
	for range 3 {
		if _, err := c.CreateEditRun(context.Background(), &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := c.ListEditRuns(context.Background(), extendapi.ListEditRunsParams{MaxPageSize: 1, SortDir: extendapi.SortDesc})
	if err != nil || page.NextPageToken == "" {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	for _, q := range []string{
		"maxPageSize=0", "maxPageSize=101", "maxPageSize=ten", "sortBy=name", "sortDir=up",
		"status=DONE", "source=CLI", "nextPageToken=garbage", "nextPageToken=" + url.QueryEscape("eyJ2IjoxfQ"),
		"sortDir=asc&nextPageToken=" + url.QueryEscape(page.NextPageToken),
	} {
		resp, body := ts.raw(http.MethodGet, "/edit_runs?"+q, authHeaders(testKeyA), nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", q, resp.StatusCode, body)
		}
	}
	resp, body := ts.raw(http.MethodGet, fmt.Sprintf("/edit_runs?maxPageSize=100&nextPageToken=%s", url.QueryEscape(page.NextPageToken)), authHeaders(testKeyA), nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a changed page size with the same sort is fine: %d %s", resp.StatusCode, body)
	}
}
