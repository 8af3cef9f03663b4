package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
)

// FuzzRedactPayload: whatever a verified delivery carries, what history
// keeps is JSON with no presigned URL and no filled value, read the way
// Go reads it (encoding/json matches member names without regard to case,
// so "PresignedURL" fills EditedFile.PresignedURL just as well), and
// redacting it again changes nothing. A payload that is not JSON is
// ErrWebhookPayload.
func FuzzRedactPayload(f *testing.F) {
	f.Add([]byte(`{"object":"edit_run","id":"edr_1","status":"PROCESSED","file":{"object":"file","id":"file_1","name":"w9.pdf"},` +
		`"output":{"editedFile":{"id":"file_2","presignedUrl":"https://files.example/f.pdf?X-Amz-Signature=abc"},"filledValues":{"name":"Ana","ssn":"123-45-6789"}},` +
		`"metrics":{"processingTimeMs":1200.5,"pageCount":2}}`))
	f.Add([]byte(`{"object":"signed_data_url","data":"https://files.example/evt.json?sig=abc","id":"edr_1","metadata":{"size":123}}`))
	f.Add([]byte(`{"object":"edit_run","id":"edr_1","output":{"filledValues":"not an object"}}`))
	f.Add([]byte(`{"object":"edit_run","id":"edr_1","output":{"filledValues":{"nested":{"presignedUrl":"x"}}}}`))
	f.Add([]byte(`[{"presignedUrl":"a"},{"list":[{"presignedUrl":"b"}]}]`))
	f.Add([]byte(`{"id":"edr_1","number":12345678901234567890123,"tiny":1e-400,"html":"<b>&</b>"}`))
	f.Add([]byte(`"just a string"`))
	f.Add([]byte(`{"id":"edr_1"} trailing`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := RedactPayload(json.RawMessage(payload))
		if err != nil {
			if !errors.Is(err, extendapi.ErrWebhookPayload) {
				t.Fatalf("error %v is not ErrWebhookPayload", err)
			}
			if json.Valid(payload) {
				t.Fatalf("refused valid JSON %q: %v", payload, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("redacted %q into invalid JSON %q", payload, out)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		checkRedacted(t, v, "$")
		var run extendapi.EditRun
		if json.Unmarshal(out, &run) == nil && run.Output != nil {
			if run.Output.EditedFile.PresignedURL != "" {
				t.Fatalf("redacted %q still carries presigned URL %q", payload, run.Output.EditedFile.PresignedURL)
			}
			for name, value := range run.Output.FilledValues {
				if string(value) != "null" {
					t.Fatalf("redacted %q still carries filled value %s=%s", payload, name, value)
				}
			}
		}
		again, err := RedactPayload(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("redacting %q again gave %q, %v", out, again, err)
		}
	})
}

// checkRedacted walks a redacted payload: no member is a presigned URL and
// every filled value is null, whatever the case of their names.
func checkRedacted(t *testing.T, v any, path string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			switch {
			case strings.EqualFold(k, "presignedUrl"):
				t.Fatalf("%s.%s: a presigned URL survived", path, k)
			case strings.EqualFold(k, "filledValues"):
				fields, ok := val.(map[string]any)
				if !ok {
					t.Fatalf("%s.%s: filled values kept as %T", path, k, val)
				}
				for name, fv := range fields {
					if fv != nil {
						t.Fatalf("%s.%s.%s: filled value %v survived", path, k, name, fv)
					}
				}
			default:
				checkRedacted(t, val, path+"."+k)
			}
		}
	case []any:
		for _, it := range x {
			checkRedacted(t, it, path+"[]")
		}
	}
}
