package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// zoneRangeEnv is a dashboard whose clock stops at now, connected to the
// demo workspace, with failed runs (reason TIMEOUT, IDs edr_tz…) created
// at the given instants and the history marked synced.
func zoneRangeEnv(t *testing.T, now time.Time, runs map[string]time.Time) *testEnv {
	t.Helper()
	env := newTestEnv(t, envOptions{}).withOptions(func(o *Options) {
		o.Now = func() time.Time { return now }
		o.RateLimits.Pages = middleware.RateLimit{Rate: 1e6, Burst: 1e6}
	})
	env.connect(demoKey, demoWS)
	var snaps []store.RunSnapshot
	for id, at := range runs {
		snaps = append(snaps, store.RunSnapshot{RunID: id, RunFacts: store.RunFacts{
			Status: store.StatusFailed, FailureReason: "TIMEOUT", FileName: "w9.pdf", Source: "API", CreatedAt: at, UpdatedAt: at}})
	}
	ctx := context.Background()
	if err := env.st.InsertSyntheticRuns(ctx, demoTenant, snaps); err != nil {
		t.Fatal(err)
	}
	if err := env.st.MarkTenantSynced(ctx, demoTenant, now); err != nil {
		t.Fatal(err)
	}
	return env
}

// setZoneCookie sets the zone switch's cookie as app.js does (its value
// URI-encoded); "" removes it, as for someone who never touched the
// switch.
func setZoneCookie(t *testing.T, env *testEnv, zone string) {
	t.Helper()
	u, err := url.Parse(env.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Cookie{Name: views.TimeZoneCookie, Value: url.QueryEscape(zone), Path: "/"}
	if zone == "" {
		c.MaxAge = -1
	}
	env.client.Jar.SetCookies(u, []*http.Cookie{c})
}

// submitRange is the URL a browser goes to when the form holding the
// element with test id fromID is submitted with from and to typed in and
// its range select (if any) on custom.
func submitRange(t *testing.T, d *goquery.Document, fromID, from, to string) string {
	t.Helper()
	form := testid(d, fromID).Closest("form")
	if form.Length() != 1 {
		t.Fatalf("no form around %s", fromID)
	}
	q := url.Values{}
	form.Find("input[name], select[name]").Each(func(_ int, s *goquery.Selection) {
		name := s.AttrOr("name", "")
		switch {
		case goquery.NodeName(s) == "select":
			q.Set(name, s.Find("option[selected]").AttrOr("value", ""))
		case s.AttrOr("type", "") == "checkbox":
			if _, on := s.Attr("checked"); on {
				q.Add(name, s.AttrOr("value", "on"))
			}
		default:
			q.Add(name, s.AttrOr("value", ""))
		}
	})
	q.Set(views.ParamRange, views.RangeCustom)
	q.Set(views.ParamFrom, from)
	q.Set(views.ParamTo, to)
	action := form.AttrOr("action", "")
	if i := strings.IndexByte(action, '?'); i >= 0 {
		aq, _ := url.ParseQuery(action[i+1:])
		for k, v := range aq {
			if !q.Has(k) {
				q[k] = v
			}
		}
		action = action[:i]
	}
	return action + "?" + q.Encode()
}

// listedIDs are the run IDs of a runs list page.
func listedIDs(t *testing.T, env *testEnv, link string) []string {
	t.Helper()
	r := env.get(link)
	if r.StatusCode != 200 {
		t.Fatalf("%s: %d %s", link, r.StatusCode, errorText(r))
	}
	var ids []string
	testid(r.doc(t), "run-row").Each(func(_ int, s *goquery.Selection) { ids = append(ids, s.AttrOr("data-run-id", "")) })
	slices.Sort(ids)
	return ids
}

// TestCustomRangeInChosenZone: a person who chose local time (Berlin,
// UTC+2 in July) types a custom range as Berlin wall time; the runs just
// inside its edges are listed and those just outside are not, the inputs
// come back in Berlin time under labels naming the zone, and the URL,
// opened by someone with no zone chosen or in another zone, means the
// same instants.
func TestCustomRangeInChosenZone(t *testing.T) {
	now := time.Date(2026, 7, 16, 12, 0, 0, 0, time.UTC)
	// 09:00–10:00 in Berlin is 07:00–08:00 UTC; the range is [from, to).
	runs := map[string]time.Time{
		"edr_tz_before":     time.Date(2026, 7, 15, 6, 59, 59, 999e6, time.UTC),
		"edr_tz_first":      time.Date(2026, 7, 15, 7, 0, 0, 0, time.UTC),
		"edr_tz_last":       time.Date(2026, 7, 15, 7, 59, 59, 999e6, time.UTC),
		"edr_tz_after":      time.Date(2026, 7, 15, 8, 0, 0, 0, time.UTC),
		"edr_tz_utcreading": time.Date(2026, 7, 15, 9, 30, 0, 0, time.UTC), // inside if 09:00–10:00 were read as UTC
	}
	want := []string{"edr_tz_first", "edr_tz_last"}
	env := zoneRangeEnv(t, now, runs)
	setZoneCookie(t, env, "Europe/Berlin")

	form := env.get("runs?ws=" + demoWS + "&" + views.ParamRunID + "=edr_tz").doc(t)
	if got := testid(form, "filter-from").Closest("div").Find("label").Text(); got != "From (Europe/Berlin)" {
		t.Errorf("runs list from label %q, want From (Europe/Berlin)", got)
	}
	shared := submitRange(t, form, "filter-from", "2026-07-15T09:00", "2026-07-15T10:00")
	if u, _ := url.Parse(shared); u.Query().Get(views.ParamZone) != "Europe/Berlin" {
		t.Fatalf("the form does not say its zone: %s", shared)
	}
	if got := listedIDs(t, env, shared); !slices.Equal(got, want) {
		t.Errorf("Berlin 09:00–10:00 lists %v, want %v", got, want)
	}
	d := env.get(shared).doc(t)
	for id, value := range map[string]string{"filter-from": "2026-07-15T09:00", "filter-to": "2026-07-15T10:00"} {
		if got := testid(d, id).AttrOr("value", ""); got != value {
			t.Errorf("%s shows %q, want the Berlin wall time %q", id, got, value)
		}
	}
	for label, want := range map[string]string{"filter-from": "From (Europe/Berlin)", "filter-to": "To (Europe/Berlin)"} {
		if got := testid(d, label).Closest("div").Find("label").Text(); got != want {
			t.Errorf("label %q, want %q", got, want)
		}
	}
	// A link built from the range (a status chip) means the same runs.
	chip := testid(d, "status-count").First().AttrOr("href", "")
	if u, _ := url.Parse(chip); u.Query().Get(views.ParamFrom) != "2026-07-15T07:00" || u.Query().Has(views.ParamZone) {
		t.Errorf("chip link %s: want the bounds in UTC and no zone", chip)
	}
	if got := listedIDs(t, env, chip); !slices.Equal(got, want) {
		t.Errorf("status chip %s lists %v, want %v", chip, got, want)
	}

	// The overview and the failures page read their custom range the same
	// way, show it in Berlin time, and count the same runs.
	overview := env.get("?ws=" + demoWS).doc(t)
	if got := testid(overview, "range-from").Closest("div").Find("label").Text(); got != "From (Europe/Berlin)" {
		t.Errorf("overview from label %q", got)
	}
	failuresLink := submitRange(t, env.get("failures?ws="+demoWS).doc(t), "range-from", "2026-07-15T09:00", "2026-07-15T10:00")
	f := env.get(failuresLink).doc(t)
	if got := strings.TrimSpace(testid(f, "group-count").Text()); !strings.HasPrefix(got, "2 ") {
		t.Errorf("failures over Berlin 09:00–10:00: %q, want 2 runs", got)
	}
	if got := testid(f, "range-from").AttrOr("value", ""); got != "2026-07-15T09:00" {
		t.Errorf("failures range-from shows %q", got)
	}
	if got := testid(f, "range-label").Text(); got != "2026-07-15 09:00 – 2026-07-15 10:00 Europe/Berlin" {
		t.Errorf("failures range label %q", got)
	}
	groupRuns := testid(f, "group-runs-link").AttrOr("href", "")
	if got := listedIDs(t, env, groupRuns); !slices.Equal(got, want) {
		t.Errorf("the group's runs link %s lists %v, want %v", groupRuns, got, want)
	}

	// Shared: whoever opens the link sees the same runs, written in their
	// own zone.
	for _, tc := range []struct{ cookie, label, from, to string }{
		{"", "UTC", "2026-07-15T07:00", "2026-07-15T08:00"},
		{"Asia/Tokyo", "Asia/Tokyo", "2026-07-15T16:00", "2026-07-15T17:00"},
	} {
		setZoneCookie(t, env, tc.cookie)
		if got := listedIDs(t, env, shared); !slices.Equal(got, want) {
			t.Errorf("cookie %q: the shared link lists %v, want %v", tc.cookie, got, want)
		}
		d := env.get(shared).doc(t)
		if got := testid(d, "filter-from").AttrOr("value", ""); got != tc.from {
			t.Errorf("cookie %q: from shows %q, want %q", tc.cookie, got, tc.from)
		}
		if got := testid(d, "filter-to").AttrOr("value", ""); got != tc.to {
			t.Errorf("cookie %q: to shows %q, want %q", tc.cookie, got, tc.to)
		}
		if got := testid(d, "filter-from").Closest("div").Find("label").Text(); got != "From ("+tc.label+")" {
			t.Errorf("cookie %q: label %q", tc.cookie, got)
		}
		hidden := d.Find(`input[type="hidden"][name="` + views.ParamZone + `"]`)
		if tc.cookie == "" && hidden.Length() != 0 {
			t.Errorf("no zone chosen, yet the form sends zone %q", hidden.AttrOr("value", ""))
		}
		if tc.cookie != "" && hidden.AttrOr("value", "") != tc.cookie {
			t.Errorf("cookie %q: the form sends zone %q", tc.cookie, hidden.AttrOr("value", ""))
		}
	}

	// Links made before the form knew zones carry none: they stay UTC.
	if got := listedIDs(t, env, "runs?ws="+demoWS+"&range=custom&from=2026-07-15T09:00&to=2026-07-15T10:00"); !slices.Equal(got, []string{"edr_tz_utcreading"}) {
		t.Errorf("a link without a zone lists %v, want the runs of 09:00–10:00 UTC", got)
	}
}

// TestCustomRangeUnreadable: a zone or a time the dashboard cannot read
// shows the page over its default range with a message saying why, never
// an error page; wall times a DST change skips or repeats still make a
// range.
func TestCustomRangeUnreadable(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	env := zoneRangeEnv(t, now, map[string]time.Time{"edr_tz_one": now.Add(-time.Hour)})
	setZoneCookie(t, env, "Europe/Berlin")
	for _, tc := range []struct{ name, query, says string }{
		{"unknown zone", "from=2026-11-01T09:00&to=2026-11-01T10:00&zone=Mars/Olympus_Mons", `"Mars/Olympus_Mons"`},
		{"not a zone name", "from=2026-11-01T09:00&zone=../../etc/passwd", "does not know"},
		{"server's zone", "from=2026-11-01T09:00&zone=Local", `"Local"`},
		{"bad from", "from=yesterday&to=2026-11-01T10:00&zone=Europe/Berlin", `"yesterday"`},
		{"bad to", "from=2026-11-01T09:00&to=2026-13-01T10:00", "To"},
		{"no bounds", "zone=Europe/Berlin", "needs a From or a To"},
		{"backwards", "from=2026-11-01T10:00&to=2026-11-01T09:00&zone=Europe/Berlin", "To must be after From"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for page, fallback := range map[string]string{"": "range-24h", "failures": "range-7d"} {
				r := env.get(page + "?ws=" + demoWS + "&range=custom&" + tc.query)
				if r.StatusCode != 200 {
					t.Fatalf("%q: %d %s", page, r.StatusCode, errorText(r))
				}
				d := r.doc(t)
				if msg := testid(d, "range-invalid").Text(); !strings.Contains(msg, tc.says) || !strings.Contains(msg, "instead") {
					t.Errorf("%q says %q, want it to mention %s and what it shows instead", page, msg, tc.says)
				}
				if _, current := testid(d, fallback).Attr("aria-current"); !current {
					t.Errorf("%q: not on its default range %s", page, fallback)
				}
			}
			r := env.get("runs?ws=" + demoWS + "&range=custom&" + tc.query)
			if r.StatusCode != 200 {
				t.Fatalf("runs: %d %s", r.StatusCode, errorText(r))
			}
			if msg := testid(r.doc(t), "range-invalid").Text(); !strings.Contains(msg, "all time") {
				t.Errorf("runs list says %q, want it to show all time instead", msg)
			}
		})
	}
	// 2026-03-29 02:30 does not exist in Berlin, 2026-10-25 02:30 exists
	// twice: either way the page shows a range, in Berlin time.
	for _, q := range []string{
		"from=2026-03-29T02:30&to=2026-03-29T04:00", "from=2026-03-28T23:00&to=2026-03-29T02:30",
		"from=2026-10-25T02:30&to=2026-10-25T04:00", "from=2026-10-25T01:00&to=2026-10-25T02:30",
	} {
		for _, page := range []string{"", "failures", "runs"} {
			r := env.get(page + "?ws=" + demoWS + "&range=custom&zone=Europe/Berlin&" + q)
			if r.StatusCode != 200 {
				t.Fatalf("%q %s: %d %s", page, q, r.StatusCode, errorText(r))
			}
			d := r.doc(t)
			if msg := testid(d, "range-invalid").Text(); msg != "" {
				t.Errorf("%q %s: %q", page, q, msg)
			}
			from := d.Find(`input[name="`+views.ParamFrom+`"]`).AttrOr("value", "")
			if _, err := time.Parse(views.DateTimeLayout, from); err != nil {
				t.Errorf("%q %s: from shows %q", page, q, from)
			}
		}
	}
}

