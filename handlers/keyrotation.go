package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// Rotating --session-key or --encryption-key (new key first, old ones kept)
// logs nobody out: the first key signs and seals, all of them open. Once
// an old key is dropped, whatever only it could open ends here, and the
// person is told so and sent to the connect page instead of meeting an
// error.

// sessEnded marks, for one request, a new session that replaces one the
// browser still named: SessionStore.New sets it, explainEndedSession takes
// it out before anything saves.
const sessEnded = "ew.ended"

// ctxEnded carries the reason to the connect page of the same request.
const ctxEnded = "ew.ended"

// paramEnded tells the connect page, after the redirect, why the session
// ended. Only known reasons show a message, so a link cannot make the page
// say anything else.
const paramEnded = "ended"

// Why a session the browser named is no more.
const (
	sessionKeyRetired = "key-retired"
	sessionExpired    = "expired"
	sessionUnreadable = "unreadable"
)

func markEnded(sess *sessions.Session, reason string) { sess.Values[sessEnded] = reason }

// cookieRejection tells a cookie no session key verifies (signed with a
// retired key, or forged) from one that is merely past its lifetime.
func cookieRejection(err error) string {
	var multi securecookie.MultiError
	if !errors.As(err, &multi) {
		return sessionUnreadable
	}
	reason := sessionUnreadable
	for _, e := range multi {
		switch {
		case errors.Is(e, securecookie.ErrMacInvalid):
			return sessionKeyRetired
		case strings.Contains(e.Error(), "expired timestamp"): // securecookie does not export it
			reason = sessionExpired
		}
	}
	return reason
}

func endedSessionMessage(reason string) (string, bool) {
	switch reason {
	case sessionKeyRetired:
		return "Your session has ended: this Editwatch's keys were rotated since you connected, and the old one that secured your session is retired. Connect your workspace again; nothing else was lost.", true
	case sessionExpired:
		return "Your session expired. Connect your workspace again to continue where you were.", true
	case sessionUnreadable:
		return "Your session could not be read and has ended. Connect your workspace again to continue.", true
	}
	return "", false
}

// explainEndedSession sends a page request whose session just ended to
// the connect page, which says why and comes back to the page afterwards.
// Nothing is stored for it (a forged cookie must not cost a session row):
// the dead cookie is expired and the reason travels in the URL.
// Other requests carry on with a fresh session; the connect form itself
// shows the reason.
func (a *App) explainEndedSession() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sess := sessionOf(c)
			if sess == nil {
				return next(c)
			}
			reason, ok := sess.Values[sessEnded].(string)
			if !ok {
				return next(c)
			}
			delete(sess.Values, sessEnded)
			r := c.Request()
			// The browser forgets the dead cookie, so this happens once; a
			// session saved later in this response sets a new one after it.
			a.Sessions.expireCookie(c.Response(), r)
			if (r.Method != http.MethodGet && r.Method != http.MethodHead) || c.Path() == a.path(views.RouteConnect) {
				c.Set(ctxEnded, reason)
				return next(c)
			}
			q := url.Values{paramEnded: {reason}}
			if back := a.returnPath(c); back != "" {
				q.Set(views.ParamNext, back)
			}
			to := a.path(views.RouteConnect) + "?" + q.Encode()
			if r.Header.Get("HX-Request") != "" {
				// A poll must not swap the connect page into a table row:
				// htmx loads the whole page instead.
				c.Response().Header().Set("HX-Redirect", to)
				return c.NoContent(http.StatusNoContent)
			}
			return redirect(c, to)
		}
	}
}

// endedNotice is what the connect page says about a session that just
// ended: this request's own, or the one the redirect came from.
func endedNotice(c echo.Context) (views.Flash, bool) {
	reason, _ := c.Get(ctxEnded).(string)
	if reason == "" {
		reason = c.QueryParam(paramEnded)
	}
	msg, ok := endedSessionMessage(reason)
	return views.Flash{Kind: views.FlashWarning, Message: msg}, ok
}

// expireCookie tells the browser to drop its session cookie.
func (s *SessionStore) expireCookie(w http.ResponseWriter, r *http.Request) {
	opts := s.options(r)
	opts.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(s.cookieName, "", opts))
}

// dropUnreadableConnection handles a connection whose API key was sealed
// with a retired encryption key: it can never be opened again, so it is
// deleted, and the person is asked to connect the workspace again.
func (a *App) dropUnreadableConnection(c echo.Context, conn connection, cause error) error {
	ctx := c.Request().Context()
	a.Logger.WarnContext(ctx, "connection key sealed with a retired encryption key; removing the connection",
		"request_id", requestIDOf(c), "workspace", conn.Ref())
	if err := a.Store.DeleteConnection(ctx, conn.SessionID, conn.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	c.Set(ctxConnections, nil)
	c.Set(ctxConnection, nil)
	if err := a.audit(c, store.AuditDisconnect, conn.Tenant, conn.Ref(), "key …"+conn.KeyLast4+" sealed with a retired encryption key; removed"); err != nil {
		return err
	}
	return &PageError{Status: http.StatusForbidden, Heading: "Connect workspace " + conn.Label() + " again", Category: "not connected",
		Explanation: "The API key of " + conn.Label() + " was stored encrypted with a key this Editwatch no longer has: its encryption keys were rotated and the old one retired. " +
			"The unreadable key has been removed; connect the workspace again to continue.",
		ConnectWorkspace: connectableWorkspace(conn.Ref()), Err: cause}
}
