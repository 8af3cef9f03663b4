package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/store/storetest"
)

// sessionEcho serves, behind LoadSession, GET /ew/note (the session's
// "note", or "no session") and POST /ew/note (stores the form's note).
func sessionEcho(ss *SessionStore) *catchingEcho {
	e := newCatchingEcho()
	e.Use(ss.LoadSession())
	e.GET("/ew/note", func(c echo.Context) error {
		sess := SessionOf(c)
		if sess == nil {
			return c.String(http.StatusOK, "no session")
		}
		note, _ := sess.Values["note"].(string)
		return c.String(http.StatusOK, "note="+note)
	})
	e.POST("/ew/note", func(c echo.Context) error {
		sess := SessionOf(c)
		sess.Values["note"] = c.FormValue("note")
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	return e
}

func TestLoadSession(t *testing.T) {
	f := newSessionFixture(t, storetest.SQLiteDSN(t), nil)
	e := sessionEcho(f.ss)

	save := bodyRequest(http.MethodPost, "/ew/note", echo.MIMEApplicationForm, "note=hello", false)
	rec, err := e.serve(save)
	if err != nil || rec.Code != http.StatusNoContent {
		t.Fatalf("saving through the loaded session: %d %v", rec.Code, err)
	}
	var cookie *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == f.ss.CookieName() {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatalf("no %s cookie set: %v", f.ss.CookieName(), rec.Header().Values("Set-Cookie"))
	}

	tests := []struct {
		name   string
		cookie *http.Cookie
		want   string
	}{
		{"the saved session", cookie, "note=hello"},
		{"no cookie: a new, empty session", nil, "note="},
		{"a forged cookie: a new, empty session", &http.Cookie{Name: cookie.Name, Value: "forged"}, "note="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/ew/note", nil)
			if tt.cookie != nil {
				req.AddCookie(&http.Cookie{Name: tt.cookie.Name, Value: tt.cookie.Value})
			}
			rec, err := e.serve(req)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Body.String() != tt.want {
				t.Errorf("handler saw %q, want %q", rec.Body.String(), tt.want)
			}
		})
	}
}

// The handler gets the very session the store's Get returns for the
// request, so layers and handlers share one.
func TestSessionOfIsTheRequestsSession(t *testing.T) {
	f := newSessionFixture(t, storetest.SQLiteDSN(t), func(o *SessionStoreOptions) { o.CookieName = "ew_custom" })
	if got := f.ss.CookieName(); got != "ew_custom" {
		t.Fatalf("CookieName() = %q, want the configured ew_custom", got)
	}
	var loaded, got *sessions.Session
	mw := f.ss.LoadSession()
	req := httptest.NewRequest(http.MethodGet, "/ew/", nil)
	c := echo.New().NewContext(req, httptest.NewRecorder())
	err := mw(func(c echo.Context) error {
		got = SessionOf(c)
		var err error
		loaded, err = f.ss.Get(c.Request(), "ew_custom")
		return err
	})(c)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got != loaded {
		t.Fatalf("SessionOf = %p, the store's session %p", got, loaded)
	}
	if got.Name() != "ew_custom" {
		t.Errorf("session name %q, want the cookie name", got.Name())
	}
	if s := SessionOf(echo.New().NewContext(req, httptest.NewRecorder())); s != nil {
		t.Errorf("SessionOf without LoadSession = %v, want nil", s)
	}
}

// A failing database is an error, not a silent new session.
func TestLoadSessionDatabaseFailure(t *testing.T) {
	f := newSessionFixture(t, storetest.SQLiteDSN(t), nil)
	_, cookie := f.visit(t, nil, "", func(s *sessions.Session) { s.Values["v"] = 1 })
	e := sessionEcho(f.ss)
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/ew/note", nil)
	req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	rec, err := e.serve(req)
	if err == nil || !strings.Contains(err.Error(), "load session") {
		t.Fatalf("error %v, want a load session error", err)
	}
	if strings.Contains(rec.Body.String(), "note=") {
		t.Errorf("the handler ran without a session: %q", rec.Body.String())
	}
}
