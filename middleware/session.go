package middleware

import (
	"fmt"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
)

// LoadSession loads the request's server-side session once, for the
// layers and handlers after it (SessionOf). Put it behind Unless for the
// open paths, which have no session.
func (s *SessionStore) LoadSession() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sess, err := s.Get(c.Request(), s.cookieName)
			if err != nil {
				return fmt.Errorf("load session: %w", err)
			}
			c.Set(ctxSession, sess)
			return next(c)
		}
	}
}

// SessionOf is the session LoadSession loaded; nil on open paths.
func SessionOf(c echo.Context) *sessions.Session {
	s, _ := c.Get(ctxSession).(*sessions.Session)
	return s
}

// CookieName is the session cookie's name.
func (s *SessionStore) CookieName() string { return s.cookieName }
