package upstream

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
)

// TestReconcilerWithServiceKey: a run history still shows processing (its
// webhook never came) is settled from the sandbox with the workspace's
// service key, with nobody logged in, and the use is audited.
func TestReconcilerWithServiceKey(t *testing.T) {
	env := newTestEnv(t, true)
	ctx := context.Background()
	cl := env.extend(t, demoKey, demoWS)
	page, err := cl.ListEditRuns(ctx, extendapi.ListEditRunsParams{Status: extendapi.StatusProcessed, MaxPageSize: 1})
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("a processed sandbox run: %v", err)
	}
	run := page.Data[0]
	stale := run
	stale.Status = extendapi.StatusProcessing
	if _, err := env.st.UpsertRuns(ctx, demoTenant, []store.RunObservation{
		monitor.Observation(stale, store.ViaWebhook, time.Now().Add(-10*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	mon := monitor.New(env.st, monitor.NewMemoryBroker(), monitor.Options{Logger: env.logger})
	rec, err := monitor.NewReconciler(env.st, mon, monitor.ReconcilerOptions{Fetcher: env.keys.ServiceKeyFetcher})
	if err != nil {
		t.Fatal(err)
	}

	// Without a service key nothing is asked.
	if rep, err := rec.RunOnce(ctx); err != nil || rep.Asked != 0 {
		t.Fatalf("without a service key: %+v %v", rep, err)
	}
	fp, err := env.st.SetServiceKey(ctx, demoTenant, demoKey, "grace")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := rec.RunOnce(ctx)
	if err != nil || rep.Asked != 1 || rep.Settled != 1 || rep.Errors != 0 {
		t.Fatalf("with a service key: %+v %v", rep, err)
	}
	if got, _ := env.st.GetRun(ctx, demoTenant, run.ID); got.Status != store.StatusProcessed || got.SeenVia != store.ViaReconcile {
		t.Errorf("run after reconciling: %s via %s, want PROCESSED via reconcile", got.Status, got.SeenVia)
	}
	uses, _, err := env.st.ListAudit(ctx, store.AuditFilter{Tenant: demoTenant, Action: AuditServiceKeyUse})
	if err != nil || len(uses) != 1 || uses[0].Target != fp || !strings.Contains(uses[0].Detail, "webhook never came") {
		t.Errorf("service key use audited as %+v (%v)", uses, err)
	}
	if strings.Contains(env.logs.String(), demoKey) {
		t.Error("the service key reached the log")
	}
}
