package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// newRunForm is GET /runs/new.
func (a *dashboard) newRunPage(c echo.Context) error {
	if _, err := a.workspace(c); errors.Is(err, errNoConnection) {
		return a.toConnect(c)
	} else if err != nil {
		return err
	}
	b, err := a.base(c, "New run", views.NavNewRun)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, views.NewRunView(views.NewRunPage{Base: b, MaxUploadBytes: a.MaxUpload}))
}

// renderNewRun shows the form again with what the person entered.
func (a *dashboard) renderNewRun(c echo.Context, status int, form *newRunForm, edit func(*views.NewRunPage)) error {
	b, err := a.base(c, "New run", views.NavNewRun)
	if err != nil {
		return err
	}
	page := views.NewRunPage{
		Base: b, MaxUploadBytes: a.MaxUpload, Input: form.input(),
		FileID: form.FileID, FileName: form.FileName, FileURL: form.FileURL, TemplateID: form.TemplateID,
		Schema: form.Schema, Instructions: form.Instructions, Options: form.options(), FieldErrors: form.FieldErrors,
	}
	if edit != nil {
		edit(&page)
	}
	return a.render(c, status, views.NewRunView(page))
}

// createRun is POST /runs/new: upload (streamed) if a PDF came, then
// create the run and open its page.
func (a *dashboard) createRun(c echo.Context) error {
	conn, cl, err := a.workspaceClient(c)
	if err != nil {
		return err
	}
	form, err := a.readNewRunForm(c, cl)
	if err != nil {
		return err
	}
	if form.UploadErr != nil {
		return a.keepNewRunForm(c, conn, form, form.UploadErr, "upload the file")
	}
	ref, fileOK := form.fileRef()
	schema, schemaErr := checkSchema(form.Schema)
	if !fileOK || schemaErr != nil || len(form.FieldErrors) > 0 {
		return a.renderNewRun(c, http.StatusUnprocessableEntity, form, func(p *views.NewRunPage) {
			p.SchemaError = schemaErr
			p.FormError = "Please correct the marked fields."
		})
	}
	req := &extendapi.CreateEditRunRequest{File: ref, Config: &extendapi.EditConfig{
		Schema: schema, Instructions: form.Instructions, AdvancedOptions: form.advancedOptions(),
	}}
	if ref == nil {
		req.TemplateID = form.TemplateID
	}
	run, err := cl.CreateEditRun(c.Request().Context(), req)
	if errors.Is(err, extendapi.ErrInvalidRequest) || errors.Is(err, extendapi.ErrNotFound) {
		return a.renderNewRun(c, http.StatusUnprocessableEntity, form, func(p *views.NewRunPage) {
			p.FormError = extendRefusal(err, "start the run")
		})
	}
	if err != nil {
		return a.keepNewRunForm(c, conn, form, err, "start the run")
	}
	a.ingest(c, conn, cl, store.ViaRun, *run)
	detail := "file " + orDefault(form.FileName, form.FileID)
	switch form.input() {
	case views.InputURL:
		detail = "file from URL"
	case views.InputTemplate:
		detail = "template " + form.TemplateID
	}
	if err := a.audit(c, store.AuditCreate, conn.Tenant, run.ID, detail); err != nil {
		return err
	}
	if err := a.setFlash(c, views.FlashSuccess, "Started run "+run.ID+"."); err != nil {
		return err
	}
	return redirect(c, views.RunURL(a.BasePath, conn.Ref(), run.ID))
}

