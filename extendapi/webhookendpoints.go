package extendapi

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
)

// CreateWebhookEndpoint registers a webhook receiver (POST
// /webhook_endpoints). The answer's SigningSecret is shown once and can
// never be fetched again: store it (encrypted) before doing anything else.
// An empty APIVersion is set to APIVersion, so that payloads come in the
// shape this package decodes. Retried like CreateEditRun, since a blind
// retry would register the endpoint twice.
func (c *Client) CreateWebhookEndpoint(ctx context.Context, req *CreateWebhookEndpointRequest) (*WebhookEndpoint, error) {
	const op = "CreateWebhookEndpoint"
	if req == nil || req.URL == "" || len(req.EnabledEvents) == 0 {
		return nil, fmt.Errorf("extendapi: %s: %w: URL and EnabledEvents are required", op, ErrInvalidArgument)
	}
	body := *req
	if body.APIVersion == "" {
		body.APIVersion = APIVersion
	}
	cl, err := jsonCall(op, http.MethodPost, "/webhook_endpoints", CategoryWRITE, retryCreate, c.timeout, &body)
	if err != nil {
		return nil, err
	}
	cl.secretAnswer = true
	return getObject(ctx, c, cl, &WebhookEndpoint{}, func(w *WebhookEndpoint) string { return w.ID })
}

// ListWebhookEndpoints fetches one page of endpoints (GET
// /webhook_endpoints).
func (c *Client) ListWebhookEndpoints(ctx context.Context, p ListWebhookEndpointsParams) (*List[WebhookEndpoint], error) {
	q := url.Values{}
	if p.Status != "" {
		q.Set("status", p.Status)
	}
	cl := call{
		op: "ListWebhookEndpoints", method: http.MethodGet, path: "/webhook_endpoints",
		query:    listQuery(q, p.SortDir, p.MaxPageSize, p.NextPageToken),
		category: CategoryGET, class: retryIdempotent, timeout: c.timeout,
	}
	var page List[WebhookEndpoint]
	if err := c.do(ctx, cl, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// AllWebhookEndpoints walks every page of endpoints, like AllEditRuns.
func (c *Client) AllWebhookEndpoints(ctx context.Context, p ListWebhookEndpointsParams) iter.Seq2[WebhookEndpoint, error] {
	return paginate(p.NextPageToken, func(token string) (*List[WebhookEndpoint], error) {
		p.NextPageToken = token
		return c.ListWebhookEndpoints(ctx, p)
	})
}

// GetWebhookEndpoint fetches one endpoint (GET /webhook_endpoints/{id}).
func (c *Client) GetWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error) {
	path, err := objectPath("GetWebhookEndpoint", "/webhook_endpoints", id)
	if err != nil {
		return nil, err
	}
	cl := call{op: "GetWebhookEndpoint", method: http.MethodGet, path: path, category: CategoryGET, class: retryIdempotent, timeout: c.timeout}
	return getObject(ctx, c, cl, &WebhookEndpoint{}, func(w *WebhookEndpoint) string { return w.ID })
}

// UpdateWebhookEndpoint changes the fields set in req (POST — not PATCH —
// /webhook_endpoints/{id}). Applying the same partial update twice is
// harmless, so it is retried like a GET.
func (c *Client) UpdateWebhookEndpoint(ctx context.Context, id string, req *UpdateWebhookEndpointRequest) (*WebhookEndpoint, error) {
	const op = "UpdateWebhookEndpoint"
	path, err := objectPath(op, "/webhook_endpoints", id)
	if err != nil {
		return nil, err
	}
	if req == nil {
		return nil, fmt.Errorf("extendapi: %s: %w: nil request", op, ErrInvalidArgument)
	}
	cl, err := jsonCall(op, http.MethodPost, path, CategoryWRITE, retryIdempotent, c.timeout, req)
	if err != nil {
		return nil, err
	}
	return getObject(ctx, c, cl, &WebhookEndpoint{}, func(w *WebhookEndpoint) string { return w.ID })
}

// DeleteWebhookEndpoint removes an endpoint (DELETE
// /webhook_endpoints/{id}); a 404 on a retry after an ambiguous failure
// counts as done.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return c.deleteObject(ctx, "DeleteWebhookEndpoint", "/webhook_endpoints", id)
}
