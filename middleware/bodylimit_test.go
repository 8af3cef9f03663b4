package middleware

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

const testBodyLimit = 256

// bodyLimitEcho registers a listed form route, a listed raw route, an
// unlisted route, an open path and a listed open path behind the limits.
// Form handlers answer the "name" field and whether the form was parsed
// before they ran; raw handlers answer the length they read.
func bodyLimitEcho(t *testing.T) *catchingEcho {
	t.Helper()
	e := newCatchingEcho()
	limits := NewBodyLimits(func(path string) bool { return strings.HasPrefix(path, "/ew/_sandbox/") })
	e.Use(limits.Middleware())
	form := func(c echo.Context) error {
		parsed := c.Request().PostForm != nil
		return c.String(http.StatusOK, "parsed="+strconv.FormatBool(parsed)+" name="+c.FormValue("name"))
	}
	raw := func(c echo.Context) error {
		parsed := c.Request().PostForm != nil
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, "parsed="+strconv.FormatBool(parsed)+" read="+strconv.Itoa(len(b)))
	}
	limits.Form(e.POST("/ew/connect", form), testBodyLimit, "The connect form")
	e.GET("/ew/connect", form)
	limits.Raw(e.POST("/ew/runs/new", raw), testBodyLimit, "An upload")
	e.POST("/ew/other", form)
	e.POST("/ew/_sandbox/v1/files", raw)
	limits.Raw(e.POST("/ew/_sandbox/v1/small", raw), testBodyLimit, "A sandbox upload")
	return e
}

// hiddenLength hides a body's length from httptest.NewRequest, as a
// chunked request does: ContentLength is -1.
type hiddenLength struct{ io.Reader }

func bodyRequest(method, target, contentType, body string, chunked bool) *http.Request {
	var r io.Reader = strings.NewReader(body)
	if chunked {
		r = hiddenLength{r}
	}
	req := httptest.NewRequest(method, target, r)
	if chunked {
		req.TransferEncoding = []string{"chunked"}
	}
	if contentType != "" {
		req.Header.Set(echo.HeaderContentType, contentType)
	}
	return req
}

func multipartBody(t *testing.T, fields map[string]string) (contentType, body string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.String()
}

