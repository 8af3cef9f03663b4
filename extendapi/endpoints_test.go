package extendapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEndpoints checks, for every endpoint, the request the client sends
// (method, path, query, headers, body, rate-limit category) and what it
// makes of the documented answer.
func TestEndpoints(t *testing.T) {
	ctx := context.Background()
	runProcessed := string(readTestdata(t, "edit_run_processed.json"))
	runProcessing := string(readTestdata(t, "edit_run_processing.json"))
	runList := string(readTestdata(t, "edit_runs_list.json"))
	formRun := string(readTestdata(t, "form_detection_run_processed.json"))
	template := string(readTestdata(t, "edit_template.json"))
	endpoint := string(readTestdata(t, "webhook_endpoint_created.json"))
	file := string(readTestdata(t, "file_get.json"))

	tests := []struct {
		name      string
		call      func(c *Client) (any, error)
		reply     string
		method    string
		path      string
		query     url.Values
		body      string // JSON the request must carry; "" for none
		category  Category
		checkResp func(t *testing.T, got any)
	}{
		{
			name: "CreateEditRun from URL",
			call: func(c *Client) (any, error) {
				return c.CreateEditRun(ctx, &CreateEditRunRequest{
					File:   &FileRef{URL: "https://files.example.com/w9.pdf", Name: "w9.pdf", Settings: &FileSettings{Password: "pw"}},
					Config: &EditConfig{Instructions: "fill it", AdvancedOptions: &EditAdvancedOptions{FlattenPDF: ptr(false)}},
				})
			},
			reply: runProcessing, method: "POST", path: "/edit_runs", category: CategoryRUN,
			body: `{"file":{"url":"https://files.example.com/w9.pdf","name":"w9.pdf","settings":{"password":"pw"}},
				"config":{"instructions":"fill it","advancedOptions":{"flattenPdf":false}}}`,
			checkResp: func(t *testing.T, got any) {
				if run := got.(*EditRun); run.ID != "edr_Pr0c3ss1ngRuN7yH4" || run.Status != StatusProcessing {
					t.Errorf("run = %+v", run)
				}
			},
		},
		{
			name: "CreateEditRun from template",
			call: func(c *Client) (any, error) {
				return c.CreateEditRun(ctx, &CreateEditRunRequest{TemplateID: "edt_T3mPl4t3W9kQ"})
			},
			reply: runProcessing, method: "POST", path: "/edit_runs", category: CategoryRUN,
			body: `{"templateId":"edt_T3mPl4t3W9kQ"}`,
		},
		{
			name: "Edit (sync)",
			call: func(c *Client) (any, error) {
				return c.Edit(ctx, &CreateEditRunRequest{File: &FileRef{ID: "file_1"}, Config: &EditConfig{Schema: json.RawMessage(`{"type":"object"}`)}})
			},
			reply: runProcessed, method: "POST", path: "/edit", category: CategoryRUN,
			body: `{"file":{"id":"file_1"},"config":{"schema":{"type":"object"}}}`,
			checkResp: func(t *testing.T, got any) {
				if run := got.(*EditRun); run.Output == nil || run.Metrics == nil {
					t.Errorf("run = %+v", run)
				}
			},
		},
		{
			name:  "GetEditRun",
			call:  func(c *Client) (any, error) { return c.GetEditRun(ctx, "edr_xK9mLPqRtN3vS8wF5hB2cQ") },
			reply: runProcessed, method: "GET", path: "/edit_runs/edr_xK9mLPqRtN3vS8wF5hB2cQ", category: CategoryGET,
			checkResp: func(t *testing.T, got any) {
				if run := got.(*EditRun); run.Usage == nil || run.Usage.Credits != 12 {
					t.Errorf("run = %+v", run)
				}
			},
		},
		{
			name:  "GetEditRun escapes the id",
			call:  func(c *Client) (any, error) { return c.GetEditRun(ctx, "edr_1/../../files?x=1") },
			reply: runProcessed, method: "GET", path: "/edit_runs/edr_1%2F..%2F..%2Ffiles%3Fx=1", category: CategoryGET,
		},
		{
			name:  "DeleteEditRun",
			call:  func(c *Client) (any, error) { return nil, c.DeleteEditRun(ctx, "edr_1") },
			reply: `{"id":"edr_1"}`, method: "DELETE", path: "/edit_runs/edr_1", category: CategoryWRITE,
		},
		{
			name: "ListEditRuns with every filter",
			call: func(c *Client) (any, error) {
				return c.ListEditRuns(ctx, ListEditRunsParams{
					Status: StatusFailed, Source: "API", FileNameContains: "invoice & co",
					SortBy: SortByCreatedAt, SortDir: SortDesc, MaxPageSize: 50, NextPageToken: "tok_2",
				})
			},
			reply: runList, method: "GET", path: "/edit_runs", category: CategoryGET,
			query: url.Values{
				"status": {"FAILED"}, "source": {"API"}, "fileNameContains": {"invoice & co"}, "sortBy": {"createdAt"},
				"sortDir": {"desc"}, "maxPageSize": {"50"}, "nextPageToken": {"tok_2"},
			},
			checkResp: func(t *testing.T, got any) {
				if l := got.(*List[EditRun]); len(l.Data) != 2 || l.NextPageToken != "eyJvZmZzZXQiOjJ9" {
					t.Errorf("list = %+v", l)
				}
			},
		},
		{
			name:  "ListEditRuns without filters sends no query",
			call:  func(c *Client) (any, error) { return c.ListEditRuns(ctx, ListEditRunsParams{}) },
			reply: `{"object":"list","data":[]}`, method: "GET", path: "/edit_runs", category: CategoryGET,
		},
		{
			name:  "GetEditTemplate",
			call:  func(c *Client) (any, error) { return c.GetEditTemplate(ctx, "edt_T3mPl4t3W9kQ") },
			reply: template, method: "GET", path: "/edit_templates/edt_T3mPl4t3W9kQ", category: CategoryGET,
			checkResp: func(t *testing.T, got any) {
				if tpl := got.(*EditTemplate); tpl.Name != "W-9 payee onboarding" {
					t.Errorf("template = %+v", tpl)
				}
			},
		},
		{
			name: "GenerateEditSchema (deprecated)",
			call: func(c *Client) (any, error) {
				return c.GenerateEditSchema(ctx, &DetectFormRequest{File: FileRef{ID: "file_1"}})
			},
			reply:  `{"schema":{"type":"object","properties":{}},"mappingResult":{"matches":[],"unmatchedInputPaths":[],"unusedFormFieldKeys":[]}}`,
			method: "POST", path: "/edit_schemas/generate", category: CategoryRUN,
			body: `{"file":{"id":"file_1"}}`,
			checkResp: func(t *testing.T, got any) {
				if r := got.(*EditSchemaGenerationResponse); r.MappingResult == nil || len(r.Schema) == 0 {
					t.Errorf("response = %+v", r)
				}
			},
		},
		{
			name: "DetectForm (sync)",
			call: func(c *Client) (any, error) {
				return c.DetectForm(ctx, &DetectFormRequest{
					File:   FileRef{URL: "https://files.example.com/w9.pdf"},
					Config: &EditSchemaGenerationConfig{Instructions: "map", AdvancedOptions: &EditSchemaGenerationAdvancedOptions{RadioEnumsEnabled: ptr(true)}},
				})
			},
			reply: formRun, method: "POST", path: "/detect_form", category: CategoryRUN,
			body: `{"file":{"url":"https://files.example.com/w9.pdf"},"config":{"instructions":"map","advancedOptions":{"radioEnumsEnabled":true}}}`,
			checkResp: func(t *testing.T, got any) {
				if r := got.(*FormDetectionRun); r.ID != "sgr_Dt3cT10nRuN5kM2p" || r.Output == nil {
					t.Errorf("run = %+v", r)
				}
			},
		},
		{
			name: "CreateFormDetectionRun",
			call: func(c *Client) (any, error) {
				return c.CreateFormDetectionRun(ctx, &DetectFormRequest{File: FileRef{ID: "file_1"}})
			},
			reply: formRun, method: "POST", path: "/form_detection_runs", category: CategoryRUN,
			body: `{"file":{"id":"file_1"}}`,
		},
		{
			name:  "GetFormDetectionRun",
			call:  func(c *Client) (any, error) { return c.GetFormDetectionRun(ctx, "sgr_Dt3cT10nRuN5kM2p") },
			reply: formRun, method: "GET", path: "/form_detection_runs/sgr_Dt3cT10nRuN5kM2p", category: CategoryGET,
		},
		{
			name:  "GetFile",
			call:  func(c *Client) (any, error) { return c.GetFile(ctx, "file_Q8wErT5yU1iO3pAs7dFg") },
			reply: file, method: "GET", path: "/files/file_Q8wErT5yU1iO3pAs7dFg", category: CategoryGET,
			checkResp: func(t *testing.T, got any) {
				if f := got.(*File); !strings.HasPrefix(f.PresignedURL, "https://") {
					t.Errorf("file = %+v", f)
				}
			},
		},
		{
			name: "ListFiles",
			call: func(c *Client) (any, error) {
				return c.ListFiles(ctx, ListFilesParams{NameContains: "w9", SortDir: SortAsc, MaxPageSize: 10, NextPageToken: "t"})
			},
			reply:  `{"object":"list","data":[` + file + `]}`,
			method: "GET", path: "/files", category: CategoryGET,
			query: url.Values{"nameContains": {"w9"}, "sortDir": {"asc"}, "maxPageSize": {"10"}, "nextPageToken": {"t"}},
			checkResp: func(t *testing.T, got any) {
				if l := got.(*List[File]); len(l.Data) != 1 || l.NextPageToken != "" {
					t.Errorf("list = %+v", l)
				}
			},
		},
		{
			name:  "DeleteFile",
			call:  func(c *Client) (any, error) { return nil, c.DeleteFile(ctx, "file_1") },
			reply: `{"id":"file_1"}`, method: "DELETE", path: "/files/file_1", category: CategoryWRITE,
		},
		{
			name: "CreateWebhookEndpoint fills in the API version",
			call: func(c *Client) (any, error) {
				return c.CreateWebhookEndpoint(ctx, &CreateWebhookEndpointRequest{
					URL: "https://editwatch.example.com/webhooks/extend/ep_1", Name: "Editwatch",
					EnabledEvents: []string{EventEditRunProcessed, EventEditRunFailed},
				})
			},
			reply: endpoint, method: "POST", path: "/webhook_endpoints", category: CategoryWRITE,
			body: `{"url":"https://editwatch.example.com/webhooks/extend/ep_1","name":"Editwatch",
				"enabledEvents":["edit_run.processed","edit_run.failed"],"apiVersion":"2026-02-09"}`,
			checkResp: func(t *testing.T, got any) {
				if ep := got.(*WebhookEndpoint); !strings.HasPrefix(ep.SigningSecret, "wss_") {
					t.Errorf("endpoint = %+v", ep)
				}
			},
		},
		{
			name: "ListWebhookEndpoints",
			call: func(c *Client) (any, error) {
				return c.ListWebhookEndpoints(ctx, ListWebhookEndpointsParams{Status: "enabled", MaxPageSize: 5})
			},
			reply:  `{"object":"list","data":[` + endpoint + `],"nextPageToken":"n"}`,
			method: "GET", path: "/webhook_endpoints", category: CategoryGET,
			query: url.Values{"status": {"enabled"}, "maxPageSize": {"5"}},
		},
		{
			name:  "GetWebhookEndpoint",
			call:  func(c *Client) (any, error) { return c.GetWebhookEndpoint(ctx, "wh_Kq2Lm9Np4Rt7") },
			reply: endpoint, method: "GET", path: "/webhook_endpoints/wh_Kq2Lm9Np4Rt7", category: CategoryGET,
		},
		{
			name: "UpdateWebhookEndpoint is a POST",
			call: func(c *Client) (any, error) {
				return c.UpdateWebhookEndpoint(ctx, "wh_Kq2Lm9Np4Rt7", &UpdateWebhookEndpointRequest{Name: ptr("renamed"), Status: ptr("disabled")})
			},
			reply: endpoint, method: "POST", path: "/webhook_endpoints/wh_Kq2Lm9Np4Rt7", category: CategoryWRITE,
			body: `{"name":"renamed","status":"disabled"}`,
		},
		{
			name:  "DeleteWebhookEndpoint",
			call:  func(c *Client) (any, error) { return nil, c.DeleteWebhookEndpoint(ctx, "wh_1") },
			reply: `{"id":"wh_1"}`, method: "DELETE", path: "/webhook_endpoints/wh_1", category: CategoryWRITE,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, nil, reply{Body: tt.reply, Header: map[string]string{HeaderRequestID: "req_ok"}})
			var obs []Observation
			c := newTestClient(t, api, WithWorkspace("ws_test"), WithObserver(func(o Observation) { obs = append(obs, o) }))
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := api.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			req := reqs[0]
			if req.Method != tt.method || req.Path != tt.path {
				t.Errorf("sent %s %s, want %s %s", req.Method, req.Path, tt.method, tt.path)
			}
			gotQuery, _ := url.ParseQuery(req.RawQuery)
			if tt.query == nil {
				tt.query = url.Values{}
			}
			if diff := cmp.Diff(tt.query, gotQuery); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			checkStandardHeaders(t, req.Header, "ws_test")
			if tt.body == "" {
				if len(req.Body) != 0 {
					t.Errorf("unexpected body %s", req.Body)
				}
			} else {
				if ct := req.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				if diff := cmp.Diff(normalizedJSON(t, []byte(tt.body)), normalizedJSON(t, req.Body)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
			if len(obs) != 1 || obs[0].Category != tt.category || obs[0].StatusCode != 200 || obs[0].RequestID != "req_ok" {
				t.Errorf("observations = %+v, want one %s", obs, tt.category)
			}
			if tt.checkResp != nil {
				tt.checkResp(t, got)
			}
		})
	}
}

