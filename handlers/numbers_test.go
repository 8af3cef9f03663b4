package handlers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// seedNumbers writes 1,500 runs of the demo tenant at random milliseconds
// over nine days before now (failed with three reasons or none, processed,
// processing; two sources; a few file names), marks the history synced
// and stops the dashboard's clock at now.
func seedNumbers(t *testing.T, env *testEnv, now time.Time) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(15, 1))
	var runs []store.RunSnapshot
	reasons := []string{"CORRUPT_FILE", "TIMEOUT", "PASSWORD_PROTECTED", ""}
	names := []string{"w9-acme.pdf", "invoice-acme.pdf", "lease.pdf", "w9-globex.pdf"}
	for i := range 1500 {
		at := now.Add(-time.Duration(rnd.Int64N(int64(9 * 24 * time.Hour)))).Truncate(time.Millisecond)
		r := store.RunSnapshot{RunID: fmt.Sprintf("edr_n%05d", i), RunFacts: store.RunFacts{
			FileName: names[i%len(names)], Source: []string{"API", "STUDIO"}[i%2], CreatedAt: at}}
		switch i % 5 {
		case 0, 1:
			r.Status, r.FailureReason = store.StatusFailed, reasons[i%len(reasons)]
		case 2:
			r.Status = store.StatusProcessing
		default:
			credits := 1.5
			r.Status, r.Credits = store.StatusProcessed, &credits
		}
		runs = append(runs, r)
	}
	ctx := context.Background()
	if err := env.st.InsertSyntheticRuns(ctx, demoTenant, runs); err != nil {
		t.Fatal(err)
	}
	if err := env.st.MarkTenantSynced(ctx, demoTenant, now); err != nil {
		t.Fatal(err)
	}
}

// numbersEnv is a dashboard with its clock stopped at now, which a test
// may ask for many pages a second, connected to the demo workspace with
// seedNumbers' history.
func numbersEnv(t *testing.T, now time.Time) *testEnv {
	t.Helper()
	base := newTestEnv(t, envOptions{})
	env := base.withOptions(func(o *Options) {
		o.Now = func() time.Time { return now }
		o.RateLimits.Pages = middleware.RateLimit{Rate: 1e6, Burst: 1e6}
	})
	env.connect(demoKey, demoWS)
	seedNumbers(t, env, now)
	return env
}

// listedRows counts the rows of a runs list, page after page.
func listedRows(t *testing.T, env *testEnv, link string) int {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(views.ParamPageSize, "100")
	u.RawQuery = q.Encode()
	next, rows := u.String(), 0
	for pages := 0; next != ""; pages++ {
		if pages > 100 {
			t.Fatalf("%s: more than 100 pages", link)
		}
		r := env.get(next)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d %s", next, r.StatusCode, errorText(r))
		}
		d := r.doc(t)
		rows += testid(d, "run-row").Length()
		next = testid(d, "pager-next").AttrOr("href", "")
	}
	return rows
}

// number reads a count as shown ("1,234 runs", "10,000+").
func number(t *testing.T, s string) (int, bool) {
	t.Helper()
	s = strings.Fields(s)[0]
	atLeast := strings.HasSuffix(s, "+")
	n, err := strconv.Atoi(strings.NewReplacer(",", "", "+", "").Replace(s))
	if err != nil {
		t.Fatalf("not a count: %q", s)
	}
	return n, atLeast
}

// numberRanges are the ranges the proofs run over; now is a few seconds
// past a whole minute, so every range has partial hours and minutes at
// both ends; the custom one crosses hour boundaries.
func numberRanges(now time.Time) map[string]string {
	from, to := now.Add(-29*time.Hour-17*time.Minute-31*time.Second), now.Add(-2*time.Hour-3*time.Minute-12*time.Second)
	return map[string]string{
		"1h": "range=1h", "24h": "range=24h", "7d": "range=7d",
		"custom": "range=custom&from=" + url.QueryEscape(from.Format("2006-01-02T15:04:05")) + "&to=" + url.QueryEscape(to.Format("2006-01-02T15:04:05")),
	}
}

