package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/sandbox"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// getWith fetches p with extra request headers (a Range, an If-Range).
func (env *testEnv) getWith(p string, header http.Header) response {
	env.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.url(p), nil)
	for k, v := range header {
		req.Header[k] = v
	}
	return env.do(req)
}

// fileBytes are a file's bytes as Extend's file store serves them,
// fetched around the dashboard: what the streaming route must relay.
func fileBytes(t *testing.T, env *testEnv, fileID string) string {
	t.Helper()
	f, err := env.extend(demoKey, demoWS).GetFile(context.Background(), fileID)
	if err != nil {
		t.Fatal(err)
	}
	r := env.get(f.PresignedURL)
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.body, "%PDF-") {
		t.Fatalf("file store: %d %q", r.StatusCode, r.body[:min(len(r.body), 40)])
	}
	return r.body
}

// viewAudits are the audit entries of views of runID.
func viewAudits(t *testing.T, env *testEnv, runID string) []store.AuditEntry {
	t.Helper()
	entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditView, Target: runID})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func runFilePath(runID, kind string) string {
	return views.RunFileURL(testBase, demoWS, runID, kind)
}

func TestRunFileStreamsThePDFWithRanges(t *testing.T) {
	for _, mode := range []struct {
		name    string
		sandbox bool
	}{{"external deployment", false}, {"embedded sandbox", true}} {
		t.Run(mode.name, func(t *testing.T) {
			env := seededEnv(t, envOptions{sandboxMode: mode.sandbox})
			run := findRun(t, env, extendapi.StatusProcessed)
			for _, file := range []struct {
				kind, fileID, audit string
			}{
				{views.FileEdited, run.Output.EditedFile.ID, "viewed edited file " + run.Output.EditedFile.ID},
				{views.FileInput, run.File.ID, "viewed input " + run.File.ID},
			} {
				want := fileBytes(t, env, file.fileID)
				path := runFilePath(run.ID, file.kind)

				full := env.get(path)
				if full.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d %s", file.kind, full.StatusCode, errorText(full))
				}
				if full.body != want {
					t.Errorf("%s: streamed %d bytes that differ from the file store's %d", file.kind, len(full.body), len(want))
				}
				gotHeaders := map[string]string{}
				for _, h := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options", "Accept-Ranges", "Content-Length"} {
					gotHeaders[h] = full.Header.Get(h)
				}
				wantHeaders := map[string]string{"Content-Type": "application/pdf", "Cache-Control": "no-store",
					"X-Content-Type-Options": "nosniff", "Accept-Ranges": "bytes", "Content-Length": strconv.Itoa(len(want))}
				if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
					t.Errorf("%s headers (-want +got):\n%s", file.kind, diff)
				}
				if cd := full.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline") {
					t.Errorf("%s: Content-Disposition %q, want inline", file.kind, cd)
				}
				if strings.Contains(full.Header.Get("Content-Security-Policy"), "object-src 'none'") {
					t.Errorf("%s: the PDF carries object-src 'none', which blocks the browser's viewer", file.kind)
				}

				lastModified := full.Header.Get("Last-Modified")
				if lastModified == "" {
					t.Fatalf("%s: no Last-Modified relayed, nothing to send in If-Range", file.kind)
				}
				n := len(want)
				ranges := []struct {
					header, ifRange string
					from, to        int // want[from:to]
				}{
					{"bytes=100-199", "", 100, 200},
					{"bytes=" + strconv.Itoa(n-50) + "-", "", n - 50, n},
					{"bytes=-10", "", n - 10, n},
					// A viewer's later request from byte 0, validated: not a new view.
					{"bytes=0-1023", lastModified, 0, 1024},
				}
				for _, rg := range ranges {
					h := http.Header{"Range": {rg.header}}
					if rg.ifRange != "" {
						h.Set("If-Range", rg.ifRange)
					}
					r := env.getWith(path, h)
					if r.StatusCode != http.StatusPartialContent {
						t.Fatalf("%s %s: %d %s", file.kind, rg.header, r.StatusCode, errorText(r))
					}
					if r.body != want[rg.from:rg.to] {
						t.Errorf("%s %s: %d bytes that are not the file's [%d:%d]", file.kind, rg.header, len(r.body), rg.from, rg.to)
					}
					wantRange := "bytes " + strconv.Itoa(rg.from) + "-" + strconv.Itoa(rg.to-1) + "/" + strconv.Itoa(n)
					if got := r.Header.Get("Content-Range"); got != wantRange {
						t.Errorf("%s %s: Content-Range %q, want %q", file.kind, rg.header, got, wantRange)
					}
				}
				if r := env.getWith(path, http.Header{"Range": {"bytes=" + strconv.Itoa(n+10) + "-"}}); r.StatusCode != http.StatusRequestedRangeNotSatisfiable {
					t.Errorf("%s: range past the end: %d, want 416", file.kind, r.StatusCode)
				}
			}
			// One view of each file, whatever the range requests after it.
			var details []string
			for _, e := range viewAudits(t, env, run.ID) {
				details = append(details, e.Detail)
			}
			want := []string{"viewed input " + run.File.ID, "viewed edited file " + run.Output.EditedFile.ID}
			if diff := cmp.Diff(want, details); diff != "" {
				t.Errorf("view audit (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunFileRefusals(t *testing.T) {
	env := seededEnv(t, envOptions{noRetry: true})
	env.connect(otherKey, otherWS)
	processed := findRun(t, env, extendapi.StatusProcessed)
	failed := findRun(t, env, extendapi.StatusFailed)
	tests := []struct {
		name    string
		path    string
		status  int
		heading string
	}{
		{"failed run has no edited PDF", runFilePath(failed.ID, views.FileEdited), http.StatusNotFound, "No edited PDF"},
		{"unknown kind", runFilePath(processed.ID, "original"), http.StatusNotFound, "No such file"},
		{"not a run ID", runFilePath("nope", views.FileEdited), http.StatusNotFound, "Run not found"},
		{"another workspace's run", views.RunFileURL(testBase, otherWS, processed.ID, views.FileEdited), http.StatusNotFound, ""},
		{"a workspace not connected", views.RunFileURL(testBase, "ws_elsewhere", processed.ID, views.FileEdited), http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.get(tt.path)
			if r.StatusCode != tt.status {
				t.Fatalf("%d %s, want %d", r.StatusCode, errorText(r), tt.status)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q, want an error page", ct)
			}
			if !strings.Contains(errorText(r), tt.heading) {
				t.Errorf("page %q does not say %q", errorText(r), tt.heading)
			}
		})
	}
	if got := viewAudits(t, env, processed.ID); len(got) != 0 {
		t.Errorf("refused views were audited: %v", got)
	}
}

