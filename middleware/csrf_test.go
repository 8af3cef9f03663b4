package middleware

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
)

const testCSRFToken = "c5rf_token_of_the_cookie_0123456789abcdef"

// csrfEcho serves POST/PUT /ew/act ("acted") and GET /ew/page (the form's
// token) behind the CSRF layer; /ew/upload is skipped.
func csrfEcho(opts CSRFOptions) (*catchingEcho, *CSRF) {
	x := NewCSRF(opts)
	e := newCatchingEcho()
	e.Use(x.Middleware())
	acted := func(c echo.Context) error { return c.String(http.StatusOK, "acted") }
	e.POST("/ew/act", acted)
	e.PUT("/ew/act", acted)
	e.POST("/ew/upload", acted)
	e.GET("/ew/page", func(c echo.Context) error { return c.String(http.StatusOK, x.Token(c)) })
	return e, x
}

func TestCSRFMiddleware(t *testing.T) {
	opts := CSRFOptions{BasePath: "/ew/", Skip: func(c echo.Context) bool { return c.Request().URL.Path == "/ew/upload" }}
	masked := MaskCSRFToken(testCSRFToken)
	maskedOther := MaskCSRFToken("another_token_entirely_0123456789abcdef")
	tests := []struct {
		name          string
		method        string
		path          string
		cookie        bool // the request carries the CSRF cookie
		field         string
		header        string
		secFetchSite  string
		wantPass      bool
		wantRefusalBy bool // refused with CSRFRefusal (else some 403)
	}{
		{"POST without cookie or token", http.MethodPost, "/ew/act", false, "", "", "", false, true},
		{"POST without token", http.MethodPost, "/ew/act", true, "", "", "", false, true},
		{"POST with a wrong field", http.MethodPost, "/ew/act", true, "not-the-token", "", "", false, true},
		{"POST with a wrong header", http.MethodPost, "/ew/act", true, "", "not-the-token", "", false, true},
		{"POST with a token but no cookie", http.MethodPost, "/ew/act", false, testCSRFToken, "", "", false, true},
		{"POST with another token masked", http.MethodPost, "/ew/act", true, maskedOther, "", "", false, true},
		{"PUT without token", http.MethodPut, "/ew/act", true, "", "", "", false, true},
		{"POST with the cookie's token as field", http.MethodPost, "/ew/act", true, testCSRFToken, "", "", true, false},
		{"POST with the cookie's token as header", http.MethodPost, "/ew/act", true, "", testCSRFToken, "", true, false},
		{"POST with a masked field", http.MethodPost, "/ew/act", true, masked, "", "", true, false},
		{"POST with a masked header", http.MethodPost, "/ew/act", true, "", masked, "", true, false},
		{"skipped POST without token", http.MethodPost, "/ew/upload", false, "", "", "", true, false},
		{"same-origin browser POST without token", http.MethodPost, "/ew/act", false, "", "", "same-origin", true, false},
		{"same-site browser POST without token", http.MethodPost, "/ew/act", true, "", "", "same-site", false, true},
		{"cross-site browser POST with the token", http.MethodPost, "/ew/act", true, testCSRFToken, "", "cross-site", false, false},
		{"GET without token", http.MethodGet, "/ew/page", false, "", "", "", true, false},
	}
	e, _ := csrfEcho(opts)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body string
			contentType := ""
			if tt.field != "" {
				body = url.Values{CSRFFormField: {tt.field}, "run": {"run_1"}}.Encode()
				contentType = echo.MIMEApplicationForm
			}
			req := bodyRequest(tt.method, tt.path, contentType, body, false)
			if tt.cookie {
				req.AddCookie(&http.Cookie{Name: CSRFCookieName, Value: testCSRFToken})
			}
			if tt.header != "" {
				req.Header.Set(echo.HeaderXCSRFToken, tt.header)
			}
			if tt.secFetchSite != "" {
				req.Header.Set("Sec-Fetch-Site", tt.secFetchSite)
			}
			rec, err := e.serve(req)
			if tt.wantPass {
				if rec.Code != http.StatusOK || err != nil {
					t.Fatalf("refused: status %d, error %v", rec.Code, err)
				}
				return
			}
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403 (error %v, body %q)", rec.Code, err, rec.Body.String())
			}
			if !tt.wantRefusalBy {
				return
			}
			refusal := refusalOf(err)
			if refusal == nil {
				t.Fatalf("error %v is no *Refusal", err)
			}
			want := CSRFRefusal(nil)
			got := *refusal
			got.Err = nil
			if diff := cmp.Diff(*want, got); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
			if refusal.Err == nil {
				t.Errorf("refusal keeps no cause for the log")
			}
		})
	}
}

