package handlers

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// download is GET /runs/:id/download: a fresh presigned URL is fetched at
// the moment of the click and the browser is sent there. Presigned URLs
// never appear in a page: they expire, and a shared page would leak them.
func (a *dashboard) download(c echo.Context) error {
	conn, cl, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	run, err := cl.GetEditRun(ctx, id)
	if err != nil {
		return err
	}
	if run.Output == nil || run.Output.EditedFile.ID == "" {
		return &PageError{Status: http.StatusConflict, Heading: "No edited PDF yet", Category: "no output",
			Explanation: "Run " + id + " is " + string(run.Status) + ": only processed runs have an edited PDF to download."}
	}
	link := run.Output.EditedFile.PresignedURL
	if link == "" {
		file, err := cl.GetFile(ctx, run.Output.EditedFile.ID)
		if err != nil {
			return err
		}
		link = file.PresignedURL
	}
	if link == "" {
		return &PageError{Status: http.StatusBadGateway, Heading: "No download link", Category: "no output",
			Explanation: "Extend returned the edited file without a download link. Try again in a moment."}
	}
	if err := a.audit(c, store.AuditDownload, conn.Tenant, id, "edited PDF "+run.Output.EditedFile.ID); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	return c.Redirect(http.StatusFound, a.browserURL(link))
}

// browserURL rewrites a presigned URL of the embedded sandbox, which the
// dashboard reached on loopback, into a path on the dashboard's own
// listener: the browser then fetches it wherever it reaches the dashboard,
// through proxies too.
func (a *dashboard) browserURL(link string) string {
	if a.Sandbox == nil {
		return link
	}
	u, err := url.Parse(link)
	internal, ierr := url.Parse(a.Sandbox.InternalURL)
	if err != nil || ierr != nil || u.Scheme != internal.Scheme || u.Host != internal.Host {
		return link
	}
	return u.RequestURI()
}

// rerun is POST /runs/:id/rerun: a new run with the same file and config.
func (a *dashboard) rerun(c echo.Context) error {
	conn, cl, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	run, err := cl.GetEditRun(ctx, id)
	if err != nil {
		return err
	}
	if run.File.ID == "" {
		return &PageError{Status: http.StatusConflict, Heading: "Cannot re-run", Category: "no input",
			Explanation: "Extend did not say which file run " + id + " used, so it cannot be started again."}
	}
	created, err := cl.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{
		File: &extendapi.FileRef{ID: run.File.ID}, Config: run.Config,
	})
	if err != nil {
		return err
	}
	a.ingest(c, conn, cl, store.ViaRun, *created)
	if err := a.Store.RecordRerun(ctx, conn.Tenant, created.ID, id); err != nil {
		// The run exists in Extend either way; only its link back is lost.
		a.Logger.WarnContext(ctx, "re-run: lineage not recorded", "request_id", middleware.RequestIDOf(c), "run_id", created.ID, "err", err)
	}
	if err := a.audit(c, store.AuditRerun, conn.Tenant, created.ID, "re-run of "+id); err != nil {
		return err
	}
	if err := a.setFlash(c, views.FlashSuccess, "Started "+created.ID+", a re-run of "+id+" with the same file and config."); err != nil {
		return err
	}
	return redirect(c, views.RunURL(a.BasePath, conn.Ref(), created.ID))
}

// deleteRun is POST /runs/:id/delete. Without confirmed=1 (JavaScript
// off) it answers a confirmation page naming the run.
func (a *dashboard) deleteRun(c echo.Context) error {
	conn, cl, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if c.FormValue(views.ConfirmField) != "1" {
		run, err := cl.GetEditRun(ctx, id)
		if err != nil {
			return err
		}
		b, err := a.base(c, "Delete run", views.NavRuns)
		if err != nil {
			return err
		}
		name := id
		if run.File.Name != "" {
			name += " (" + run.File.Name + ")"
		}
		return a.render(c, http.StatusOK, views.ConfirmView(views.ConfirmPage{
			Base:         b,
			Heading:      "Delete run " + id + "?",
			Message:      "Extend permanently deletes run " + name + " and all its data, including the edited PDF. This cannot be undone.",
			ActionURL:    safeRedirect(a.BasePath, views.RunDeleteURL(a.BasePath, conn.Ref(), id)),
			ConfirmLabel: "Delete run",
			CancelURL:    safeRedirect(a.BasePath, views.RunURL(a.BasePath, conn.Ref(), id)),
		}))
	}
	if err := cl.DeleteEditRun(ctx, id); err != nil {
		return err
	}
	a.presigned.dropRun(conn.Tenant, id)
	a.ingestGone(c, conn, id)
	if err := a.audit(c, store.AuditDelete, conn.Tenant, id, "deleted permanently"); err != nil {
		return err
	}
	if err := a.setFlash(c, views.FlashSuccess, "Run "+id+" is deleted."); err != nil {
		return err
	}
	return redirect(c, views.RunsURL(a.BasePath, conn.Ref(), views.RunsFilter{}, ""))
}