func TestRunFileWhenExtendOrTheFileStoreFails(t *testing.T) {
	env := seededEnv(t, envOptions{noRetry: true})
	run := findRun(t, env, extendapi.StatusProcessed)
	path := runFilePath(run.ID, views.FileEdited)
	want := fileBytes(t, env, run.Output.EditedFile.ID)

	env.sb.SetFaults(sandbox.Faults{Rate5xx: 1})
	r := env.get(path)
	env.sb.SetFaults(sandbox.Faults{})
	if r.StatusCode != http.StatusBadGateway || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("Extend 5xx: %d %q, want a 502 page", r.StatusCode, r.Header.Get("Content-Type"))
	}

	// Fill the cache, then spoil what it holds.
	if r := env.get(path); r.StatusCode != http.StatusOK || r.body != want {
		t.Fatalf("view: %d %s", r.StatusCode, errorText(r))
	}
	spoil := func(rewrite func(string) string) {
		env.app.presigned.mu.Lock()
		defer env.app.presigned.mu.Unlock()
		if len(env.app.presigned.entries) == 0 {
			t.Fatal("nothing cached after a view")
		}
		for k, e := range env.app.presigned.entries {
			e.url = rewrite(e.url)
			env.app.presigned.entries[k] = e
		}
	}

	// An expired or tampered URL: the file store answers 403, the route
	// asks Extend for a fresh one, once.
	spoil(func(u string) string { return strings.Replace(u, "signature=", "signature=00", 1) })
	if r := env.getWith(path, http.Header{"Range": {"bytes=10-19"}}); r.StatusCode != http.StatusPartialContent || r.body != want[10:20] {
		t.Errorf("after a refused URL: %d %q, want 206 with the file's bytes", r.StatusCode, r.body)
	}

	// The file store itself down.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "store down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	spoil(func(string) string { return down.URL + "/blob" })
	r = env.getWith(path, http.Header{"Range": {"bytes=10-19"}})
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(errorText(r), "File store unavailable") {
		t.Errorf("file store down: %d %s", r.StatusCode, errorText(r))
	}
	// The file store unreachable: nothing listens there any more.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	spoil(func(string) string { return gone.URL + "/blob" })
	r = env.get(path)
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(errorText(r), "File store unreachable") {
		t.Errorf("file store unreachable: %d %s", r.StatusCode, errorText(r))
	}
	if got := len(viewAudits(t, env, run.ID)); got != 1 {
		t.Errorf("%d view audits, want 1 (the one view that worked)", got)
	}
}

