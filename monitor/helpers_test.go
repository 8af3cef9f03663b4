package monitor

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/store/storetest"
)

var testStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const tenantA, tenantB = "us/ws_alpha", "us/ws_bravo"

func forEachBackend(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.NewDSN(t)) })
	}
}

func openStore(t testing.TB, dsn string, opts ...store.Option) *store.Store {
	t.Helper()
	ctx := context.Background()
	key := make([]byte, store.SealerKeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sealer, err := store.NewSealer([][]byte{key})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, dsn, nil, append([]store.Option{store.WithSealer(sealer)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func ptr[T any](v T) *T { return &v }

// editRun is a run as Extend's GET returns it, with the personal data a
// snapshot must never keep.
func editRun(id string, status extendapi.RunStatus) extendapi.EditRun {
	r := extendapi.EditRun{Object: "edit_run", ID: id, Status: status,
		File: extendapi.FileSummary{Object: "file", ID: "file_" + id, Name: "w9-" + id + ".pdf"}}
	switch status {
	case extendapi.StatusProcessed:
		r.Output = &extendapi.EditRunOutput{
			EditedFile:   extendapi.EditedFile{ID: "file_out", PresignedURL: "https://storage.example/secret-link"},
			FilledValues: map[string]json.RawMessage{"ssn": json.RawMessage(`"123-45-6789"`), "name": json.RawMessage(`"Ada Lovelace"`)},
		}
		r.Metrics = &extendapi.EditRunMetrics{ProcessingTimeMs: ptr(4200.0), PageCount: ptr(3), FieldCount: ptr(12),
			FieldsDetectedCount: ptr(12), FieldsAnnotatedCount: ptr(11), FieldDetectionTimeMs: ptr(1200.0),
			FieldAnnotationTimeMs: ptr(600.0), FieldFillingTimeMs: ptr(2000.0)}
		r.Usage = &extendapi.RunUsage{Credits: 1.5}
	case extendapi.StatusFailed:
		r.FailureReason, r.FailureMessage = extendapi.ReasonCorruptFile, "xref table not found"
	}
	return r
}
