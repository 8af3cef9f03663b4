package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
)

// TestAuthAndHeaders covers §1: bearer keys, workspace scoping and the
// version header, answered with the error body and a request ID.
func TestAuthAndHeaders(t *testing.T) {
	ts := startSandbox(t, Options{})
	tests := []struct {
		name       string
		headers    map[string]string
		wantStatus int
		wantCode   string
	}{
		{"no key", map[string]string{extendapi.HeaderAPIVersion: extendapi.APIVersion}, 401, "UNAUTHORIZED"},
		{"not bearer", map[string]string{"Authorization": "Basic " + testKeyA, extendapi.HeaderAPIVersion: extendapi.APIVersion}, 401, "UNAUTHORIZED"},
		{"unknown key", authHeaders("sk_nope"), 401, "UNAUTHORIZED"},
		{"no version", map[string]string{"Authorization": "Bearer " + testKeyA}, 400, "INVALID_REQUEST"},
		{"legacy version", map[string]string{"Authorization": "Bearer " + testKeyA, extendapi.HeaderAPIVersion: "2025-04-21"}, 400, "INVALID_REQUEST"},
		{"workspace key, own header", withHeader(authHeaders(testKeyA), extendapi.HeaderWorkspaceID, testWSA), 200, ""},
		{"workspace key, foreign header", withHeader(authHeaders(testKeyA), extendapi.HeaderWorkspaceID, testWSB), 403, "FORBIDDEN"},
		{"org key without header", authHeaders(testKeyOrg), 400, "INVALID_REQUEST"},
		{"org key with header", withHeader(authHeaders(testKeyOrg), extendapi.HeaderWorkspaceID, testWSB), 200, ""},
		{"workspace key", authHeaders(testKeyB), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := ts.raw(http.MethodGet, "/edit_runs", tt.headers, nil)
			requestID := resp.Header.Get(extendapi.HeaderRequestID)
			if !strings.HasPrefix(requestID, "req_") {
				t.Errorf("x-extend-request-id = %q, want req_…", requestID)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantCode == "" {
				return
			}
			var e extendapi.ErrorBody
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %s: %v", body, err)
			}
			if e.Code != tt.wantCode || e.Message == "" || e.Retryable || e.RequestID != requestID {
				t.Errorf("error body %+v, want code %s, a message, not retryable, requestId %s", e, tt.wantCode, requestID)
			}
			if strings.Contains(string(body), testKeyA) || strings.Contains(string(body), "sk_nope") {
				t.Errorf("the error body echoes the key: %s", body)
			}
		})
	}
}

func withHeader(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for hk, hv := range h {
		out[hk] = hv
	}
	return out
}

// TestWorkspacesArePrivate: files, runs, detection runs, templates and
// webhook endpoints of one workspace are 404 from another, whichever kind
// of key asks; an organization key reaches exactly the workspace it names.
func TestWorkspacesArePrivate(t *testing.T) {
	ts := startSandbox(t, Options{})
	ctx := context.Background()
	a := ts.api(testKeyA, "")
	form := demoForm(t, "")
	file := uploadFile(t, a, form.Name, form.PDF, "")
	run, err := a.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}})
	if err != nil {
		t.Fatal(err)
	}
	det, err := a.CreateFormDetectionRun(ctx, &extendapi.DetectFormRequest{File: extendapi.FileRef{ID: file.ID}})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := a.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: "http://127.0.0.1:1/hook", Name: "a",
		EnabledEvents: []string{extendapi.EventEditRunProcessed}, APIVersion: extendapi.APIVersion})
	if err != nil {
		t.Fatal(err)
	}
	tplID := ts.srv.TemplateIDs(testWSA)[0]

	for name, other := range map[string]*extendapi.Client{
		"workspace key B":   ts.api(testKeyB, ""),
		"org key on B":      ts.api(testKeyOrg, testWSB),
		"org key on new ws": ts.api(testKeyOrg, "ws_gamma"),
	} {
		t.Run(name, func(t *testing.T) {
			calls := map[string]error{}
			_, calls["GetFile"] = other.GetFile(ctx, file.ID)
			calls["DeleteFile"] = other.DeleteFile(ctx, file.ID)
			_, calls["GetEditRun"] = other.GetEditRun(ctx, run.ID)
			calls["DeleteEditRun"] = other.DeleteEditRun(ctx, run.ID)
			_, calls["GetFormDetectionRun"] = other.GetFormDetectionRun(ctx, det.ID)
			_, calls["GetWebhookEndpoint"] = other.GetWebhookEndpoint(ctx, hook.ID)
			calls["DeleteWebhookEndpoint"] = other.DeleteWebhookEndpoint(ctx, hook.ID)
			_, calls["CreateEditRun(file of A)"] = other.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}})
			for call, err := range calls {
				if !errors.Is(err, extendapi.ErrNotFound) {
					t.Errorf("%s across workspaces: %v, want 404", call, err)
				}
			}
			page, err := other.ListEditRuns(ctx, extendapi.ListEditRunsParams{})
			if err != nil || len(page.Data) != 0 {
				t.Errorf("ListEditRuns across workspaces: %d runs, %v; want none", len(page.Data), err)
			}
			files, err := other.ListFiles(ctx, extendapi.ListFilesParams{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files.Data {
				if f.ID == file.ID {
					t.Errorf("ListFiles across workspaces shows %s", file.ID)
				}
			}
		})
	}

	// The organization key on A sees A's things.
	org := ts.api(testKeyOrg, testWSA)
	if _, err := org.GetEditRun(ctx, run.ID); err != nil {
		t.Errorf("org key on ws A: GetEditRun: %v", err)
	}
	if _, err := org.GetEditTemplate(ctx, tplID); err != nil {
		t.Errorf("org key on ws A: GetEditTemplate(%s): %v", tplID, err)
	}
	// Built-in templates exist in every workspace (each its own copy).
	if _, err := ts.api(testKeyB, "").GetEditTemplate(ctx, tplID); err != nil {
		t.Errorf("built-in template %s should exist in every workspace: %v", tplID, err)
	}
	waitRun(t, a, run.ID)
}