func TestCSRFRefusal(t *testing.T) {
	cause := echomw.ErrCSRFInvalid
	r := CSRFRefusal(cause)
	if r.Status != http.StatusForbidden || r.Category != "csrf" || r.Unwrap() != cause {
		t.Errorf("CSRFRefusal = %+v", r)
	}
	if !strings.Contains(r.Explanation, "reload the page") {
		t.Errorf("explanation %q does not tell the user what to do", r.Explanation)
	}
}

// The cookie the layer sets is scoped to the base path and Secure when the
// browser came over https.
func TestCSRFMiddlewareCookie(t *testing.T) {
	tests := []struct {
		name       string
		basePath   string
		isHTTPS    func(*http.Request) bool
		tls        bool
		wantPath   string
		wantSecure bool
	}{
		{"plain http", "/ew/", func(*http.Request) bool { return false }, false, "/ew", false},
		{"https says the proxy", "/ew/", func(*http.Request) bool { return true }, false, "/ew", true},
		{"direct TLS, default IsHTTPS", "/", nil, true, "/", true},
		{"plain http, default IsHTTPS", "", nil, false, "/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := csrfEcho(CSRFOptions{BasePath: tt.basePath, IsHTTPS: tt.isHTTPS})
			req := httptest.NewRequest(http.MethodGet, "/ew/page", nil)
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec, err := e.serve(req)
			if err != nil {
				t.Fatal(err)
			}
			ck := csrfCookie(t, rec)
			if ck.Value != rec.Body.String() {
				t.Errorf("cookie holds %q, the page's token is %q", ck.Value, rec.Body.String())
			}
			got := cookieShape{ck.Path, ck.Secure, ck.HttpOnly, ck.SameSite}
			want := cookieShape{tt.wantPath, tt.wantSecure, true, http.SameSiteLaxMode}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cookie (-want +got):\n%s", diff)
			}
		})
	}
}

type cookieShape struct {
	Path     string
	Secure   bool
	HttpOnly bool
	SameSite http.SameSite
}

// csrfCookie returns the one CSRF cookie the response sets.
func csrfCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	var found []*http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == CSRFCookieName {
			found = append(found, ck)
		}
	}
	if len(found) != 1 {
		t.Fatalf("response sets %d CSRF cookies, want 1 (%v)", len(found), rec.Header().Values("Set-Cookie"))
	}
	return found[0]
}

func TestCSRFToken(t *testing.T) {
	tests := []struct {
		name       string
		isHTTPS    bool
		cookie     string // on the request
		inContext  string // what the middleware left
		wantToken  string // "" for a fresh one
		wantCookie bool
	}{
		{"fresh token, plain http", false, "", "", "", true},
		{"fresh token, https", true, "", "", "", true},
		{"the request's cookie", false, testCSRFToken, "", testCSRFToken, false},
		{"the middleware's token", false, "", testCSRFToken, testCSRFToken, false},
		{"same-origin marker is no token: the cookie's", false, testCSRFToken, echomw.CSRFUsingSecFetchSite, testCSRFToken, false},
		{"same-origin marker is no token: a fresh one", true, "", echomw.CSRFUsingSecFetchSite, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewCSRF(CSRFOptions{BasePath: "/ew/", IsHTTPS: func(*http.Request) bool { return tt.isHTTPS }})
			req := httptest.NewRequest(http.MethodGet, "/ew/page", nil)
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: CSRFCookieName, Value: tt.cookie})
			}
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(req, rec)
			if tt.inContext != "" {
				c.Set(ctxCSRF, tt.inContext)
			}
			token := x.Token(c)
			if again := x.Token(c); again != token {
				t.Errorf("second Token in one request = %q, first %q", again, token)
			}
			if tt.wantToken != "" && token != tt.wantToken {
				t.Errorf("Token = %q, want %q", token, tt.wantToken)
			}
			if tt.wantToken == "" && (len(token) != 48 || token == echomw.CSRFUsingSecFetchSite) {
				t.Errorf("fresh Token = %q, want 48 hex digits", token)
			}
			if !tt.wantCookie {
				if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("Token set cookies %v, want none", sc)
				}
				return
			}
			ck := csrfCookie(t, rec)
			if ck.Value != token {
				t.Errorf("cookie holds %q, Token gave %q", ck.Value, token)
			}
			got := cookieShape{ck.Path, ck.Secure, ck.HttpOnly, ck.SameSite}
			want := cookieShape{"/ew", tt.isHTTPS, true, http.SameSiteLaxMode}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cookie (-want +got):\n%s", diff)
			}
		})
	}
}

