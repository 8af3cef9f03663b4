package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/views"
)

// seededEnv is a dashboard on a seeded sandbox, connected to ws_demo.
func seededEnv(t *testing.T, opts envOptions) *testEnv {
	t.Helper()
	opts.seed = true
	env := newTestEnv(t, opts)
	env.connect(demoKey, demoWS)
	return env
}

type listedRun struct {
	id, status, file, created string
}

func listedRuns(t *testing.T, d *goquery.Document) []listedRun {
	t.Helper()
	var out []listedRun
	testid(d, "run-row").Each(func(_ int, s *goquery.Selection) {
		out = append(out, listedRun{
			id:      s.AttrOr("data-run-id", ""),
			status:  s.AttrOr("data-status", ""),
			file:    strings.TrimSpace(s.Find("td").Eq(1).AttrOr("title", "")),
			created: s.Find("td").Eq(8).Find("time").AttrOr("datetime", ""),
		})
	})
	return out
}

func TestRunsListFiltersReachExtend(t *testing.T) {
	env := seededEnv(t, envOptions{})
	tests := []struct {
		name  string
		query string
		check func(t *testing.T, runs []listedRun)
	}{
		{"failed only", "status=FAILED&size=100", func(t *testing.T, runs []listedRun) {
			for _, r := range runs {
				if r.status != views.StatusFailed {
					t.Errorf("run %s is %s in a FAILED list", r.id, r.status)
				}
			}
		}},
		{"file name contains", "q=globex&size=100", func(t *testing.T, runs []listedRun) {
			for _, r := range runs {
				if !strings.Contains(r.file, "globex") {
					t.Errorf("run %s file %q does not contain globex", r.id, r.file)
				}
			}
		}},
		{"oldest created first", "sort=createdAt&dir=asc&size=50", func(t *testing.T, runs []listedRun) {
			times := make([]string, len(runs))
			for i, r := range runs {
				times[i] = r.created
			}
			if !slices.IsSorted(times) {
				t.Errorf("created times not ascending: %v", times)
			}
		}},
		{"page size", "size=10", func(t *testing.T, runs []listedRun) {
			if len(runs) != 10 {
				t.Errorf("%d rows, want 10", len(runs))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.get("runs?ws=" + demoWS + "&" + tt.query)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", r.StatusCode, errorText(r))
			}
			d := r.doc(t)
			runs := listedRuns(t, d)
			if len(runs) == 0 {
				t.Fatal("no rows: the filter found nothing in the seeded history")
			}
			tt.check(t, runs)
			// The filter form shows the state from the URL.
			q, _ := url.ParseQuery(tt.query)
			if s := q.Get("status"); s != "" {
				if got := testid(d, "filter-status").Find("option[selected]").AttrOr("value", ""); got != s {
					t.Errorf("status select shows %q, want %q", got, s)
				}
			}
			// Every run link names its workspace.
			testid(d, "run-link").Each(func(_ int, s *goquery.Selection) {
				href := s.AttrOr("href", "")
				if !strings.HasPrefix(href, testBase+"runs/edr_") || !strings.HasSuffix(href, "?ws="+demoWS) {
					t.Errorf("run link %q", href)
				}
			})
		})
	}
}

