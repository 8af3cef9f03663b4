package extendapi

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// DetectForm runs form detection synchronously (POST /detect_form, up to 5
// minutes) and returns the finished run; its Output.Schema can go straight
// into an edit's Config.Schema. RUN call, retried like CreateEditRun.
func (c *Client) DetectForm(ctx context.Context, req *DetectFormRequest) (*FormDetectionRun, error) {
	return c.postFormDetection(ctx, "DetectForm", "/detect_form", c.syncTimeout, req)
}

// CreateFormDetectionRun starts form detection asynchronously (POST
// /form_detection_runs); poll GetFormDetectionRun or wait for the
// form_detection_run.* webhook. RUN call, retried like CreateEditRun.
func (c *Client) CreateFormDetectionRun(ctx context.Context, req *DetectFormRequest) (*FormDetectionRun, error) {
	return c.postFormDetection(ctx, "CreateFormDetectionRun", "/form_detection_runs", c.timeout, req)
}

func (c *Client) postFormDetection(ctx context.Context, op, path string, timeout time.Duration, req *DetectFormRequest) (*FormDetectionRun, error) {
	if err := validateDetectForm(req); err != nil {
		return nil, fmt.Errorf("extendapi: %s: %w", op, err)
	}
	cl, err := jsonCall(op, http.MethodPost, path, CategoryRUN, retryCreate, timeout, req)
	if err != nil {
		return nil, err
	}
	return getObject(ctx, c, cl, &FormDetectionRun{}, func(r *FormDetectionRun) string { return r.ID })
}

func validateDetectForm(req *DetectFormRequest) error {
	if req == nil {
		return fmt.Errorf("%w: nil request", ErrInvalidArgument)
	}
	return validateFileRef(&req.File)
}

// GetFormDetectionRun fetches a form detection run (GET
// /form_detection_runs/{id}).
func (c *Client) GetFormDetectionRun(ctx context.Context, id string) (*FormDetectionRun, error) {
	path, err := objectPath("GetFormDetectionRun", "/form_detection_runs", id)
	if err != nil {
		return nil, err
	}
	cl := call{op: "GetFormDetectionRun", method: http.MethodGet, path: path, category: CategoryGET, class: retryIdempotent, timeout: c.timeout}
	return getObject(ctx, c, cl, &FormDetectionRun{}, func(r *FormDetectionRun) string { return r.ID })
}