// TestFailureGroupsMatchTheirLists: on every range, each failure group's
// count is the number of rows its "Show these runs" list has.
func TestFailureGroupsMatchTheirLists(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour + 41*time.Minute + 27*time.Second + 123*time.Millisecond)
	env := numbersEnv(t, now)
	for name, rng := range numberRanges(now) {
		t.Run(name, func(t *testing.T) {
			d := env.get("failures?ws=" + demoWS + "&" + rng).doc(t)
			groups := testid(d, "failure-group")
			if groups.Length() == 0 {
				t.Fatal("no failure groups")
			}
			// The overview's cards of runs and failures, and each failure
			// bar, agree with their lists too.
			o := env.get("?ws=" + demoWS + "&" + rng).doc(t)
			for _, id := range []string{"runs", "failures"} {
				card := testid(o, "figure-"+id).Find(`[data-testid="figure-value"]`)
				count, _ := number(t, card.Text())
				if rows := listedRows(t, env, card.AttrOr("href", "")); rows != count {
					t.Errorf("card %s: %d, its list has %d rows", id, count, rows)
				}
			}
			testid(o, "chart-failures-chart").Find(`table[data-testid="chart-table"] tbody tr`).Each(func(i int, tr *goquery.Selection) {
				count, _ := number(t, tr.Find("td").Last().Text())
				link := testid(o, "chart-failures-chart").Find(`[data-testid="chart-link"]`).Eq(i).AttrOr("href", "")
				if rows := listedRows(t, env, link); rows != count {
					t.Errorf("failure bar %d: %d, its list has %d rows", i, count, rows)
				}
			})
			groups.Each(func(_ int, g *goquery.Selection) {
				count, _ := number(t, g.Find(`[data-testid="group-count"]`).Text())
				link := g.Find(`[data-testid="group-runs-link"]`).AttrOr("href", "")
				if rows := listedRows(t, env, link); rows != count {
					t.Errorf("group %q: %d runs, its list has %d rows (%s)", g.AttrOr("data-reason", ""), count, rows, link)
				}
				if first, last := g.Find(`[data-testid="group-first"] time`).Length(), g.Find(`[data-testid="group-last"] time`).Length(); first != 1 || last != 1 {
					t.Errorf("group %q: first seen %d, last seen %d times", g.AttrOr("data-reason", ""), first, last)
				}
			})
		})
	}
}

// TestStatusChipsMatchTheirLists: on every range, with other filters, each
// status chip shows the row count of the list it links to (which keeps
// the other filters), exactly under the cap and as "cap+" over it.
func TestStatusChipsMatchTheirLists(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour + 41*time.Minute + 27*time.Second + 123*time.Millisecond)
	env := numbersEnv(t, now)
	filters := []string{"", "status=FAILED&q=acme", "q=w9-", "source=STUDIO&status=PROCESSED", "reason=CORRUPT_FILE", "reason=-", "run=edr_n001"}
	for _, cap := range []int{10_000, 7} {
		capped := 0
		old := chipCountCap
		chipCountCap = cap
		t.Cleanup(func() { chipCountCap = old })
		for name, rng := range numberRanges(now) {
			for _, filter := range filters {
				t.Run(fmt.Sprintf("cap %d/%s/%s", cap, name, filter), func(t *testing.T) {
					r := env.get("runs?ws=" + demoWS + "&" + rng + "&" + filter)
					if r.StatusCode != 200 {
						t.Fatalf("%d %s", r.StatusCode, errorText(r))
					}
					d := r.doc(t)
					chips := testid(d, "status-count")
					if chips.Length() != 4 {
						t.Fatalf("%d chips", chips.Length())
					}
					chips.Each(func(_ int, c *goquery.Selection) {
						n, atLeast := number(t, c.Find(`[data-testid="status-count-value"]`).Text())
						link := c.AttrOr("href", "")
						u, _ := url.Parse(link)
						for _, kept := range strings.Split(filter, "&") {
							k, v, _ := strings.Cut(kept, "=")
							if k != "" && k != views.ParamStatus && u.Query().Get(k) != v {
								t.Errorf("chip %q drops %s=%s: %s", c.AttrOr("data-status", ""), k, v, link)
							}
						}
						rows := listedRows(t, env, link)
						if atLeast {
							capped++
						}
						switch {
						case atLeast && (n != cap || rows <= cap):
							t.Errorf("chip %q says %d+, its list has %d rows (cap %d)", c.AttrOr("data-status", ""), n, rows, cap)
						case !atLeast && n != rows:
							t.Errorf("chip %q says %d, its list has %d rows", c.AttrOr("data-status", ""), n, rows)
						}
					})
				})
			}
		}
		if (cap == 7) != (capped > 0) {
			t.Errorf("cap %d: %d chips with a capped count", cap, capped)
		}
	}
}

