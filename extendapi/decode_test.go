package extendapi

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// withoutNulls drops null members: an absent optional field and an explicit
// null mean the same to us, and our types omit both.
func withoutNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if val != nil {
				out[k] = withoutNulls(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = withoutNulls(val)
		}
		return out
	}
	return v
}

func normalizedJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, b)
	}
	return withoutNulls(v)
}

// roundTrip decodes a documented payload into T, encodes it again, and
// requires that nothing was lost or invented on the way.
func roundTrip[T any](t *testing.T, name string) *T {
	t.Helper()
	raw := readTestdata(t, name)
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	again, err := json.Marshal(&v)
	if err != nil {
		t.Fatalf("encode %s: %v", name, err)
	}
	if diff := cmp.Diff(normalizedJSON(t, raw), normalizedJSON(t, again)); diff != "" {
		t.Errorf("%s does not survive a round trip (-docs +ours):\n%s", name, diff)
	}
	return &v
}

func TestRoundTripDocumentedPayloads(t *testing.T) {
	t.Run("processed edit run", func(t *testing.T) {
		run := roundTrip[EditRun](t, "edit_run_processed.json")
		if run.Status != StatusProcessed || !run.Status.Terminal() {
			t.Errorf("status = %q", run.Status)
		}
		if run.Metrics == nil || *run.Metrics.ProcessingTimeMs != 12873.5 || *run.Metrics.FieldsAnnotatedCount != 19 {
			t.Errorf("metrics = %+v", run.Metrics)
		}
		if run.Usage == nil || len(run.Usage.Breakdown) != 1 || len(run.Usage.Breakdown[0].Charges) != 1 {
			t.Fatalf("usage = %+v", run.Usage)
		}
		if ch := run.Usage.Breakdown[0].Charges[0]; ch.Unit != "page" || ch.Quantity != 6 || len(ch.Pages) != 6 {
			t.Errorf("charge = %+v", ch)
		}
		if run.Output == nil || run.Output.EditedFile.ID != "file_Q8wErT5yU1iO3pAs7dFg" {
			t.Errorf("output = %+v", run.Output)
		}
		if run.Config == nil || run.Config.AdvancedOptions == nil || !*run.Config.AdvancedOptions.FlattenPDF {
			t.Errorf("config = %+v", run.Config)
		}
		if run.CreatedAt != nil {
			t.Errorf("the full run has no createdAt, got %v", run.CreatedAt)
		}
	})
	t.Run("failed edit run", func(t *testing.T) {
		run := roundTrip[EditRun](t, "edit_run_failed.json")
		if run.Status != StatusFailed || run.FailureReason != ReasonPasswordProtectedFile {
			t.Errorf("status %q reason %q", run.Status, run.FailureReason)
		}
		if run.Output != nil || run.Metrics != nil || run.Usage != nil {
			t.Errorf("absent objects decoded as present: %+v %+v %+v", run.Output, run.Metrics, run.Usage)
		}
		if run.Config == nil {
			t.Errorf("config {} must decode as present-but-empty")
		}
	})
	t.Run("processing edit run", func(t *testing.T) {
		run := roundTrip[EditRun](t, "edit_run_processing.json")
		if run.Status.Terminal() {
			t.Errorf("PROCESSING is not terminal")
		}
	})
	t.Run("list of summaries", func(t *testing.T) {
		list := roundTrip[List[EditRun]](t, "edit_runs_list.json")
		if len(list.Data) != 2 || list.NextPageToken == "" {
			t.Fatalf("list = %+v", list)
		}
		first := list.Data[0]
		if first.CreatedAt == nil || first.Source != "API" || first.Usage.TotalCredits == nil {
			t.Errorf("summary = %+v", first)
		}
		// Only three metrics are in the summary: the others must stay absent, not zero.
		if m := first.Metrics; m.FieldsDetectedCount != nil || m.FieldFillingTimeMs != nil {
			t.Errorf("absent metrics decoded as present: %+v", m)
		}
		if list.Data[1].Metrics != nil {
			t.Errorf("metrics absent from the failed summary, got %+v", list.Data[1].Metrics)
		}
	})
	t.Run("form detection run", func(t *testing.T) {
		run := roundTrip[FormDetectionRun](t, "form_detection_run_processed.json")
		if run.Output == nil || run.Output.MappingResult == nil || run.Output.MappingResult.Matches[0].FormFieldKey != "name" {
			t.Errorf("output = %+v", run.Output)
		}
	})
	t.Run("edit template", func(t *testing.T) {
		tpl := roundTrip[EditTemplate](t, "edit_template.json")
		if tpl.Description != nil || tpl.SchemaConfig == nil || tpl.Config.AdvancedOptions == nil || *tpl.Config.AdvancedOptions.FlattenPDF {
			t.Errorf("template = %+v", tpl)
		}
	})
	t.Run("webhook endpoint", func(t *testing.T) {
		ep := roundTrip[WebhookEndpoint](t, "webhook_endpoint_created.json")
		if ep.SigningSecret == "" || ep.CreatedBy.Type != "api_key" || *ep.AdvancedOptions.Payload.URLThresholdBytes != 1000000 {
			t.Errorf("endpoint = %+v", ep)
		}
	})
	t.Run("file", func(t *testing.T) {
		f := roundTrip[File](t, "file_get.json")
		if f.PresignedURL == "" || *f.Metadata.PageCount != 6 {
			t.Errorf("file = %+v", f)
		}
	})
	t.Run("webhook envelopes", func(t *testing.T) {
		for _, name := range []string{"webhook_edit_run_processed.json", "webhook_edit_run_failed.json", "webhook_signed_data_url.json"} {
			roundTrip[WebhookEvent](t, name)
		}
	})
}

func TestDecodeKeepsUnknownValues(t *testing.T) {
	raw := []byte(`{
		"object": "edit_run", "id": "edr_1", "file": {"object": "file", "id": "file_1", "name": "a.pdf", "type": "HOLOGRAM"},
		"status": "CANCELLING", "failureReason": "QUANTUM_FLUX", "priority": 7, "metrics": {"processingTimeMs": 10, "gpuTimeMs": 3}
	}`)
	var run EditRun
	if err := json.Unmarshal(raw, &run); err != nil {
		t.Fatalf("unknown values must not fail decoding: %v", err)
	}
	want := EditRun{
		Object: "edit_run", ID: "edr_1",
		File:   FileSummary{Object: "file", ID: "file_1", Name: "a.pdf", Type: "HOLOGRAM"},
		Status: "CANCELLING", FailureReason: "QUANTUM_FLUX",
		Metrics: &EditRunMetrics{ProcessingTimeMs: ptr(10.0)},
	}
	if diff := cmp.Diff(want, run); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if run.Status.Terminal() {
		t.Errorf("an unknown status must not count as terminal")
	}
}