// TestParseTimeRangeZone: the zone parameter decides how wall times are
// read; RFC 3339 bounds carry their own offset; From and To go on in UTC.
func TestParseTimeRangeZone(t *testing.T) {
	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query, from, to string
		start, end      time.Time
	}{
		{"from=2026-12-06T09:00&to=2026-12-06T10:00", "2026-12-06T09:00", "2026-12-06T10:00",
			time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)},
		{"from=2026-12-06T09:00&to=2026-12-06T10:00&zone=Europe/Berlin", "2026-12-06T08:00", "2026-12-06T09:00",
			time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC), time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)},
		{"from=2026-12-06T09:00:30.250&to=2026-12-06T10:00&zone=America/St_Johns", "2026-12-06T12:30:30.25", "2026-12-06T13:30",
			time.Date(2026, 12, 6, 12, 30, 30, 250e6, time.UTC), time.Date(2026, 12, 6, 13, 30, 0, 0, time.UTC)},
		{"from=2026-12-06T09:00:00%2B05:00&to=2026-12-06T10:00&zone=Europe/Berlin", "2026-12-06T04:00", "2026-12-06T09:00",
			time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC), time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)},
	} {
		q, _ := url.ParseQuery("range=custom&" + tc.query)
		r := parseTimeRange(q, now, views.RangeDay, true)
		if r.Invalid != "" || r.From != tc.from || r.To != tc.to || !r.Start.Equal(tc.start) || !r.End.Equal(tc.end) {
			t.Errorf("%s: %+v, want %s–%s (%s–%s)", tc.query, r, tc.from, tc.to, tc.start, tc.end)
		}
	}
}