// TestReasonFilterChoices: the reason filter offers no reason, Extend's
// documented reasons and the others seen in history, the chosen one
// selected.
func TestReasonFilterChoices(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	env := numbersEnv(t, now)
	d := env.get("runs?ws=" + demoWS + "&reason=TIMEOUT").doc(t)
	options := map[string]string{}
	testid(d, "filter-reason").Find("option").Each(func(_ int, o *goquery.Selection) {
		options[o.AttrOr("value", "")] = o.Text()
	})
	for value, label := range map[string]string{"": "Any", store.FailureReasonNone: "No reason given",
		"CORRUPT_FILE": "CORRUPT_FILE", "TIMEOUT": "TIMEOUT (seen in history)"} {
		if options[value] != label {
			t.Errorf("option %q = %q, want %q (all: %v)", value, options[value], label, options)
		}
	}
	if got := testid(d, "filter-reason").Find("option[selected]").AttrOr("value", ""); got != "TIMEOUT" {
		t.Errorf("selected %q, want TIMEOUT", got)
	}
}

// TestTimeZoneCookie: times are written in the zone of the cookie app.js
// writes, and in UTC without it or with anything but a zone in it.
func TestTimeZoneCookie(t *testing.T) {
	now := time.Date(2026, 12, 6, 15, 4, 5, 0, time.UTC)
	for _, tc := range []struct{ cookie, want string }{
		{"", "UTC"}, {"UTC", "UTC"}, {"Europe/Berlin", "CET"}, {"Europe%2FBerlin", "CET"}, {"../../etc/passwd", "UTC"},
		{"Mars/Olympus_Mons", "UTC"}, {"Local", "UTC"}, {"%zz", "UTC"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.cookie != "" {
			req.AddCookie(&http.Cookie{Name: views.TimeZoneCookie, Value: tc.cookie})
		}
		if got := views.AbsoluteIn(now, TimeZoneOf(req)); !strings.HasSuffix(got, " "+tc.want) {
			t.Errorf("cookie %q: %q, want a time in %s", tc.cookie, got, tc.want)
		}
	}
	env := numbersEnv(t, now)
	u, _ := url.Parse(env.srv.URL)
	env.client.Jar.SetCookies(u, []*http.Cookie{{Name: views.TimeZoneCookie, Value: "Europe/Berlin", Path: "/"}})
	d := env.get("?ws=" + demoWS).doc(t)
	if note := testid(d, "history-note").Find("time").Text(); !strings.HasSuffix(note, " CET") {
		t.Errorf("history note time %q, want Berlin time", note)
	}
	if got := testid(d, "tz-select").First().Find("option[selected]").AttrOr("value", ""); got != "local" {
		t.Errorf("zone switch shows %q, want local", got)
	}
}
