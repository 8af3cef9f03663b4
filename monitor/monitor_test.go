package monitor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestObservationKeepsNoPersonalData(t *testing.T) {
	run := editRun("edr_1", extendapi.StatusProcessed)
	run.Usage.TotalCredits = ptr(2.0)
	o := Observation(run, store.ViaRun, testStart)
	want := store.RunObservation{RunID: "edr_1", SeenAt: testStart, Via: store.ViaRun, RunFacts: store.RunFacts{
		Status: "PROCESSED", FileID: "file_edr_1", FileName: "w9-edr_1.pdf", PageCount: ptr[int64](3), FieldCount: ptr[int64](12),
		FieldsDetected: ptr[int64](12), FieldsAnnotated: ptr[int64](11), FieldsFilled: ptr[int64](2), ProcessingMs: ptr(4200.0),
		DetectionMs: ptr(1200.0), AnnotationMs: ptr(600.0), FillingMs: ptr(2000.0), Credits: ptr(2.0),
	}}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// Nothing of the values or the link can be in there, whatever the
	// struct grows into.
	dump := strings.ToLower(strings.Join([]string{cmp.Diff(store.RunObservation{}, o)}, ""))
	for _, secret := range []string{"123-45-6789", "ada lovelace", "secret-link"} {
		if strings.Contains(dump, secret) {
			t.Fatalf("observation keeps %q", secret)
		}
	}
}

// TestIngestPublishesPerTenant: a change is published once, to its
// tenant's subscribers only; a sighting that changes nothing is silent.
func TestIngestPublishesPerTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clock := storetest.NewClock(testStart)
		st := openStore(t, dsn)
		broker := NewMemoryBroker()
		m := New(st, broker, Options{Now: clock.Now})
		subA, subB := broker.Subscribe(tenantA, 8), broker.Subscribe(tenantB, 8)

		if _, err := m.Ingest(ctx, tenantA, store.ViaRun, editRun("edr_1", extendapi.StatusProcessing)); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if _, err := m.Ingest(ctx, tenantA, store.ViaList, editRun("edr_1", extendapi.StatusProcessing)); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		change, err := m.Ingest(ctx, tenantA, store.ViaWebhook, editRun("edr_1", extendapi.StatusProcessed))
		if err != nil {
			t.Fatal(err)
		}
		if !change.StatusChanged() || change.After.FieldsFilled == nil || *change.After.FieldsFilled != 2 {
			t.Fatalf("change %+v", change)
		}
		if _, err := m.RecordDeleted(ctx, tenantA, "edr_1"); err != nil {
			t.Fatal(err)
		}
		want := []Event{
			{Tenant: tenantA, Kind: EventRun, RunID: "edr_1", Status: "PROCESSING", At: testStart},
			{Tenant: tenantA, Kind: EventRun, RunID: "edr_1", Status: "PROCESSED", PrevStatus: "PROCESSING", At: testStart.Add(2 * time.Second)},
			{Tenant: tenantA, Kind: EventDeleted, RunID: "edr_1", Status: "PROCESSED", PrevStatus: "PROCESSED", At: testStart.Add(2 * time.Second)},
		}
		var got []Event
		for range want {
			got = append(got, <-subA.C)
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Event{}, "Snapshot")); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
		// Each event carries the snapshot just written, for streams to render.
		for i, e := range got {
			if e.Snapshot == nil || e.Snapshot.RunID != "edr_1" || e.Snapshot.Status != want[i].Status || e.Snapshot.Deleted() != (e.Kind == EventDeleted) {
				t.Errorf("event %d snapshot %+v", i, e.Snapshot)
			}
		}
		select {
		case e := <-subA.C:
			t.Fatalf("unexpected extra event %+v", e)
		case e := <-subB.C:
			t.Fatalf("tenant B heard tenant A's event %+v", e)
		default:
		}
	})
}
