package handlers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// errorJSON is the error answer for API clients (Accept: application/json).
type errorJSON struct {
	Error errorJSONBody `json:"error"`
}

type errorJSONBody struct {
	Status            int    `json:"status"`
	Code              string `json:"code"`
	Title             string `json:"title"`
	Message           string `json:"message"`
	RequestID         string `json:"requestId"`
	ExtendRequestID   string `json:"extendRequestId,omitempty"`
	RetryAfterSeconds int    `json:"retryAfterSeconds,omitempty"`
}

// ErrorHandler is Echo's HTTPErrorHandler: every error a handler returns
// (or a panic the recover middleware caught) becomes an error page in the
// layout, or JSON for clients that ask for it. It logs once.
func (a *dashboard) ErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		a.Logger.WarnContext(c.Request().Context(), "error after the response started",
			"request_id", middleware.RequestIDOf(c), "path", c.Request().URL.Path, "err", err)
		return
	}
	if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		// The browser went away; nobody reads an answer.
		c.Response().WriteHeader(499)
		return
	}
	rc := errRunContext{runID: c.Param("id"), workspace: currentWorkspaceRef(c)}
	pe := describeError(err, rc, a.hostOf(c))
	a.logError(c, pe)

	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	if pe.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(pe.RetryAfter.Seconds()))))
	}
	if c.Request().Method == http.MethodHead {
		c.Response().WriteHeader(pe.Status)
		return
	}
	if wantsJSON(c.Request()) {
		_ = c.JSON(pe.Status, errorJSON{Error: errorJSONBody{
			Status: pe.Status, Code: pe.Category, Title: pe.Heading, Message: pe.Explanation,
			RequestID: middleware.RequestIDOf(c), ExtendRequestID: pe.ExtendRequestID,
			RetryAfterSeconds: int(math.Ceil(pe.RetryAfter.Seconds())),
		}})
		return
	}
	page := views.ErrorPage{
		Base:               a.errorBase(c, pe.Heading),
		Status:             pe.Status,
		Heading:            pe.Heading,
		Explanation:        pe.Explanation,
		Category:           pe.Category,
		ExtendRequestID:    pe.ExtendRequestID,
		RetryAfter:         pe.RetryAfter,
		ConnectWorkspaceID: pe.ConnectWorkspace,
		ConnectNext:        a.returnPath(c),
		Recorded:           pe.Recorded,
		MarkGoneURL:        pe.MarkGoneURL,
	}
	var buf bytes.Buffer
	if rerr := views.Render(c.Request().Context(), &buf, views.ErrorView(page)); rerr != nil {
		a.Logger.ErrorContext(c.Request().Context(), "render error page", "request_id", middleware.RequestIDOf(c), "err", rerr)
		http.Error(c.Response(), "Internal error; request "+middleware.RequestIDOf(c), http.StatusInternalServerError)
		return
	}
	_ = c.Blob(pe.Status, echo.MIMETextHTMLCharsetUTF8, buf.Bytes())
}

// logError logs the error once: server-side failures as errors, the
// person's or Extend's refusals at info.
func (a *dashboard) logError(c echo.Context, pe *PageError) {
	level := slog.LevelInfo
	if pe.Status >= 500 {
		level = slog.LevelError
	}
	if pe.Status == http.StatusNotFound && pe.Err != nil {
		level = slog.LevelDebug
	}
	attrs := []any{"request_id", middleware.RequestIDOf(c), "method", c.Request().Method, "path", c.Request().URL.Path, "status", pe.Status}
	if pe.ExtendRequestID != "" {
		attrs = append(attrs, "extend_request_id", pe.ExtendRequestID)
	}
	if pe.Err != nil {
		attrs = append(attrs, "err", pe.Err.Error())
	}
	a.Logger.Log(c.Request().Context(), level, "request failed: "+pe.Heading, attrs...)
}

// wantsJSON reports whether the client prefers JSON to HTML.
func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

// errorBase builds the layout of an error page without anything that can
// fail again: when the store is what failed, the page still renders.
func (a *dashboard) errorBase(c echo.Context, title string) views.Base {
	b := a.plainBase(c, title)
	if conns, ok := c.Get(ctxConnections).([]connection); ok {
		b.Workspaces, b.CurrentWorkspace = workspaceOptions(conns, currentWorkspaceRef(c))
	}
	return b
}

// hostOf is the Extend host of this request's connection, for messages.
func (a *dashboard) hostOf(c echo.Context) string {
	if conn, ok := c.Get(ctxConnection).(connection); ok {
		return hostOf(a.baseURLOf(conn))
	}
	if d, ok := a.Connector.Fixed(); ok {
		return hostOf(d.BaseURL)
	}
	return "Extend"
}