func TestRunsCursorNextAndPrevious(t *testing.T) {
	env := seededEnv(t, envOptions{})
	ids := func(r response) []string {
		t.Helper()
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, errorText(r))
		}
		var out []string
		for _, run := range listedRuns(t, r.doc(t)) {
			out = append(out, run.id)
		}
		return out
	}
	link := func(r response, id string) string {
		t.Helper()
		href, ok := testid(r.doc(t), id).Attr("href")
		if !ok {
			t.Fatalf("no %s link", id)
		}
		return href
	}
	first := env.get("runs?ws=" + demoWS + "&size=10&sort=createdAt")
	page1 := ids(first)
	if _, ok := testid(first.doc(t), "pager-prev").Attr("href"); ok {
		t.Error("the first page offers Previous")
	}
	second := env.get(link(first, "pager-next"))
	page2 := ids(second)
	third := env.get(link(second, "pager-next"))
	page3 := ids(third)
	for _, id := range page2 {
		if slices.Contains(page1, id) || slices.Contains(page3, id) {
			t.Errorf("run %s on two pages", id)
		}
	}
	if !strings.Contains(link(third, "pager-next"), "sort=createdAt") {
		t.Error("paging dropped the sort")
	}
	back2 := ids(env.get(link(third, "pager-prev")))
	if diff := cmp.Diff(page2, back2); diff != "" {
		t.Errorf("Previous from page 3 (-page 2 +got):\n%s", diff)
	}
	back1 := ids(env.get(link(second, "pager-prev")))
	if diff := cmp.Diff(page1, back1); diff != "" {
		t.Errorf("Previous from page 2 (-page 1 +got):\n%s", diff)
	}
	if newest := ids(env.get(link(third, "pager-first"))); !slices.Equal(newest, page1) {
		t.Error("Newest from page 3 is not page 1")
	}
	if sum := testid(third.doc(t), "pager").Text(); !strings.Contains(sum, "Page 3") {
		t.Errorf("pager summary %q", sum)
	}
}

func TestRunRowPartial(t *testing.T) {
	env := seededEnv(t, envOptions{})
	runs := listedRuns(t, env.get("runs?ws="+demoWS+"&size=5").doc(t))
	r := env.get("runs/" + runs[0].id + "/row?ws=" + demoWS)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("row: %d %s", r.StatusCode, errorText(r))
	}
	if !strings.HasPrefix(strings.TrimSpace(r.body), "<tr") || !strings.Contains(r.body, `data-run-id="`+runs[0].id+`"`) {
		t.Errorf("row partial is not the run's row: %.200s", r.body)
	}
	// A processing row polls the partial of its own workspace.
	d := env.get("runs?ws=" + demoWS + "&status=PROCESSING&size=100").doc(t)
	d.Find(`tr[data-status="PROCESSING"]`).Each(func(_ int, s *goquery.Selection) {
		want := testBase + "runs/" + s.AttrOr("data-run-id", "") + "/row?ws=" + demoWS
		if got := s.AttrOr("hx-get", ""); got != want {
			t.Errorf("processing row polls %q, want %q", got, want)
		}
	})
}

func TestParseRunsQueryDropsWhatExtendWouldRefuse(t *testing.T) {
	q, _ := url.ParseQuery("status=bogus&size=1000&sort=name&dir=up&q=%20acme%20&cursor=c2&prev=c1&prev=")
	got := parseRunsQuery(q)
	want := runsQuery{Filter: views.RunsFilter{FileNameContains: "acme"}, Cursor: "c2", Prev: []string{"c1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseRunsQuery (-want +got):\n%s", diff)
	}
	if p := parseRunsQuery(url.Values{"prev": {"x"}}); p.Prev != nil {
		t.Error("a stack without a cursor is kept")
	}
}

func TestRunsPagerStack(t *testing.T) {
	f := views.RunsFilter{Status: views.StatusFailed}
	rq := runsQuery{Filter: f, Cursor: "c3", Prev: []string{"c1", "c2"}}
	p := rq.pager("/", "ws_a", "c4", 10)
	wantNext := "/runs?cursor=c4&status=FAILED&ws=ws_a&prev=c1&prev=c2&prev=c3"
	wantPrev := "/runs?cursor=c2&status=FAILED&ws=ws_a&prev=c1"
	if p.NextURL != wantNext || p.PrevURL != wantPrev {
		t.Errorf("next %q\nprev %q", p.NextURL, p.PrevURL)
	}
	if p.FirstURL != "/runs?status=FAILED&ws=ws_a" {
		t.Errorf("first %q", p.FirstURL)
	}
	second := runsQuery{Filter: f, Cursor: "c1"}.pager("/", "ws_a", "", 3)
	if second.PrevURL != "/runs?status=FAILED&ws=ws_a" || second.NextURL != "" || second.FirstURL != "" {
		t.Errorf("page 2 pager %+v", second)
	}
}
