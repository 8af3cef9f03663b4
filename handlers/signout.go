package handlers

import (
	"net/http"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// signOut is POST /signout. Editwatch cannot see a sign-out at the SSO
// proxy, so its own Sign out ends the Editwatch session first: the
// session and its connected keys are deleted, each key audited as
// Disconnect audits it. Then the browser goes, through the signed-out
// page, to the proxy's sign-out (SignOutURL), so that the next visit goes
// back through the provider; without one only the Editwatch session ends.
func (a *dashboard) signOut(c echo.Context) error {
	sess := middleware.SessionOf(c)
	if sess != nil && sess.ID != "" {
		conns, err := a.connections(c)
		if err != nil {
			return err
		}
		for _, conn := range conns {
			if err := a.audit(c, store.AuditDisconnect, conn.Tenant, conn.Ref(), "key …"+conn.KeyLast4+" deleted at sign-out"); err != nil {
				return err
			}
		}
		c.Set(ctxConnections, nil)
		// A negative MaxAge makes the session store delete the session,
		// its connections with it, and expire the cookie.
		sess.Options = &sessions.Options{MaxAge: -1}
		if err := a.saveSession(c); err != nil {
			return err
		}
	}
	if a.SignOutURL != "" {
		return redirect(c, views.SignOutURL(a.BasePath))
	}
	return redirect(c, views.ConnectURL(a.BasePath, ""))
}

// signedOut is GET /signout: the page that sends the browser on to the
// proxy's sign-out. It changes nothing, so it needs no token; without
// --sign-out-url there is nowhere to go but the connect page.
func (a *dashboard) signedOut(c echo.Context) error {
	if a.SignOutURL == "" {
		return redirect(c, views.ConnectURL(a.BasePath, ""))
	}
	b := a.plainBase(c, "Signed out")
	// The proxy still vouches for the user until its own sign-out; the
	// page does not offer Sign out again meanwhile.
	b.User, b.RefreshTo = "", a.SignOutURL
	return a.render(c, http.StatusOK, views.SignedOut(b, a.SignOutURL))
}
