package handlers

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// revealAll is POST /runs/:id/reveal-all: shows every filled value of the
// run, after one audit entry that says how many and, when given, why.
func (a *dashboard) revealAll(c echo.Context) error {
	conn, cl, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	run, err := cl.GetEditRun(c.Request().Context(), id)
	if err != nil {
		return err
	}
	model, err := runPageModel(*run, conn.Ref(), nil)
	if err != nil {
		return err
	}
	var keys []string
	for _, v := range model.FilledValues {
		if v.Value.RevealKey != "" {
			keys = append(keys, v.Value.RevealKey)
		}
	}
	if len(keys) == 0 {
		return redirect(c, safeRedirect(a.BasePath, views.RunURL(a.BasePath, conn.Ref(), id)+"#filled-values-title"))
	}
	detail := "revealed all " + strconv.Itoa(len(keys)) + " filled values"
	if reason := revealReason(c.FormValue(views.ParamRevealReason)); reason != "" {
		detail += ": " + reason
	}
	if err := a.audit(c, store.AuditReveal, conn.Tenant, id, detail); err != nil {
		return err
	}
	if err := a.rememberReveals(c, conn.Ref(), id, keys...); err != nil {
		return err
	}
	return redirect(c, safeRedirect(a.BasePath, views.RunURL(a.BasePath, conn.Ref(), id)+"#filled-values-title"))
}

// revealReason is the reason as the audit log keeps it: one line, at most
// views.MaxRevealReason characters.
func revealReason(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > views.MaxRevealReason {
		s = string([]rune(s)[:views.MaxRevealReason]) + "…"
	}
	return s
}
