package extendapi

import (
	"context"
	"fmt"
	"net/http"
)

// GetEditTemplate fetches a saved edit template (GET /edit_templates/{id}).
// Its Config can be reused in CreateEditRun, or the run can name the
// template with TemplateID instead of a file.
func (c *Client) GetEditTemplate(ctx context.Context, id string) (*EditTemplate, error) {
	path, err := objectPath("GetEditTemplate", "/edit_templates", id)
	if err != nil {
		return nil, err
	}
	cl := call{op: "GetEditTemplate", method: http.MethodGet, path: path, category: CategoryGET, class: retryIdempotent, timeout: c.timeout}
	return getObject(ctx, c, cl, &EditTemplate{}, func(t *EditTemplate) string { return t.ID })
}

// GenerateEditSchema detects a form's fields synchronously (POST
// /edit_schemas/generate) and returns the schema directly, with no run to
// poll. It is a RUN call and is retried like CreateEditRun.
//
// Deprecated: Extend replaced this endpoint with POST /detect_form; use
// DetectForm or CreateFormDetectionRun.
func (c *Client) GenerateEditSchema(ctx context.Context, req *DetectFormRequest) (*EditSchemaGenerationResponse, error) {
	const op = "GenerateEditSchema"
	if err := validateDetectForm(req); err != nil {
		return nil, fmt.Errorf("extendapi: %s: %w", op, err)
	}
	cl, err := jsonCall(op, http.MethodPost, "/edit_schemas/generate", CategoryRUN, retryCreate, c.syncTimeout, req)
	if err != nil {
		return nil, err
	}
	var out EditSchemaGenerationResponse
	if err := c.do(ctx, cl, &out); err != nil {
		return nil, err
	}
	if len(out.Schema) == 0 || string(out.Schema) == "null" {
		return nil, fmt.Errorf("extendapi: %s %s: %w: the answer has no schema", cl.method, cl.path, ErrUnexpectedResponse)
	}
	return &out, nil
}
