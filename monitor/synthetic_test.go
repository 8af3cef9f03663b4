package monitor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

func TestSeedWritesRealisticSyntheticHistory(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, storetest.SQLiteDSN(t))
	end := testStart.Add(30 * 24 * time.Hour)
	var progress []int
	rep, err := Seed(ctx, st, "sandbox/ws_demo", SeedOptions{Runs: 5000, Days: 30, End: end, RandomSeed: 42, Batch: 2000,
		Progress: func(n int) { progress = append(progress, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Runs != 5000 || rep.Processing != seedRecentProcessing+seedStuckProcessing || rep.Failed < 300 || rep.Failed > 700 {
		t.Fatalf("report %+v", rep)
	}
	if len(progress) != 3 || progress[2] != 5000 {
		t.Fatalf("progress %v", progress)
	}
	tenant, err := st.GetTenant(ctx, "sandbox/ws_demo")
	if err != nil || !tenant.HistorySynthetic || tenant.HistoryFromExtend || tenant.WorkspaceID != "ws_demo" {
		t.Fatalf("tenant %+v %v", tenant, err)
	}
	counts, err := st.CountRuns(ctx, "sandbox/ws_demo", end.Add(-31*24*time.Hour), end.Add(time.Hour))
	if err != nil || counts.Total != 5000 || counts.ByStatus[store.StatusProcessing] != 16 {
		t.Fatalf("counts %+v %v", counts, err)
	}
	series, err := st.RunSeries(ctx, store.SeriesQuery{Tenant: "sandbox/ws_demo", From: end.Add(-30 * 24 * time.Hour), To: end, Step: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	total := series.Total
	if p50 := total.Processing().P50(); p50 < 6000 || p50 > 15000 {
		t.Errorf("p50 processing %.0f ms, want about 9 s", p50)
	}
	if len(total.Failures) < 8 || total.Credits <= 0 || total.FillRatio() < 0.7 || total.FillRatio() > 1 {
		t.Errorf("failures by %d reasons, credits %.0f, fill ratio %.2f", len(total.Failures), total.Credits, total.FillRatio())
	}
	for _, metric := range []int{store.MetricDetection, store.MetricAnnotation, store.MetricFilling} {
		if total.Timings[metric].Count() != total.Runs[store.StatusProcessed] {
			t.Errorf("metric %d timed %d runs of %d", metric, total.Timings[metric].Count(), total.Runs[store.StatusProcessed])
		}
	}
	// The incident shows: a few hours failing far more than the rest.
	incident := end.Add(-30 * 24 * time.Hour / 5).Truncate(time.Hour)
	during, err := st.RunTotal(ctx, "sandbox/ws_demo", incident, incident.Add(seedIncidentHours*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rate, usual := 1-during.SuccessRate(), 1-total.SuccessRate(); during.Finished() < 5 || rate < 0.3 || usual > 0.15 {
		t.Errorf("incident: %d runs failing %.0f%%, usually %.0f%%", during.Finished(), rate*100, usual*100)
	}
	stuck, err := st.StuckThreshold(ctx, "sandbox/ws_demo", end)
	if err != nil {
		t.Fatal(err)
	}
	page, err := st.ListRuns(ctx, store.StuckFilter("sandbox/ws_demo", end, stuck))
	if err != nil || len(page.Runs) != seedStuckProcessing {
		t.Fatalf("stuck runs %d (threshold %s), %v", len(page.Runs), stuck, err)
	}
	page, err = st.ListRuns(ctx, store.RunFilter{Tenant: "sandbox/ws_demo", FileName: "acme", Limit: 5})
	if err != nil || len(page.Runs) != 5 {
		t.Fatalf("search: %v", err)
	}
	for _, r := range page.Runs {
		if !r.Synthetic || !strings.Contains(r.FileName, "acme") || !strings.HasPrefix(r.RunID, "edr_") || len(r.RunID) != 26 {
			t.Fatalf("seeded run %+v", r)
		}
	}
	if _, err := st.ProofRunIDs(ctx, "sandbox/ws_demo", 1); err == nil {
		t.Fatal("a synthetic run serves as proof")
	}
}
