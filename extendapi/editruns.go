package extendapi

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// CreateEditRun starts an asynchronous edit run (POST /edit_runs). The run
// normally comes back PROCESSING; poll GetEditRun or wait for the webhook.
// Document problems show up later as a FAILED run, not as an error here.
//
// It is retried only on 429 or when the request provably never left:
// Extend has no idempotency keys, so any other retry could start a second,
// billed run.
func (c *Client) CreateEditRun(ctx context.Context, req *CreateEditRunRequest) (*EditRun, error) {
	return c.postEditRun(ctx, "CreateEditRun", "/edit_runs", c.timeout, req)
}

// Edit runs an edit synchronously (POST /edit) and returns the finished run.
// Extend meant it for trying things out: it blocks for up to 5 minutes, and
// every failure, including document problems, comes back as an *APIError
// whose Code is the failure reason. Retried like CreateEditRun.
func (c *Client) Edit(ctx context.Context, req *CreateEditRunRequest) (*EditRun, error) {
	return c.postEditRun(ctx, "Edit", "/edit", c.syncTimeout, req)
}

func (c *Client) postEditRun(ctx context.Context, op, path string, timeout time.Duration, req *CreateEditRunRequest) (*EditRun, error) {
	if err := validateEditRequest(req); err != nil {
		return nil, fmt.Errorf("extendapi: %s: %w", op, err)
	}
	cl, err := jsonCall(op, http.MethodPost, path, CategoryRUN, retryCreate, timeout, req)
	if err != nil {
		return nil, err
	}
	return getObject(ctx, c, cl, &EditRun{}, func(r *EditRun) string { return r.ID })
}

func validateEditRequest(req *CreateEditRunRequest) error {
	switch {
	case req == nil:
		return fmt.Errorf("%w: nil request", ErrInvalidArgument)
	case req.File == nil && req.TemplateID == "":
		return fmt.Errorf("%w: set File or TemplateID", ErrInvalidArgument)
	case req.File != nil && req.TemplateID != "":
		return fmt.Errorf("%w: set File or TemplateID, not both", ErrInvalidArgument)
	case req.File != nil:
		return validateFileRef(req.File)
	}
	return nil
}

func validateFileRef(f *FileRef) error {
	switch {
	case f.URL == "" && f.ID == "":
		return fmt.Errorf("%w: the file needs a URL or an ID", ErrInvalidArgument)
	case f.URL != "" && f.ID != "":
		return fmt.Errorf("%w: the file has both a URL and an ID", ErrInvalidArgument)
	}
	return nil
}

// GetEditRun fetches the full run (GET /edit_runs/{id}), with a fresh
// output presigned URL (valid 15 minutes) when it is PROCESSED.
func (c *Client) GetEditRun(ctx context.Context, id string) (*EditRun, error) {
	path, err := objectPath("GetEditRun", "/edit_runs", id)
	if err != nil {
		return nil, err
	}
	cl := call{op: "GetEditRun", method: http.MethodGet, path: path, category: CategoryGET, class: retryIdempotent, timeout: c.timeout}
	return getObject(ctx, c, cl, &EditRun{}, func(r *EditRun) string { return r.ID })
}

// DeleteEditRun permanently deletes a run and its data (DELETE
// /edit_runs/{id}). When a retry answers 404 after an earlier try may have
// reached the server, the earlier try did the deletion and the call
// succeeds.
func (c *Client) DeleteEditRun(ctx context.Context, id string) error {
	return c.deleteObject(ctx, "DeleteEditRun", "/edit_runs", id)
}

func (c *Client) deleteObject(ctx context.Context, op, collection, id string) error {
	path, err := objectPath(op, collection, id)
	if err != nil {
		return err
	}
	cl := call{op: op, method: http.MethodDelete, path: path, category: CategoryWRITE, class: retryIdempotent, timeout: c.timeout, isDelete: true}
	return c.do(ctx, cl, nil)
}

// ListEditRuns fetches one page of runs (GET /edit_runs). Items are
// summaries: they omit config and output. Keep the filters unchanged while
// following NextPageToken, as Extend asks.
func (c *Client) ListEditRuns(ctx context.Context, p ListEditRunsParams) (*List[EditRun], error) {
	q := url.Values{}
	if p.Status != "" {
		q.Set("status", string(p.Status))
	}
	if p.Source != "" {
		q.Set("source", p.Source)
	}
	if p.FileNameContains != "" {
		q.Set("fileNameContains", p.FileNameContains)
	}
	if p.SortBy != "" {
		q.Set("sortBy", string(p.SortBy))
	}
	cl := call{
		op: "ListEditRuns", method: http.MethodGet, path: "/edit_runs",
		query:    listQuery(q, p.SortDir, p.MaxPageSize, p.NextPageToken),
		category: CategoryGET, class: retryIdempotent, timeout: c.timeout,
	}
	var page List[EditRun]
	if err := c.do(ctx, cl, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// AllEditRuns walks every page from p.NextPageToken on, yielding each run.
// On error it yields (EditRun{}, err) once and stops. Each page is one GET
// through the rate limiter; break out of the loop to stop early.
func (c *Client) AllEditRuns(ctx context.Context, p ListEditRunsParams) iter.Seq2[EditRun, error] {
	return paginate(p.NextPageToken, func(token string) (*List[EditRun], error) {
		p.NextPageToken = token
		return c.ListEditRuns(ctx, p)
	})
}
