package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var searchNames = []string{"W9-Acme-Corp.pdf", "i9_globex.pdf", "lease-initech-2026.pdf", "100%_done.pdf", "acme_w4.pdf", "Ünïcode-form.pdf"}

// searchFixture fills two tenants with the same kind of runs (tenant B by
// the bulk path) and returns every run of tenant A, newest first.
func searchFixture(t *testing.T, s *Store) []RunSnapshot {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	statuses := []string{StatusProcessed, StatusProcessed, StatusFailed, StatusProcessing}
	make1 := func(i int, prefix string) RunObservation {
		o := RunObservation{RunID: fmt.Sprintf("%s%03d", prefix, i), RunFacts: RunFacts{
			Status: statuses[rng.IntN(len(statuses))], FileName: searchNames[rng.IntN(len(searchNames))],
			Source: []string{"API", "STUDIO"}[rng.IntN(2)], CreatedAt: testStart.Add(time.Duration(i) * time.Minute),
		}, Via: ViaBackfill}
		if o.Status == StatusFailed {
			o.FailureReason = []string{"CORRUPT_FILE", "INTERNAL_ERROR"}[rng.IntN(2)]
		}
		return o
	}
	var obs []RunObservation
	var bulk []RunSnapshot
	for i := range 120 {
		// Some runs share a minute, so the cursor's tie-break on ID matters.
		o := make1(i-i%3, "edr_a"+string(rune('a'+i%4)))
		o.RunID += fmt.Sprint(i)
		obs = append(obs, o)
		b := make1(i, "edr_b")
		bulk = append(bulk, RunSnapshot{RunID: b.RunID, RunFacts: b.RunFacts})
	}
	if _, err := s.UpsertRuns(ctx, tenantA, obs); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertSyntheticRuns(ctx, tenantB, bulk); err != nil {
		t.Fatal(err)
	}
	all, err := s.scanRuns(ctx, `SELECT `+snapshotColumns+` FROM run_snapshots WHERE tenant = ? ORDER BY at DESC, id DESC`, tenantA)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// bruteFilter is ListRuns' meaning, spelled out.
func bruteFilter(all []RunSnapshot, f RunFilter) []string {
	var ids []string
	for _, r := range all {
		switch {
		case r.Deleted(),
			f.Status != "" && r.Status != f.Status,
			f.FailureReason != "" && r.FailureReason != f.FailureReason,
			!f.From.IsZero() && r.At.Before(f.From),
			!f.To.IsZero() && !r.At.Before(f.To),
			f.Source != "" && r.Source != f.Source,
			f.FileName != "" && !strings.Contains(asciiLower(r.FileName), asciiLower(f.FileName)),
			!strings.HasPrefix(r.RunID, f.RunIDPrefix):
			continue
		}
		ids = append(ids, r.RunID)
	}
	return ids
}

// asciiLower folds like SQLite's LIKE (ASCII only); the fixture's
// non-ASCII names are searched with their exact case.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestListRunsFiltersSearchAndPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn)
		all := searchFixture(t, s)
		filters := []struct {
			name string
			f    RunFilter
		}{
			{"all", RunFilter{}},
			{"status", RunFilter{Status: StatusFailed}},
			{"reason", RunFilter{FailureReason: "CORRUPT_FILE"}},
			{"range", RunFilter{From: testStart.Add(20 * time.Minute), To: testStart.Add(70 * time.Minute)}},
			{"source", RunFilter{Source: "STUDIO"}},
			{"file name, any case", RunFilter{FileName: "ACME"}},
			{"file name, middle", RunFilter{FileName: "nitech-20"}},
			{"file name, like metacharacters", RunFilter{FileName: "100%_"}},
			{"file name, underscore is literal", RunFilter{FileName: "i9_g"}},
			{"file name, short", RunFilter{FileName: "w4"}},
			{"file name, unicode", RunFilter{FileName: "Ünïcode"}},
			{"file name, nothing", RunFilter{FileName: "zzz"}},
			{"id prefix", RunFilter{RunIDPrefix: "edr_ab"}},
			{"id prefix, exact", RunFilter{RunIDPrefix: "edr_ac0002"}},
			{"id prefix and name and status", RunFilter{RunIDPrefix: "edr_a", FileName: "pdf", Status: StatusProcessed}},
		}
		for _, window := range []int{searchWindow, 7} {
			for _, tt := range filters {
				t.Run(fmt.Sprintf("%s/window %d", tt.name, window), func(t *testing.T) {
					defer func(w int) { searchWindow = w }(searchWindow)
					searchWindow = window // 7 drives searches to the index
					f := tt.f
					f.Tenant, f.Limit = tenantA, 9
					var got []string
					for pages := 0; ; pages++ {
						page, err := s.ListRuns(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						if len(page.Runs) > 9 || pages > 30 {
							t.Fatalf("page of %d runs, or too many pages", len(page.Runs))
						}
						got = append(got, runIDs(page.Runs)...)
						if page.NextCursor == "" {
							break
						}
						f.Cursor = page.NextCursor
					}
					want := bruteFilter(all, tt.f)
					if len(want) == 0 && tt.name != "file name, nothing" {
						t.Fatalf("fixture has no run for %+v", tt.f)
					}
					if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })); diff != "" {
						t.Fatalf("(-want +got):\n%s", diff)
					}
				})
			}
		}
		if _, err := s.ListRuns(ctx, RunFilter{Tenant: tenantA, Cursor: "nonsense"}); !errors.Is(err, ErrInvalidCursor) {
			t.Fatalf("bad cursor: %v, want ErrInvalidCursor", err)
		}
	})
}