func checkStandardHeaders(t *testing.T, h http.Header, workspace string) {
	t.Helper()
	if got := h.Get("Authorization"); got != "Bearer "+string(testKey) {
		t.Errorf("Authorization = %q", got)
	}
	if got := h.Get(HeaderAPIVersion); got != "2026-02-09" {
		t.Errorf("%s = %q", HeaderAPIVersion, got)
	}
	if got := h.Get("User-Agent"); !strings.HasPrefix(got, "Editwatch/") {
		t.Errorf("User-Agent = %q", got)
	}
	if got := h.Get(HeaderWorkspaceID); got != workspace {
		t.Errorf("%s = %q, want %q", HeaderWorkspaceID, got, workspace)
	}
}

func TestInvalidArgumentsSendNothing(t *testing.T) {
	ctx := context.Background()
	api := newFakeAPI(t, nil)
	c := newTestClient(t, api)
	calls := map[string]func() error{
		"nil edit request": func() error { _, err := c.CreateEditRun(ctx, nil); return err },
		"file and template": func() error {
			_, err := c.Edit(ctx, &CreateEditRunRequest{File: &FileRef{ID: "f"}, TemplateID: "t"})
			return err
		},
		"neither": func() error { _, err := c.CreateEditRun(ctx, &CreateEditRunRequest{}); return err },
		"file without source": func() error {
			_, err := c.CreateEditRun(ctx, &CreateEditRunRequest{File: &FileRef{Name: "x"}})
			return err
		},
		"file url and id": func() error {
			_, err := c.DetectForm(ctx, &DetectFormRequest{File: FileRef{ID: "f", URL: "https://x"}})
			return err
		},
		"empty run id":    func() error { _, err := c.GetEditRun(ctx, ""); return err },
		"blank delete id": func() error { return c.DeleteFile(ctx, "  ") },
		"nil update":      func() error { _, err := c.UpdateWebhookEndpoint(ctx, "wh_1", nil); return err },
		"endpoint no event": func() error {
			_, err := c.CreateWebhookEndpoint(ctx, &CreateWebhookEndpointRequest{URL: "https://x"})
			return err
		},
		"upload no body": func() error { _, err := c.UploadFile(ctx, UploadFileParams{Name: "a.pdf"}); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := len(api.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid arguments", n)
	}
}

func TestAnswerWithoutIDIsUnexpected(t *testing.T) {
	// A legacy API version wraps the run: {"success":true,"editRun":{…}}.
	api := newFakeAPI(t, nil, reply{Body: `{"success":true,"editRun":{"id":"edr_1"}}`})
	c := newTestClient(t, api)
	_, err := c.GetEditRun(context.Background(), "edr_1")
	if !errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("err = %v, want ErrUnexpectedResponse", err)
	}
}

func TestNonJSONSuccessIsUnexpected(t *testing.T) {
	api := newFakeAPI(t, nil, reply{
		Header: map[string]string{"Content-Type": "text/html"},
		Body:   "<html><head><title>Sign in</title><style>p{}</style></head><body><p>Please   sign in &amp; retry</p></body></html>",
	})
	c := newTestClient(t, api)
	_, err := c.GetEditRun(context.Background(), "edr_1")
	if !errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("err = %v, want ErrUnexpectedResponse", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `body: "Sign in Please sign in & retry"`) || strings.Contains(msg, "<p>") {
		t.Errorf("message should carry a cleaned excerpt: %s", msg)
	}
}

func TestAllEditRunsWalksTheCursor(t *testing.T) {
	pages := map[string]string{
		"":   `{"object":"list","data":[{"id":"edr_1"},{"id":"edr_2"}],"nextPageToken":"p2"}`,
		"p2": `{"object":"list","data":[{"id":"edr_3"}],"nextPageToken":"p3"}`,
		"p3": `{"object":"list","data":[{"id":"edr_4"}]}`,
	}
	api := newFakeAPI(t, nil, reply{Do: func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(pages[r.URL.Query().Get("nextPageToken")]))
	}})
	c := newTestClient(t, api)
	ctx := context.Background()

	var ids []string
	for run, err := range c.AllEditRuns(ctx, ListEditRunsParams{Status: StatusFailed, MaxPageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	if diff := cmp.Diff([]string{"edr_1", "edr_2", "edr_3", "edr_4"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	reqs := api.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		q, _ := url.ParseQuery(r.RawQuery)
		if q.Get("status") != "FAILED" || q.Get("maxPageSize") != "2" {
			t.Errorf("filters must stay the same on every page: %s", r.RawQuery)
		}
	}

	// Breaking out early stops fetching.
	before := len(api.Requests())
	for range c.AllEditRuns(ctx, ListEditRunsParams{}) {
		break
	}
	if got := len(api.Requests()) - before; got != 1 {
		t.Errorf("breaking after the first item fetched %d pages, want 1", got)
	}
}

func TestAllEditRunsStopsOnErrorAndRepeatedToken(t *testing.T) {
	ctx := context.Background()
	t.Run("error", func(t *testing.T) {
		api := newFakeAPI(t, nil,
			reply{Body: `{"object":"list","data":[{"id":"edr_1"}],"nextPageToken":"p2"}`},
			reply{Status: 404, Body: `{"code":"NOT_FOUND","message":"gone"}`})
		c := newTestClient(t, api)
		var n int
		var last error
		for _, err := range c.AllEditRuns(ctx, ListEditRunsParams{}) {
			n++
			last = err
		}
		if n != 2 || !errors.Is(last, ErrNotFound) {
			t.Errorf("got %d yields ending in %v", n, last)
		}
	})
	t.Run("repeated token", func(t *testing.T) {
		api := newFakeAPI(t, nil, reply{Body: `{"object":"list","data":[{"id":"edr_1"}],"nextPageToken":"same"}`})
		c := newTestClient(t, api)
		var last error
		for _, err := range c.AllEditRuns(ctx, ListEditRunsParams{}) {
			last = err
		}
		if !errors.Is(last, ErrUnexpectedResponse) {
			t.Errorf("last = %v", last)
		}
		if n := len(api.Requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("files and endpoints share the walker", func(t *testing.T) {
		api := newFakeAPI(t, nil, reply{Body: `{"object":"list","data":[{"id":"x"}]}`})
		c := newTestClient(t, api)
		for _, err := range c.AllFiles(ctx, ListFilesParams{}) {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, err := range c.AllWebhookEndpoints(ctx, ListWebhookEndpointsParams{}) {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := []string{api.Requests()[0].Path, api.Requests()[1].Path}; got[0] != "/files" || got[1] != "/webhook_endpoints" {
			t.Errorf("paths = %v", got)
		}
	})
}