// A token a page got from Token, masked as pages carry it, is accepted by
// the middleware with the cookie Token set.
func TestCSRFTokenRoundTrip(t *testing.T) {
	e, _ := csrfEcho(CSRFOptions{BasePath: "/ew/"})
	page, err := e.serve(httptest.NewRequest(http.MethodGet, "/ew/page", nil))
	if err != nil {
		t.Fatal(err)
	}
	ck := csrfCookie(t, page)
	for _, sent := range []string{page.Body.String(), MaskCSRFToken(page.Body.String())} {
		req := bodyRequest(http.MethodPost, "/ew/act", echo.MIMEApplicationForm, url.Values{CSRFFormField: {sent}}.Encode(), false)
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		if rec, err := e.serve(req); rec.Code != http.StatusOK {
			t.Errorf("token %q refused: %d %v", sent, rec.Code, err)
		}
	}
}

func TestTokenCheck(t *testing.T) {
	masked := MaskCSRFToken(testCSRFToken)
	tests := []struct {
		name         string
		cookie       string
		secFetchSite string
		header       string
		offers       []string
		want         bool
	}{
		{"nothing", testCSRFToken, "", "", nil, false},
		{"no cookie, nothing", "", "", "", nil, false},
		{"same-origin browser", "", "same-origin", "", nil, true},
		{"typed-in navigation", "", "none", "", nil, true},
		{"same-site browser", testCSRFToken, "same-site", "", nil, false},
		{"cross-site browser", testCSRFToken, "cross-site", "", nil, false},
		{"matching header", testCSRFToken, "", testCSRFToken, nil, true},
		{"masked header", testCSRFToken, "", masked, nil, true},
		{"wrong header", testCSRFToken, "", "wrong", nil, false},
		{"header without cookie", "", "", testCSRFToken, nil, false},
		{"offered field matches", testCSRFToken, "", "", []string{testCSRFToken}, true},
		{"offered masked field", testCSRFToken, "", "", []string{masked}, true},
		{"wrong offer", testCSRFToken, "", "", []string{"wrong"}, false},
		{"empty offer", testCSRFToken, "", "", []string{""}, false},
		{"offer without cookie", "", "", "", []string{testCSRFToken}, false},
		{"a wrong offer after a right one keeps it verified", testCSRFToken, "", "", []string{masked, "wrong"}, true},
		{"a right offer after a wrong one", testCSRFToken, "same-site", "wrong", []string{"wrong", testCSRFToken}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/ew/runs/new", nil)
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: CSRFCookieName, Value: tt.cookie})
			}
			if tt.secFetchSite != "" {
				req.Header.Set("Sec-Fetch-Site", tt.secFetchSite)
			}
			if tt.header != "" {
				req.Header.Set("X-CSRF-Token", tt.header)
			}
			check := NewTokenCheck(req)
			for _, offer := range tt.offers {
				check.Offer(offer)
			}
			if got := check.Verified(); got != tt.want {
				t.Errorf("Verified() = %v, want %v", got, tt.want)
			}
		})
	}
}

// Skipped requests (uploads) check their token while streaming the body
// themselves: the layer must not read it first, even to unmask a token.
func TestCSRFLeavesSkippedBodiesUnread(t *testing.T) {
	x := NewCSRF(CSRFOptions{BasePath: "/ew/", Skip: func(c echo.Context) bool { return c.Request().URL.Path == "/ew/upload" }})
	e := newCatchingEcho()
	e.Use(x.Middleware())
	e.POST("/ew/upload", func(c echo.Context) error {
		parsed := c.Request().PostForm != nil || c.Request().MultipartForm != nil
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, "parsed="+strconv.FormatBool(parsed)+" read="+strconv.Itoa(len(b)))
	})
	multipartType, multipartForm := multipartBody(t, map[string]string{CSRFFormField: MaskCSRFToken(testCSRFToken)})
	urlencoded := url.Values{CSRFFormField: {MaskCSRFToken(testCSRFToken)}}.Encode()
	tests := []struct {
		name, contentType, body string
	}{
		{"multipart upload", multipartType, multipartForm},
		{"urlencoded body", echo.MIMEApplicationForm, urlencoded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := bodyRequest(http.MethodPost, "/ew/upload", tt.contentType, tt.body, true)
			req.AddCookie(&http.Cookie{Name: CSRFCookieName, Value: testCSRFToken})
			rec, err := e.serve(req)
			if err != nil {
				t.Fatal(err)
			}
			if want := "parsed=false read=" + strconv.Itoa(len(tt.body)); rec.Body.String() != want {
				t.Errorf("handler answered %q, want %q", rec.Body.String(), want)
			}
		})
	}
}
