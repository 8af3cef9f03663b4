package middleware

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
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

// EndedSessionOptions configure EndedSessions.
type EndedSessionOptions struct {
	// ConnectPath is the connect page's path (base path included): where
	// a page request whose session ended is sent, and the one page that
	// explains it in place.
	ConnectPath string
	// ReturnPath is the page this request shows, as a safe next= value
	// for coming back after connecting ("" for none).
	ReturnPath func(c echo.Context) string
	// NextParam is the connect page's query parameter for that path
	// (views.ParamNext).
	NextParam string
}

// EndedSessions sends a page request whose session just ended to the
// connect page, which says why and comes back to the page afterwards.
// Nothing is stored for it (a forged cookie must not cost a session row):
// the dead cookie is expired and the reason travels in the URL. Other
// requests carry on with a fresh session; the connect form itself shows
// the reason (EndedSessionNotice). It runs after LoadSession.
func (s *SessionStore) EndedSessions(opts EndedSessionOptions) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sess := SessionOf(c)
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
			s.expireCookie(c.Response(), r)
			if (r.Method != http.MethodGet && r.Method != http.MethodHead) || c.Path() == opts.ConnectPath {
				c.Set(ctxEnded, reason)
				return next(c)
			}
			q := url.Values{paramEnded: {reason}}
			if opts.ReturnPath != nil && opts.NextParam != "" {
				if back := opts.ReturnPath(c); back != "" {
					q.Set(opts.NextParam, back)
				}
			}
			to := opts.ConnectPath + "?" + q.Encode()
			if r.Header.Get("HX-Request") != "" {
				// A poll must not swap the connect page into a table row:
				// htmx loads the whole page instead.
				c.Response().Header().Set("HX-Redirect", to)
				return c.NoContent(http.StatusNoContent)
			}
			code := http.StatusFound
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				code = http.StatusSeeOther
			}
			return c.Redirect(code, to)
		}
	}
}

// EndedSessionNotice is what the connect page says about a session that
// just ended: this request's own, or the one the redirect came from.
func EndedSessionNotice(c echo.Context) (string, bool) {
	reason, _ := c.Get(ctxEnded).(string)
	if reason == "" {
		reason = c.QueryParam(paramEnded)
	}
	return endedSessionMessage(reason)
}

// expireCookie tells the browser to drop its session cookie.
func (s *SessionStore) expireCookie(w http.ResponseWriter, r *http.Request) {
	opts := s.options(r)
	opts.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(s.cookieName, "", opts))
}
