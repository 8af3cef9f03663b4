package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// TestRunsListSortsHistory: once history is synced, the column headers
// sort the list by created time, processing time, credits and fields
// filled, both directions, through links; paging three at a time gives
// every run once, in order, and Previous comes back to the same page.
func TestRunsListSortsHistory(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour)
	// edr_S0 … edr_S6: created in order; the measurements in other orders,
	// edr_S3 (failed) without any.
	ms := []float64{300, 100, 700, 0, 500, 200, 600}
	credits := []float64{2, 6, 1, 0, 4, 3, 5}
	filled := []int64{5, 1, 3, 0, 6, 4, 2}
	var runs []store.RunSnapshot
	for i := range 7 {
		r := store.RunSnapshot{RunID: fmt.Sprintf("edr_S%d", i), RunFacts: store.RunFacts{Status: store.StatusProcessed,
			FileName: fmt.Sprintf("f%d.pdf", i), CreatedAt: at.Add(time.Duration(i) * time.Minute)}}
		if i == 3 {
			r.Status, r.FailureReason = store.StatusFailed, "CORRUPT_FILE"
		} else {
			r.ProcessingMs, r.Credits, r.FieldsFilled = &ms[i], &credits[i], &filled[i]
		}
		runs = append(runs, r)
	}
	if err := env.st.InsertSyntheticRuns(ctx, demoTenant, runs); err != nil {
		t.Fatal(err)
	}
	if err := env.st.MarkTenantSynced(ctx, demoTenant, time.Now()); err != nil {
		t.Fatal(err)
	}
	first := env.get("runs?ws=" + demoWS + "&size=3")
	if first.StatusCode != http.StatusOK {
		t.Fatalf("runs: %d %s", first.StatusCode, errorText(first))
	}

	tests := []struct {
		sort, dir string
		want      []string // run numbers
	}{
		{views.SortCreated, views.DirDesc, strings.Split("6543210", "")},
		{views.SortCreated, views.DirAsc, strings.Split("0123456", "")},
		{views.SortProcessing, views.DirDesc, strings.Split("2640513", "")},
		{views.SortProcessing, views.DirAsc, strings.Split("3150462", "")},
		{views.SortCredits, views.DirDesc, strings.Split("1645023", "")},
		{views.SortCredits, views.DirAsc, strings.Split("3205461", "")},
		{views.SortFilled, views.DirDesc, strings.Split("4052613", "")},
		{views.SortFilled, views.DirAsc, strings.Split("3162504", "")},
	}
	for _, tt := range tests {
		t.Run(tt.sort+" "+tt.dir, func(t *testing.T) {
			link := headerLink(t, env.get("runs?ws="+demoWS+"&size=3"), tt.sort)
			// The list starts newest first: its Created header turns to
			// oldest first; the others start with the largest.
			if (tt.sort == views.SortCreated) == (tt.dir == views.DirDesc) {
				link = headerLink(t, env.get(link), tt.sort)
			}
			if !strings.Contains(link, "sort="+tt.sort) || !strings.Contains(link, "dir="+tt.dir) {
				t.Fatalf("header link %q", link)
			}
			var got []string
			var pages []string
			for next := link; next != ""; {
				r := env.get(next)
				if r.StatusCode != http.StatusOK {
					t.Fatalf("page %s: %d %s", next, r.StatusCode, errorText(r))
				}
				d := r.doc(t)
				if len(pages) == 0 && testid(d, "runs-table").Find(`th[aria-sort]`).Length() != 1 {
					t.Error("no header says the list is sorted by it")
				}
				ids := testid(d, "run-row").Map(func(_ int, s *goquery.Selection) string {
					return strings.TrimPrefix(s.AttrOr("data-run-id", ""), "edr_S")
				})
				got = append(got, ids...)
				pages = append(pages, strings.Join(ids, ""))
				next = testid(d, "pager-next").AttrOr("href", "")
				if prev := testid(d, "pager-prev").AttrOr("href", ""); len(pages) > 1 && prev != "" {
					back := testid(env.get(prev).doc(t), "run-row").Map(func(_ int, s *goquery.Selection) string {
						return strings.TrimPrefix(s.AttrOr("data-run-id", ""), "edr_S")
					})
					if strings.Join(back, "") != pages[len(pages)-2] {
						t.Errorf("Previous from page %d shows %v, want %s", len(pages), back, pages[len(pages)-2])
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}

	// A cursor made for another sort is a clear 400, not a wrong page.
	r := env.get("runs?ws=" + demoWS + "&sort=credits&cursor=processing-desc:1:2")
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("foreign cursor: %d", r.StatusCode)
	}
}

// headerLink is the href of the sortable header of column key.
func headerLink(t *testing.T, r response, key string) string {
	t.Helper()
	href := r.doc(t).Find(`[data-testid="sort-header"][data-sort="`+key+`"]`).AttrOr("href", "")
	if href == "" {
		t.Fatalf("no sortable header %s", key)
	}
	return href
}