// detectFields is POST /runs/new/detect: form detection on the chosen
// file fills the schema in, for review before the run starts.
func (a *dashboard) detectFields(c echo.Context) error {
	conn, cl, err := a.workspaceClient(c)
	if err != nil {
		return err
	}
	form, err := a.readNewRunForm(c, cl)
	if err != nil {
		return err
	}
	if form.UploadErr != nil {
		return a.keepNewRunForm(c, conn, form, form.UploadErr, "upload the file")
	}
	ref, ok := form.fileRef()
	if !ok {
		return a.renderNewRun(c, http.StatusUnprocessableEntity, form, func(p *views.NewRunPage) {
			p.FormError = "Choose the PDF first: fields are detected on it."
		})
	}
	ctx := c.Request().Context()
	if ref == nil { // a template: detect on its file
		tpl, err := cl.GetEditTemplate(ctx, form.TemplateID)
		if errors.Is(err, extendapi.ErrNotFound) {
			form.fieldError(views.FieldTemplateID, "Extend has no template "+form.TemplateID+" in this workspace.")
			return a.renderNewRun(c, http.StatusUnprocessableEntity, form, nil)
		}
		if err != nil {
			return a.keepNewRunForm(c, conn, form, err, "read the template")
		}
		ref = &extendapi.FileRef{ID: tpl.File.ID}
	}
	req := &extendapi.DetectFormRequest{File: *ref}
	if opts := form.detectOptions(); opts != nil {
		req.Config = &extendapi.EditSchemaGenerationConfig{AdvancedOptions: opts}
	}
	det, err := cl.DetectForm(ctx, req)
	if errors.Is(err, extendapi.ErrInvalidRequest) || errors.Is(err, extendapi.ErrNotFound) {
		return a.renderNewRun(c, http.StatusUnprocessableEntity, form, func(p *views.NewRunPage) {
			p.FormError = extendRefusal(err, "detect the fields")
		})
	}
	if err != nil {
		return a.keepNewRunForm(c, conn, form, err, "detect the fields")
	}
	if det.Status == extendapi.StatusFailed || det.Output == nil {
		meaning, action := views.FailureExplanation(string(det.FailureReason))
		return a.renderNewRun(c, http.StatusUnprocessableEntity, form, func(p *views.NewRunPage) {
			p.FormError = fmt.Sprintf("Field detection failed (%s): %s %s", orDefault(string(det.FailureReason), "no reason"), meaning, action)
		})
	}
	tree, err := parseJSONTree(det.Output.Schema)
	if err != nil {
		return fmt.Errorf("parse detected schema: %w", err)
	}
	form.Schema = tree.pretty()
	count := 0
	if props := tree.get("properties"); props != nil {
		count = len(props.members)
	}
	return a.renderNewRun(c, http.StatusOK, form, func(p *views.NewRunPage) {
		p.DetectNote = fmt.Sprintf("Detected %d fields: review the schema, then start the run.", count)
		p.Detected = detectedFields(tree)
		p.Preview, p.PreviewNote = a.detectPreview(p.CurrentWorkspace, form, det.Output.Schema)
	})
}

// extendRefusal says why Extend refused a form's request, with its own
// message (it names the field that is wrong).
func extendRefusal(err error, what string) string {
	var apiErr *extendapi.APIError
	if !errors.As(err, &apiErr) {
		return "Extend refused to " + what + "."
	}
	msg := "Extend refused to " + what + fmt.Sprintf(" (%d %s)", apiErr.StatusCode, apiErr.Code)
	if apiErr.Message != "" {
		msg += ": " + clip(apiErr.Message, 300)
	}
	if apiErr.RequestID != "" {
		msg += " (Extend request " + apiErr.RequestID + ")"
	}
	return msg
}

// keepNewRunForm answers a failure of Extend (5xx, 429, timeout, network,
// a revoked key) during the new-run form with the form as the person
// filled it and the error in their terms, under the error's status: what
// they typed is never lost to an error page. Other errors (ours) go to
// the error page as usual.
func (a *dashboard) keepNewRunForm(c echo.Context, conn connection, form *newRunForm, err error, what string) error {
	if !upstreamFailure(err) {
		return err
	}
	pe := describeError(err, errRunContext{workspace: conn.Ref()}, hostOf(a.baseURLOf(conn)))
	a.logError(c, pe)
	if pe.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(pe.RetryAfter.Seconds()))))
	}
	// htmx swaps only 2xx and 422 answers; this header tells app.js that
	// this error answer is the form and should replace it.
	c.Response().Header().Set(views.HeaderFormKept, "true")
	msg := "Could not " + what + ": " + pe.Heading + ". " + pe.Explanation
	if pe.ExtendRequestID != "" {
		msg += " (Extend request " + pe.ExtendRequestID + ")"
	}
	msg += " Everything you entered is still here"
	if form.FileID != "" {
		msg += ", including the uploaded file"
	}
	msg += "; try again in a moment."
	return a.renderNewRun(c, pe.Status, form, func(p *views.NewRunPage) { p.FormError = msg })
}

// upstreamFailure reports whether err is Extend failing to answer a call
// (an HTTP error, the network, a timeout) rather than our own failure.
func upstreamFailure(err error) bool {
	var apiErr *extendapi.APIError
	var netErr *extendapi.NetworkError
	return errors.As(err, &apiErr) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded)
}
