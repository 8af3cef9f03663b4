package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/store"
)

// webhookBodyLimit bounds a delivery's body. Edit-run events are a few
// kilobytes; Extend switches to signed_data_url payloads for large ones.
const webhookBodyLimit = 5 << 20

// webhookApplyTimeout bounds applying one stored event after answering
// (fetching a signed payload included).
const webhookApplyTimeout = time.Minute

// endpointIDPattern is what store.NewWebhookEndpointID makes; anything
// else is unknown without a database lookup.
var endpointIDPattern = regexp.MustCompile(`^ewh_[A-Za-z0-9_-]{8,64}$`)

// webhookAnswer is the JSON body of every answer to Extend.
type webhookAnswer struct {
	Received  bool   `json:"received"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Error     string `json:"error,omitempty"`
}

func webhookError(c echo.Context, status int, msg string) error {
	return c.JSON(status, webhookAnswer{Error: msg})
}

// receiveWebhook is POST /webhooks/extend/:endpoint. No session, no CSRF
// token, no identity: the signature over the raw body is the
// authentication. The event is durable before 2xx (503 asks Extend to
// retry when the store fails); what cannot be applied in the same
// transaction is applied after answering.
func (a *dashboard) receiveWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	endpoint := c.Param("endpoint")
	if !endpointIDPattern.MatchString(endpoint) {
		return webhookError(c, http.StatusNotFound, "unknown webhook endpoint")
	}
	r := c.Request()
	if r.ContentLength > webhookBodyLimit {
		return webhookError(c, http.StatusRequestEntityTooLarge, "body too large")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, webhookBodyLimit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return webhookError(c, http.StatusRequestEntityTooLarge, "body too large")
	case err != nil:
		return webhookError(c, http.StatusBadRequest, "unreadable body")
	}
	secrets, err := a.Store.WebhookSecrets(ctx, endpoint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return webhookError(c, http.StatusNotFound, "unknown webhook endpoint")
	case err != nil:
		a.Logger.ErrorContext(ctx, "webhook: read secrets", "endpoint", endpoint, "err", err)
		return webhookError(c, http.StatusServiceUnavailable, "try again later")
	}
	if err := extendapi.VerifyWebhook(r.Header, body, secrets, a.Now()); err != nil {
		a.rejectWebhook(ctx, endpoint, err)
		return webhookError(c, http.StatusUnauthorized, "signature check failed")
	}
	ev, err := extendapi.DecodeWebhookEvent(body)
	if err != nil {
		a.rejectWebhook(ctx, endpoint, err)
		return webhookError(c, http.StatusBadRequest, "not an event")
	}
	receipt, err := a.Live.Monitor.ReceiveWebhook(ctx, endpoint, ev)
	switch {
	case errors.Is(err, monitor.ErrUnknownEndpoint):
		return webhookError(c, http.StatusNotFound, "unknown webhook endpoint")
	case errors.Is(err, extendapi.ErrWebhookPayload):
		a.rejectWebhook(ctx, endpoint, err)
		return webhookError(c, http.StatusBadRequest, "not an event")
	case err != nil:
		a.Logger.ErrorContext(ctx, "webhook: store event", "endpoint", endpoint, "event", ev.EventID, "err", err)
		return webhookError(c, http.StatusServiceUnavailable, "try again later")
	}
	if !receipt.Event.Applied() {
		stored := receipt.Event
		a.Live.Background(func(ctx context.Context) {
			applyCtx, cancel := context.WithTimeout(ctx, webhookApplyTimeout)
			_, err := a.Live.Monitor.ApplyWebhookEvent(applyCtx, stored)
			cancel()
			if err == nil {
				return
			}
			// The event is acknowledged, so Extend will not send it again:
			// sweep pending events until the database lets it through (a
			// stop before then leaves it to the next start).
			a.Logger.WarnContext(ctx, "webhook: apply event; retrying", "event", stored.EventID, "err", err)
			a.Live.Monitor.SweepPending(ctx)
		})
	}
	return c.JSON(http.StatusOK, webhookAnswer{Received: true, Duplicate: receipt.Duplicate})
}

// rejectWebhook records a refused delivery: a sample of them on the
// deliveries page, the rest counted, and a log summary at most once a
// minute (monitor.RefuseWebhook), so forged deliveries cost little.
func (a *dashboard) rejectWebhook(ctx context.Context, endpoint string, reason error) {
	a.Live.Monitor.RefuseWebhook(ctx, endpoint, reason)
}
