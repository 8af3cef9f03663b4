package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/store/storetest"
)

const testConnectPath = "/ew/connect"

// endedEcho serves /ew/runs and the connect page behind LoadSession and
// EndedSessions. Handlers answer "handled" plus the notice, if any, and
// whether the ended mark was left in the session.
func endedEcho(ss *SessionStore, returnPath func(echo.Context) string) *catchingEcho {
	e := newCatchingEcho()
	e.Use(ss.LoadSession(), ss.EndedSessions(EndedSessionOptions{ConnectPath: testConnectPath, ReturnPath: returnPath, NextParam: "next"}))
	h := func(c echo.Context) error {
		answer := "handled"
		if msg, ok := EndedSessionNotice(c); ok {
			answer += " notice=" + msg
		}
		if _, marked := SessionOf(c).Values[sessEnded]; marked {
			answer += " still-marked"
		}
		return c.String(http.StatusOK, answer)
	}
	for _, p := range []string{"/ew/runs", testConnectPath} {
		e.GET(p, h)
		e.HEAD(p, h)
		e.POST(p, h)
	}
	return e
}

func TestEndedSessions(t *testing.T) {
	f := newSessionFixture(t, storetest.SQLiteDSN(t), nil)
	_, live := f.visit(t, nil, "", func(s *sessions.Session) { s.Values["v"] = 1 })
	deletedSess, deleted := f.visit(t, nil, "", func(s *sessions.Session) { s.Values["v"] = 2 })
	if err := f.st.DeleteSession(context.Background(), deletedSess.ID); err != nil {
		t.Fatal(err)
	}
	// A cookie signed with a key this store no longer has.
	retiredStore, err := NewSessionStore(f.st, SessionStoreOptions{Path: "/ew/", KeyPairs: [][]byte{randomBytes(t, 32)},
		Idle: time.Hour, MaxAge: 4 * time.Hour, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, retired := (&sessionFixture{st: f.st, ss: retiredStore, clock: f.clock}).visit(t, nil, "", func(s *sessions.Session) { s.Values["v"] = 3 })
	garbage := &http.Cookie{Name: DefaultSessionCookieName, Value: "!!not base64!!"}

	const (
		retiredWords    = "keys were rotated"
		expiredWords    = "Your session expired"
		unreadableWords = "could not be read"
	)
	backToRuns := func(c echo.Context) string { return c.Request().URL.Path }
	tests := []struct {
		name         string
		cookie       *http.Cookie
		method       string
		target       string
		htmx         bool
		returnPath   func(echo.Context) string
		wantStatus   int
		wantTo       string     // Location or HX-Redirect path
		wantQuery    url.Values // its query
		wantNotice   string     // words of the notice the handler reports ("" for none)
		wantExpiring bool       // the dead session cookie is expired
	}{
		{"no cookie", nil, http.MethodGet, "/ew/runs", false, backToRuns, http.StatusOK, "", nil, "", false},
		{"live session", live, http.MethodGet, "/ew/runs", false, backToRuns, http.StatusOK, "", nil, "", false},
		{"retired key: page redirects to connect", retired, http.MethodGet, "/ew/runs", false, backToRuns, http.StatusFound,
			testConnectPath, url.Values{"ended": {"key-retired"}, "next": {"/ew/runs"}}, "", true},
		{"expired: page redirects to connect", deleted, http.MethodGet, "/ew/runs?page=2", false, backToRuns, http.StatusFound,
			testConnectPath, url.Values{"ended": {"expired"}, "next": {"/ew/runs"}}, "", true},
		{"unreadable: page redirects to connect", garbage, http.MethodGet, "/ew/runs", false, backToRuns, http.StatusFound,
			testConnectPath, url.Values{"ended": {"unreadable"}, "next": {"/ew/runs"}}, "", true},
		{"HEAD redirects too", retired, http.MethodHead, "/ew/runs", false, backToRuns, http.StatusFound,
			testConnectPath, url.Values{"ended": {"key-retired"}, "next": {"/ew/runs"}}, "", true},
		{"no return path: no next", retired, http.MethodGet, "/ew/runs", false, nil, http.StatusFound,
			testConnectPath, url.Values{"ended": {"key-retired"}}, "", true},
		{"empty return path: no next", retired, http.MethodGet, "/ew/runs", false, func(echo.Context) string { return "" }, http.StatusFound,
			testConnectPath, url.Values{"ended": {"key-retired"}}, "", true},
		{"htmx request: HX-Redirect and 204", deleted, http.MethodGet, "/ew/runs", true, backToRuns, http.StatusNoContent,
			testConnectPath, url.Values{"ended": {"expired"}, "next": {"/ew/runs"}}, "", true},
		{"POST carries on with the notice", retired, http.MethodPost, "/ew/runs", false, backToRuns, http.StatusOK, "", nil, retiredWords, true},
		{"htmx POST carries on too", deleted, http.MethodPost, "/ew/runs", true, backToRuns, http.StatusOK, "", nil, expiredWords, true},
		{"connect page explains in place", garbage, http.MethodGet, testConnectPath, false, backToRuns, http.StatusOK, "", nil, unreadableWords, true},
		{"connect page after the redirect", nil, http.MethodGet, testConnectPath + "?ended=key-retired", false, backToRuns, http.StatusOK, "", nil, retiredWords, false},
		{"connect page, expired in the URL", live, http.MethodGet, testConnectPath + "?ended=expired", false, backToRuns, http.StatusOK, "", nil, expiredWords, false},
		{"unknown reason in the URL says nothing", nil, http.MethodGet, testConnectPath + "?ended=You+were+hacked", false, backToRuns, http.StatusOK, "", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := endedEcho(f.ss, tt.returnPath)
			req := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.cookie != nil {
				req.AddCookie(&http.Cookie{Name: tt.cookie.Name, Value: tt.cookie.Value})
			}
			if tt.htmx {
				req.Header.Set("HX-Request", "true")
			}
			rec, err := e.serve(req)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tt.wantStatus, rec.Body.String())
			}

			to := rec.Header().Get(echo.HeaderLocation)
			if tt.htmx {
				if to != "" {
					t.Errorf("htmx request got a Location %q", to)
				}
				to = rec.Header().Get("HX-Redirect")
			}
			if tt.wantTo == "" {
				if to != "" || rec.Header().Get("HX-Redirect") != "" {
					t.Errorf("redirected to %q, want the handler", to)
				}
				if tt.method != http.MethodHead && !strings.HasPrefix(rec.Body.String(), "handled") {
					t.Errorf("handler did not run: %q", rec.Body.String())
				}
			} else {
				u, err := url.Parse(to)
				if err != nil {
					t.Fatal(err)
				}
				if u.Path != tt.wantTo {
					t.Errorf("sent to %q, want %q", u.Path, tt.wantTo)
				}
				if diff := cmp.Diff(tt.wantQuery, u.Query()); diff != "" {
					t.Errorf("redirect query (-want +got):\n%s", diff)
				}
			}

			body := rec.Body.String()
			if strings.Contains(body, "still-marked") {
				t.Errorf("the ended mark was left in the session for the handler")
			}
			notice, hasNotice := strings.CutPrefix(body, "handled notice=")
			switch {
			case tt.wantNotice == "" && hasNotice:
				t.Errorf("unexpected notice %q", notice)
			case tt.wantNotice != "" && !strings.Contains(notice, tt.wantNotice):
				t.Errorf("notice %q, want one saying %q", body, tt.wantNotice)
			}

			expiring := false
			for _, ck := range rec.Result().Cookies() {
				if ck.Name == DefaultSessionCookieName && ck.MaxAge < 0 && ck.Path == "/ew" {
					expiring = true
				}
			}
			if expiring != tt.wantExpiring {
				t.Errorf("dead session cookie expired = %v, want %v (%v)", expiring, tt.wantExpiring, rec.Header().Values("Set-Cookie"))
			}
		})
	}
}

// Without LoadSession before it (the open paths), the layer lets requests
// through.
func TestEndedSessionsWithoutSession(t *testing.T) {
	f := newSessionFixture(t, storetest.SQLiteDSN(t), nil)
	mw := f.ss.EndedSessions(EndedSessionOptions{ConnectPath: testConnectPath})
	req := httptest.NewRequest(http.MethodGet, "/ew/healthz", nil)
	req.AddCookie(&http.Cookie{Name: DefaultSessionCookieName, Value: "!!not base64!!"})
	rec := httptest.NewRecorder()
	ran := false
	err := mw(func(c echo.Context) error { ran = true; return nil })(echo.New().NewContext(req, rec))
	if err != nil || !ran || rec.Header().Get(echo.HeaderLocation) != "" {
		t.Fatalf("ran %v, err %v, Location %q: want the handler to run", ran, err, rec.Header().Get(echo.HeaderLocation))
	}
}
