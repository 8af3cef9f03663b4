package monitor

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// TestReconcilerSettlesRunsWhoseWebhookNeverCame: with a service key, a run
// left processing and unseen past StaleAfter is fetched and settled; a run
// seen recently, a synthetic one and a tenant without a service key cost no
// call; a 404 records the deletion; the batch bounds each sweep.
func TestReconcilerSettlesRunsWhoseWebhookNeverCame(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		now := testStart
		st := openStore(t, dsn, store.WithClock(func() time.Time { return now }))
		mon := New(st, NewMemoryBroker(), Options{Now: func() time.Time { return now }})
		seen := func(tenant, id string, ago time.Duration) {
			t.Helper()
			run := editRun(id, extendapi.StatusProcessing)
			run.CreatedAt = ptr(now.Add(-ago - time.Second))
			if _, err := st.UpsertRuns(ctx, tenant, []store.RunObservation{Observation(run, store.ViaList, now.Add(-ago))}); err != nil {
				t.Fatal(err)
			}
		}
		seen(tenantA, "edr_lost_webhook", 10*time.Minute)
		seen(tenantA, "edr_deleted", 9*time.Minute)
		seen(tenantA, "edr_still_busy", 8*time.Minute)
		seen(tenantA, "edr_just_seen", 30*time.Second)
		seen(tenantB, "edr_no_service_key", 10*time.Minute)
		if err := st.InsertSyntheticRuns(ctx, tenantA, []store.RunSnapshot{{RunID: "edr_seeded",
			RunFacts: store.RunFacts{Status: store.StatusProcessing, CreatedAt: now.Add(-time.Hour)}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SetServiceKey(ctx, tenantA, "sk_service", "grace"); err != nil {
			t.Fatal(err)
		}

		var asked []string
		var fetchers atomic.Int64
		rec, err := NewReconciler(st, mon, ReconcilerOptions{Batch: 2, Now: func() time.Time { return now },
			Fetcher: func(ctx context.Context, tenant string, n int) (RunFetcher, error) {
				if tenant != tenantA {
					t.Errorf("fetcher asked for %s, which has no service key", tenant)
				}
				fetchers.Add(1)
				return func(ctx context.Context, id string) (*extendapi.EditRun, error) {
					asked = append(asked, id)
					switch id {
					case "edr_deleted":
						return nil, &extendapi.APIError{StatusCode: http.StatusNotFound}
					case "edr_still_busy":
						r := editRun(id, extendapi.StatusProcessing)
						return &r, nil
					}
					r := editRun(id, extendapi.StatusProcessed)
					return &r, nil
				}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}

		rep, err := rec.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Asked != 2 || rep.Settled != 2 || len(asked) != 2 || asked[0] != "edr_lost_webhook" || asked[1] != "edr_deleted" {
			t.Fatalf("first sweep asked %v (report %+v), want the two least recently seen", asked, rep)
		}
		if r, _ := st.GetRun(ctx, tenantA, "edr_lost_webhook"); r.Status != store.StatusProcessed {
			t.Errorf("edr_lost_webhook is %s after reconciling, want PROCESSED", r.Status)
		}
		if r, _ := st.GetRun(ctx, tenantA, "edr_deleted"); !r.Deleted() {
			t.Error("a run Extend no longer has is not marked deleted")
		}

		asked = nil
		rep, _ = rec.RunOnce(ctx)
		if len(asked) != 1 || asked[0] != "edr_still_busy" || rep.Settled != 0 {
			t.Fatalf("second sweep asked %v (report %+v), want only edr_still_busy", asked, rep)
		}
		// A run just asked about is not asked again before StaleAfter.
		asked = nil
		if rep, _ = rec.RunOnce(ctx); len(asked) != 0 || fetchers.Load() != 2 {
			t.Fatalf("third sweep asked %v with %d fetchers, want nothing", asked, fetchers.Load())
		}
		now = now.Add(3 * time.Minute)
		asked = nil
		if rec.RunOnce(ctx); len(asked) != 2 || asked[0] != "edr_just_seen" || asked[1] != "edr_still_busy" {
			t.Fatalf("after StaleAfter, asked %v", asked)
		}
	})
}