// TestTenantIsolation: two tenants with runs at the same times, of the same
// names and statuses, never see each other's runs in any list, search,
// count or rollup.
func TestTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn)
		searchFixture(t, s)
		for _, tc := range []struct{ tenant, prefix, other string }{{tenantA, "edr_a", "edr_b"}, {tenantB, "edr_b", "edr_a"}} {
			for _, f := range []RunFilter{{}, {FileName: "acme"}, {RunIDPrefix: tc.other}, {Status: StatusFailed}, {FileName: "w4"}} {
				f.Tenant, f.Limit = tc.tenant, MaxRunLimit
				for _, window := range []int{searchWindow, 3} {
					searchWindow, window = window, searchWindow
					page, err := s.ListRuns(ctx, f)
					searchWindow = window
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range page.Runs {
						if r.Tenant != tc.tenant || !strings.HasPrefix(r.RunID, tc.prefix) {
							t.Fatalf("%s listing %+v got %s of %s", tc.tenant, f, r.RunID, r.Tenant)
						}
					}
				}
			}
			counts, err := s.CountRuns(ctx, tc.tenant, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if counts.Total != 120 {
				t.Errorf("%s counts %d runs, want its own 120", tc.tenant, counts.Total)
			}
			series, err := s.RunSeries(ctx, SeriesQuery{Tenant: tc.tenant, From: testStart, To: testStart.Add(3 * time.Hour), Step: 3 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := series.Total.Finished(), counts.Total-counts.ByStatus[StatusProcessing]; got != want {
				t.Errorf("%s rollups count %d finished runs, want %d", tc.tenant, got, want)
			}
		}
		if _, err := s.ListRuns(ctx, RunFilter{}); err == nil {
			t.Fatal("ListRuns without a tenant succeeded")
		}
	})
}

func TestPrefixUpperBound(t *testing.T) {
	for _, tt := range []struct{ in, want string }{{"edr_a", "edr_b"}, {"a\U0010FFFF", "b"}, {"\U0010FFFF", ""}, {"ab\uD7FF", "ab\uE000"}} {
		got, _ := prefixUpperBound(tt.in)
		if got != tt.want {
			t.Errorf("prefixUpperBound(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
