package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/upstream"
	"github.com/editwatch/editwatch/views"
)

// PageError is an error with what the person should read: handlers return
// it (or any error, which the error handler classifies) and ErrorHandler
// renders it. Err is for the log only.
type PageError struct {
	Status      int
	Heading     string
	Explanation string
	Category    string
	// ConnectWorkspace offers connecting that workspace.
	ConnectWorkspace string
	RetryAfter       time.Duration
	ExtendRequestID  string
	// Recorded is what history knows of the object Extend could not give.
	Recorded []views.RecordedFact
	// MarkGoneURL offers marking a run Extend no longer has gone in
	// history (a POST form).
	MarkGoneURL string
	Err         error
}

func (e *PageError) Error() string {
	msg := fmt.Sprintf("%d %s", e.Status, e.Heading)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *PageError) Unwrap() error { return e.Err }

// errRunContext carries what the failing call was about, so a 404 can say
// "run edr_… in workspace ws_…".
type errRunContext struct {
	runID, workspace string
}

// describeError turns any error into what the error page says. Extend's
// raw bodies never reach the page: only its status, code, message (for
// invalid requests, which explains what to fix) and request ID.
func describeError(err error, rc errRunContext, host string) *PageError {
	var pe *PageError
	if errors.As(err, &pe) {
		return pe
	}
	var refusal *middleware.Refusal
	if errors.As(err, &refusal) {
		return &PageError{Status: refusal.Status, Heading: refusal.Heading, Explanation: refusal.Explanation,
			Category: refusal.Category, RetryAfter: refusal.RetryAfter, Err: refusal.Err}
	}
	var apiErr *extendapi.APIError
	if errors.As(err, &apiErr) {
		return describeAPIError(apiErr, rc)
	}
	var netErr *extendapi.NetworkError
	if errors.As(err, &netErr) {
		if netErr.Timeout {
			return &PageError{Status: http.StatusGatewayTimeout, Heading: "Extend did not answer in time", Category: "timeout",
				Explanation: "Editwatch could not get an answer from " + host + " in time. Nothing was changed by Editwatch.",
				RetryAfter:  upstream.DefaultRetryAfter, Err: err}
		}
		return &PageError{Status: http.StatusBadGateway, Heading: "Extend cannot be reached", Category: "network",
			Explanation: "cannot reach " + host + ": " + networkCause(netErr) + ".", RetryAfter: upstream.DefaultRetryAfter, Err: err}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return describeHTTPError(he)
	}
	if storeUnavailable(err) {
		return errDatabaseUnavailable(err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &PageError{Status: http.StatusGatewayTimeout, Heading: "This took too long", Category: "timeout",
			Explanation: "The request ran out of time before Extend answered.", RetryAfter: upstream.DefaultRetryAfter, Err: err}
	}
	return &PageError{Status: http.StatusInternalServerError, Heading: "Something went wrong on our side", Category: "internal",
		Explanation: "Editwatch hit an unexpected error. It has been logged with the request ID below; try again, and quote that ID if it keeps happening.", Err: err}
}

func describeAPIError(e *extendapi.APIError, rc errRunContext) *PageError {
	p := &PageError{Status: e.StatusCode, Category: e.Code, ExtendRequestID: e.RequestID, Err: e}
	if p.Category == "" || e.StatusCode >= 500 {
		// Extend's 500 carries the code INTERNAL_ERROR, which is also a run
		// failure reason: an HTTP failure must never read like one.
		p.Category = extendErrorLabel(e.StatusCode)
	}
	ws := rc.workspace
	switch {
	case errors.Is(e, extendapi.ErrNotFound):
		p.Status = http.StatusNotFound
		if rc.runID != "" {
			p.Heading = "Run not found"
			p.Explanation = "Extend has no run " + rc.runID + " in workspace " + ws + ". It may have been deleted, or it belongs to another workspace: open the link from that workspace, or connect it."
		} else {
			p.Heading = "Not found"
			p.Explanation = "Extend has nothing by that ID in workspace " + ws + ". It may have been deleted, or it belongs to another workspace."
		}
	case errors.Is(e, extendapi.ErrUnauthorized):
		p.Heading = "Extend rejected the key"
		p.Explanation = "Extend rejected the key of workspace " + ws + " (401): it may have been revoked or rotated. Reconnect the workspace with a valid key."
		p.ConnectWorkspace = connectableWorkspace(ws)
	case errors.Is(e, extendapi.ErrForbidden):
		p.Heading = "This key cannot do that"
		p.Explanation = "Extend refused the request (403): the key of workspace " + ws + " is not allowed to reach this workspace or resource."
	case errors.Is(e, extendapi.ErrPaymentRequired):
		p.Heading = "Extend blocked usage"
		p.Explanation = "Extend refused the request because the organization's usage is blocked (402), for example out of credits. Ask your Extend administrator."
	case errors.Is(e, extendapi.ErrRateLimited):
		p.Status = http.StatusTooManyRequests
		p.Heading = "Extend is rate limiting this workspace"
		p.RetryAfter = e.RetryAfter
		if p.RetryAfter <= 0 {
			p.RetryAfter = 5 * time.Second
		}
		p.Explanation = "Too many requests reached Extend with this key in a short time. Nothing was lost."
	case errors.Is(e, extendapi.ErrInvalidRequest):
		p.Heading = "Extend refused the request"
		p.Explanation = "Extend says the request is invalid"
		if e.Message != "" {
			p.Explanation += ": " + clip(e.Message, 300)
		}
		p.Explanation += "."
	case errors.Is(e, extendapi.ErrServer):
		p.Status = http.StatusBadGateway
		if e.StatusCode == http.StatusServiceUnavailable || e.StatusCode == http.StatusGatewayTimeout {
			p.Status = e.StatusCode
		}
		p.Heading = "Extend had a problem"
		p.Explanation = fmt.Sprintf("Extend answered with a server error (%d). Nothing was changed by Editwatch; quote Extend's request ID to their support if it persists.", e.StatusCode)
		p.RetryAfter = e.RetryAfter
		if p.RetryAfter <= 0 {
			p.RetryAfter = upstream.DefaultRetryAfter
		}
	default:
		p.Status = http.StatusBadGateway
		p.Heading = "Unexpected answer from Extend"
		p.Explanation = fmt.Sprintf("Extend answered with HTTP %d, which Editwatch does not expect here.", e.StatusCode)
	}
	return p
}

// connectableWorkspace returns ws when it is a workspace ID one can type in
// the connect form (not a key ref).
func connectableWorkspace(ws string) string {
	if store.IsKeyRef(ws) {
		return ""
	}
	return ws
}

func describeHTTPError(he *echo.HTTPError) *PageError {
	msg, _ := he.Message.(string)
	p := &PageError{Status: he.Code, Explanation: msg, Err: he}
	switch he.Code {
	case http.StatusNotFound:
		p.Heading, p.Category = "Page not found", "not found"
		p.Explanation = "There is no page at this address in Editwatch."
	case http.StatusMethodNotAllowed:
		p.Heading, p.Category = "Not allowed here", "method not allowed"
		p.Explanation = "This address does not accept that kind of request."
	case http.StatusRequestEntityTooLarge:
		p.Heading, p.Category = "Too large", "too large"
		p.Explanation = "The request is larger than Editwatch accepts here."
	case http.StatusForbidden:
		p.Heading, p.Category = "Not allowed", "forbidden"
		if msg == "" || strings.Contains(msg, "csrf") {
			p.Explanation = "The form's security token is missing or out of date. Go back, reload the page and submit it again."
		}
	case http.StatusBadRequest:
		p.Heading, p.Category = "Bad request", "bad request"
		if strings.Contains(msg, "csrf") {
			p.Status = http.StatusForbidden
			p.Heading, p.Category = "Not allowed", "forbidden"
			p.Explanation = "The form's security token is missing or out of date. Go back, reload the page and submit it again."
		}
	case http.StatusUnauthorized:
		p.Heading, p.Category = "Who are you?", "unauthorized"
	default:
		p.Heading = http.StatusText(he.Code)
	}
	if p.Explanation == "" {
		p.Explanation = http.StatusText(he.Code) + "."
	}
	return p
}

// networkCause is the innermost reason of a network failure, without the
// URL the transport puts in front of it.
func networkCause(e *extendapi.NetworkError) string {
	var ue *url.Error
	if errors.As(e.Err, &ue) {
		return ue.Err.Error()
	}
	return e.Err.Error()
}

// hostOf is the host of a base URL, for messages.
func hostOf(baseURL string) string {
	if u, err := url.Parse(baseURL); err == nil && u.Host != "" {
		return u.Host
	}
	return baseURL
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// errNotConnected is the page for a link into a workspace this session has
// not connected.
func errNotConnected(ws string) *PageError {
	p := &PageError{Status: http.StatusForbidden, Heading: "Workspace " + ws + " is not connected", Category: "not connected"}
	if store.IsKeyRef(ws) {
		p.Explanation = "This link belongs to a workspace connected with an API key but without a workspace ID. Connect the same key to open it."
		return p
	}
	p.Explanation = "This link points into workspace " + ws + ", which you have not connected in this session. Connect it with a key that can reach it, then open the link again."
	p.ConnectWorkspace = ws
	return p
}

// errCannotAct refuses a state-changing request for a viewer or in
// read-only mode.
func errCannotAct(readOnly bool) *PageError {
	if readOnly {
		return &PageError{Status: http.StatusForbidden, Heading: "Editwatch is read-only", Category: "read-only",
			Explanation: "This Editwatch runs with --read-only: runs cannot be created, re-run or deleted here."}
	}
	return &PageError{Status: http.StatusForbidden, Heading: "Viewers cannot do that", Category: "forbidden",
		Explanation: "Your groups make you a viewer: you can look at everything but not create, re-run or delete runs."}
}

// extendErrorLabel names an HTTP failure of Extend itself, never in the
// words of a run failure reason: "Extend error (500)".
func extendErrorLabel(status int) string {
	return fmt.Sprintf("Extend error (%d)", status)
}
