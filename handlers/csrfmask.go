package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// unmaskCSRF lets Echo's CSRF check (which compares plain tokens with the
// cookie) accept the masked tokens pages carry (see plainBase and
// middleware.MaskCSRFToken): a form field or X-CSRF-Token header holding a
// masked copy of the cookie's token is turned back into the token. Runs
// only where that check does: unsafe methods off the open paths and the
// upload routes, which compare tokens themselves (tokenMatches).
func (a *App) unmaskCSRF(c echo.Context) {
	r := c.Request()
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return
	}
	if a.isOpenPath(r.URL.Path) || a.uploadRoute(c) {
		return
	}
	if ck, err := r.Cookie(csrfCookieName); err == nil {
		middleware.UnmaskSubmittedCSRF(r, ck.Value, views.CSRFField, echo.HeaderXCSRFToken)
	}
}