func TestBodyLimits(t *testing.T) {
	const form = echo.MIMEApplicationForm
	small := "name=ada"
	large := "name=" + strings.Repeat("a", testBodyLimit)
	multipartType, multipartSmall := multipartBody(t, map[string]string{"name": "ada"})
	_, multipartLarge := multipartBody(t, map[string]string{"name": strings.Repeat("a", 2*testBodyLimit)})
	defaultLarge := "name=" + strings.Repeat("a", DefaultFormLimit)
	defaultExact := "name=" + strings.Repeat("a", DefaultFormLimit-len("name="))

	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		chunked     bool
		wantStatus  int
		wantBody    string   // when the handler answers
		wantWords   []string // in the refusal's explanation
		wantTooBig  bool     // the error chain holds *http.MaxBytesError
	}{
		{"form within its limit is parsed first", http.MethodPost, "/ew/connect", form, small, false, http.StatusOK, "parsed=true name=ada", nil, false},
		{"multipart form within its limit", http.MethodPost, "/ew/connect", multipartType, multipartSmall, false, http.StatusOK, "parsed=true name=ada", nil, false},
		{"form over its limit", http.MethodPost, "/ew/connect", form, large, false, http.StatusRequestEntityTooLarge, "",
			[]string{"The connect form", "256 bytes", "this one is 261 bytes"}, false},
		{"chunked form lying about its size", http.MethodPost, "/ew/connect", form, large, true, http.StatusRequestEntityTooLarge, "",
			[]string{"The connect form", "256 bytes", "larger"}, true},
		{"chunked multipart form over its limit", http.MethodPost, "/ew/connect", multipartType, multipartLarge, true, http.StatusRequestEntityTooLarge, "",
			[]string{"The connect form"}, true},
		{"unreadable form", http.MethodPost, "/ew/connect", form, "name=%zz", false, http.StatusBadRequest, "",
			[]string{"could not be read"}, false},
		{"multipart form without a boundary", http.MethodPost, "/ew/connect", "multipart/form-data", "name=ada", false, http.StatusBadRequest, "",
			[]string{"could not be read"}, false},
		{"form route GET is not parsed", http.MethodGet, "/ew/connect?name=ada", "", "", false, http.StatusOK, "parsed=false name=ada", nil, false},
		{"raw route within its limit is left to its handler", http.MethodPost, "/ew/runs/new", form, small, false, http.StatusOK, "parsed=false read=8", nil, false},
		{"raw route over its limit", http.MethodPost, "/ew/runs/new", "application/pdf", strings.Repeat("%", 2*testBodyLimit), false, http.StatusRequestEntityTooLarge, "",
			[]string{"An upload", "256 bytes", "this one is 512 bytes"}, false},
		{"chunked raw route over its limit fails the handler's read", http.MethodPost, "/ew/runs/new", "application/pdf", strings.Repeat("%", 2*testBodyLimit), true,
			http.StatusInternalServerError, "", nil, true},
		{"unlisted route within the default limit", http.MethodPost, "/ew/other", form, defaultExact, false, http.StatusOK, "parsed=true name=" + defaultExact[len("name="):], nil, false},
		{"unlisted route over the default limit", http.MethodPost, "/ew/other", form, defaultLarge, false, http.StatusRequestEntityTooLarge, "",
			[]string{"A form", FormatSize(DefaultFormLimit)}, false},
		{"unlisted chunked form over the default limit", http.MethodPost, "/ew/other", form, defaultLarge, true, http.StatusRequestEntityTooLarge, "",
			[]string{"A form", "larger"}, true},
		{"unknown path over the default limit", http.MethodPost, "/ew/nowhere", form, defaultLarge, false, http.StatusRequestEntityTooLarge, "",
			[]string{"A form"}, false},
		{"open path is untouched", http.MethodPost, "/ew/_sandbox/v1/files", form, defaultLarge + "&x=%zz", true, http.StatusOK,
			"parsed=false read=" + strconv.Itoa(len(defaultLarge+"&x=%zz")), nil, false},
		{"listed open path is capped", http.MethodPost, "/ew/_sandbox/v1/small", "application/pdf", large, false, http.StatusRequestEntityTooLarge, "",
			[]string{"A sandbox upload"}, false},
	}
	e := bodyLimitEcho(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := e.serve(bodyRequest(tt.method, tt.path, tt.contentType, tt.body, tt.chunked))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (error %v, body %.200q)", rec.Code, tt.wantStatus, err, rec.Body.String())
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("handler answered %.200q, want %.200q", rec.Body.String(), tt.wantBody)
			}
			var tooBig *http.MaxBytesError
			if got := errors.As(err, &tooBig); got != tt.wantTooBig {
				t.Errorf("error chain holds *http.MaxBytesError = %v, want %v (error %v)", got, tt.wantTooBig, err)
			}
			if tt.wantWords == nil {
				if refusalOf(err) != nil {
					t.Errorf("unexpected refusal %v", err)
				}
				return
			}
			refusal := refusalOf(err)
			if refusal == nil {
				t.Fatalf("error %v is no *Refusal", err)
			}
			if refusal.Status != tt.wantStatus {
				t.Errorf("refusal status %d, want %d", refusal.Status, tt.wantStatus)
			}
			for _, w := range tt.wantWords {
				if !strings.Contains(refusal.Explanation, w) {
					t.Errorf("explanation %q does not say %q", refusal.Explanation, w)
				}
			}
		})
	}
}

// Without an open function every path gets at least the default limit.
func TestBodyLimitsWithoutOpenPaths(t *testing.T) {
	e := newCatchingEcho()
	e.Use(NewBodyLimits(nil).Middleware())
	e.POST("/ew/_sandbox/v1/files", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	tests := []struct {
		size       int
		wantStatus int
	}{
		{DefaultFormLimit, http.StatusOK},
		{DefaultFormLimit + 1, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		rec, err := e.serve(bodyRequest(http.MethodPost, "/ew/_sandbox/v1/files", "application/pdf", strings.Repeat("x", tt.size), false))
		if rec.Code != tt.wantStatus {
			t.Errorf("%d bytes: status %d, want %d (%v)", tt.size, rec.Code, tt.wantStatus, err)
		}
	}
}
