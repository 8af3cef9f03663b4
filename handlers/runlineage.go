package handlers

import (
	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// runLineage is what Editwatch recorded of a run's re-runs, for its page;
// nil when the session may not read the tenant's history (or it cannot be
// read: the page does without).
func (a *dashboard) runLineage(c echo.Context, conn connection, id string) *views.RunLineage {
	if !granted(c, conn.Tenant) {
		return nil
	}
	l, err := a.Store.RunLineage(c.Request().Context(), conn.Tenant, id)
	if err != nil {
		a.Logger.WarnContext(c.Request().Context(), "run page: read lineage", "request_id", middleware.RequestIDOf(c), "err", err)
		return nil
	}
	return &views.RunLineage{RerunOf: l.RerunOf, RerunAs: l.RerunAs}
}
