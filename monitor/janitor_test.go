package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

func TestJanitorPurgesPastRetention(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clock := storetest.NewClock(testStart)
		st := openStore(t, dsn, store.WithClock(clock.Now))
		m := New(st, nil, Options{Now: clock.Now})
		ep, _ := st.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{Tenant: tenantA, CreatedBy: "ada"})
		ingestOld := func(id string) {
			if _, err := m.Ingest(ctx, tenantA, store.ViaRun, editRun(id, extendapi.StatusProcessed)); err != nil {
				t.Fatal(err)
			}
			if _, err := m.ReceiveWebhook(ctx, ep.ID, webhookEvent(t, "evt_"+id, extendapi.EventEditRunProcessed, editRun(id, extendapi.StatusProcessed))); err != nil {
				t.Fatal(err)
			}
			if _, err := st.AppendAudit(ctx, store.AuditEntry{Actor: "ada", Action: store.AuditDownload, Tenant: tenantA, Target: id}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateSession(ctx, "ada", nil, store.SessionLifetime{Idle: time.Hour, Max: 4 * time.Hour}); err != nil {
				t.Fatal(err)
			}
			if err := st.RecordRerun(ctx, tenantA, id+"_rerun", id); err != nil {
				t.Fatal(err)
			}
			if err := st.DismissRun(ctx, tenantA, id); err != nil {
				t.Fatal(err)
			}
		}
		ingestOld("edr_old")
		clock.Advance(10 * 24 * time.Hour)
		ingestOld("edr_new")
		j, err := NewJanitor(st, 7*24*time.Hour, JanitorOptions{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := j.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Runs != 1 || rep.WebhookEvents != 1 || rep.AuditEntries != 1 || rep.Sessions != 1 || rep.Lineage != 1 || rep.Dismissals != 1 {
			t.Fatalf("report %+v, want one of each", rep)
		}
		page, _ := st.ListRuns(ctx, store.RunFilter{Tenant: tenantA})
		if len(page.Runs) != 1 || page.Runs[0].RunID != "edr_new" {
			t.Fatalf("left: %v", page.Runs)
		}
		if rep, _ := j.RunOnce(ctx); rep.Runs+rep.WebhookEvents+rep.AuditEntries+rep.Sessions+rep.Lineage+rep.Dismissals != 0 {
			t.Fatalf("second pass purged %+v", rep)
		}
		if _, err := NewJanitor(st, 0, JanitorOptions{}); err == nil {
			t.Fatal("zero retention accepted")
		}
	})
}