func TestRunFileViewerRoleMayView(t *testing.T) {
	env := newTestEnv(t, envOptions{seed: true, identity: middleware.IdentityConfig{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		IdentityHeader: "X-Forwarded-Email", GroupsHeader: "X-Forwarded-Groups",
		AdminGroups: []string{"ops"}, ViewerGroups: []string{"audit"},
	}})
	env.headers = http.Header{"X-Forwarded-Email": {"vic@example.com"}, "X-Forwarded-Groups": {"audit"}}
	env.connect(demoKey, demoWS)
	run := findRun(t, env, extendapi.StatusProcessed)
	r := env.get(runFilePath(run.ID, views.FileEdited))
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.body, "%PDF-") {
		t.Fatalf("viewer: %d %s", r.StatusCode, errorText(r))
	}
	entries := viewAudits(t, env, run.ID)
	if len(entries) != 1 || entries[0].Actor != "vic@example.com" {
		t.Errorf("view audit: %+v, want one entry by vic@example.com", entries)
	}
}

func TestPresignedCacheKeepsURLsForTheirValidity(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key := func(i int) presignedKey {
		return presignedKey{tenant: "t", runID: "edr_" + strconv.Itoa(i), kind: views.FileEdited}
	}
	tests := []struct {
		name  string
		after time.Duration
		found bool
	}{
		{"just fetched", 0, true},
		{"still valid", presignedKeep - time.Second, true},
		{"expired", presignedKeep, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pc presignedCache
			pc.put(key(0), presignedFile{url: "u", expires: start.Add(presignedKeep)}, start)
			if _, ok := pc.get(key(0), start.Add(tt.after)); ok != tt.found {
				t.Errorf("found = %v, want %v", ok, tt.found)
			}
		})
	}
	var pc presignedCache
	for i := range presignedCacheSize + 10 {
		pc.put(key(i), presignedFile{url: "u", expires: start.Add(presignedKeep)}, start)
	}
	if len(pc.entries) > presignedCacheSize {
		t.Errorf("%d entries, want at most %d", len(pc.entries), presignedCacheSize)
	}
	if _, ok := pc.get(key(presignedCacheSize+9), start); !ok {
		t.Error("the newest entry was dropped")
	}
}

// The run page of a processed run links both PDFs to the streaming route,
// each in a new tab; a failed run's page offers no edited PDF.
func TestRunPageLinksToTheStreamedPDFs(t *testing.T) {
	env := seededEnv(t, envOptions{})
	processed := findRun(t, env, extendapi.StatusProcessed)
	failed := findRun(t, env, extendapi.StatusFailed)
	type link struct{ Href, Target, Rel string }
	tests := []struct {
		name string
		run  *extendapi.EditRun
		want map[string]link
	}{
		{"processed", processed, map[string]link{
			"action-view-edited": {runFilePath(processed.ID, views.FileEdited), "_blank", "noopener"},
			"action-view-input":  {runFilePath(processed.ID, views.FileInput), "_blank", "noopener"},
		}},
		{"failed", failed, map[string]link{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := env.get("runs/" + tt.run.ID + "?ws=" + demoWS)
			if page.StatusCode != http.StatusOK {
				t.Fatalf("run page: %d %s", page.StatusCode, errorText(page))
			}
			d := page.doc(t)
			got := map[string]link{}
			for _, id := range []string{"action-view-edited", "action-view-input"} {
				testid(d, id).Each(func(_ int, s *goquery.Selection) {
					got[id] = link{s.AttrOr("href", ""), s.AttrOr("target", ""), s.AttrOr("rel", "")}
				})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("view links (-want +got):\n%s", diff)
			}
			for id, l := range got {
				if r := env.get(l.Href); r.StatusCode != http.StatusOK || !strings.HasPrefix(r.body, "%PDF-") {
					t.Errorf("%s → %s: %d %s", id, l.Href, r.StatusCode, errorText(r))
				}
			}
		})
	}
}

// A run deleted through Editwatch is not served from URLs kept for it: the
// input file outlives the run in Extend's file store.
func TestRunFileForgetsADeletedRun(t *testing.T) {
	env := seededEnv(t, envOptions{})
	run := findRun(t, env, extendapi.StatusProcessed)
	for _, kind := range []string{views.FileInput, views.FileEdited} {
		if r := env.get(runFilePath(run.ID, kind)); r.StatusCode != http.StatusOK {
			t.Fatalf("%s before the delete: %d %s", kind, r.StatusCode, errorText(r))
		}
	}
	done := env.post("runs/"+run.ID+"/delete?ws="+demoWS, url.Values{views.ConfirmField: {"1"}})
	if done.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", done.StatusCode, errorText(done))
	}
	for _, kind := range []string{views.FileInput, views.FileEdited} {
		if r := env.get(runFilePath(run.ID, kind)); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s of the deleted run: %d %s, want 404", kind, r.StatusCode, errorText(r))
		}
	}
}
