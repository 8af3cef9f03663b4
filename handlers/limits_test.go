package handlers

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// withOptions serves a dashboard built from env's options, changed by
// change, on a new server with a new cookie jar; the store, sandbox and
// session store are shared.
func (env *testEnv) withOptions(change func(*Options)) *testEnv {
	env.t.Helper()
	opts := env.app.Options
	change(&opts)
	v := *env
	v.headers = http.Header{}
	v.build(opts)
	v.srv = httptest.NewServer(v.echo)
	env.t.Cleanup(v.srv.Close)
	jar, _ := cookiejar.New(nil)
	v.client = &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &v
}

// chunked hides a body's length, so the server learns it only by reading.
type chunked struct{ io.Reader }

func TestBodyLimitsPerRoute(t *testing.T) {
	env := seededEnv(t, envOptions{})
	// A small upload limit keeps the bodies small; the slack is the same.
	small := env.withOptions(func(a *Options) { a.MaxUpload = 4 << 10 })
	small.connect(demoKey, demoWS)
	run := findRun(t, small, extendapi.StatusFailed)
	uploadLimit := int64(4<<10) + uploadSlack
	ws := "?ws=" + demoWS

	tests := []struct {
		name, path string
		limit      int64
		what       string
		multipart  bool // the upload routes stream multipart bodies
	}{
		{"connect", "connect", connectBodyLimit, "The connect form", false},
		{"disconnect", "disconnect", actionBodyLimit, "The disconnect form", false},
		{"reveal", "runs/" + run.ID + "/reveal" + ws, actionBodyLimit, "The reveal form", false},
		{"re-run", "runs/" + run.ID + "/rerun" + ws, actionBodyLimit, "The re-run form", false},
		{"delete", "runs/" + run.ID + "/delete" + ws, actionBodyLimit, "The delete form", false},
		{"unknown route", "nowhere", formBodyLimit, "A form", false},
		{"new run", "runs/new" + ws, uploadLimit, "An upload", true},
		{"detect fields", "runs/new/detect" + ws, uploadLimit, "An upload", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Declared too large: refused before anything reads it, CSRF
			// check included (no token is sent).
			body, ctype := oversized(t, tt.limit, tt.multipart)
			req, _ := http.NewRequest(http.MethodPost, small.url(tt.path), bytes.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			r := small.do(req)
			want := fmt.Sprintf("%s may be at most %s", tt.what, middleware.FormatSize(tt.limit))
			if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(errorText(r), want) {
				t.Errorf("declared %d bytes: %d %q, want 413 saying %q", len(body), r.StatusCode, errorText(r), want)
			}

			// Too large without saying so: the read fails at the limit.
			body, ctype = oversized(t, tt.limit, tt.multipart)
			req, _ = http.NewRequest(http.MethodPost, small.url(tt.path), chunked{bytes.NewReader(body)})
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("X-CSRF-Token", small.csrf())
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if req.ContentLength != 0 && req.ContentLength != -1 {
				t.Fatalf("the chunked body has a length: %d", req.ContentLength)
			}
			r = small.do(req)
			if r.StatusCode != http.StatusRequestEntityTooLarge || testid(r.doc(t), "error-category").Text() != "too large" {
				t.Errorf("chunked %d bytes: %d %q, want 413", len(body), r.StatusCode, errorText(r))
			}
		})
	}

	// Within the limit, the form reaches its handler: a connect form of
	// almost the whole limit is read and refused for what it says.
	form := url.Values{views.FieldAPIKey: {""}, "padding": {strings.Repeat("x", connectBodyLimit-200)}}
	if r := small.post("connect", form); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(testid(r.doc(t), "connect-error").Text(), "Enter an API key") {
		t.Errorf("connect form within the limit: %d %s", r.StatusCode, errorText(r))
	}
	// Nothing a refused body asked for happened.
	if _, err := small.extend(demoKey, demoWS).GetEditRun(t.Context(), run.ID); err != nil {
		t.Errorf("the run is gone after refused deletes: %v", err)
	}
	if len(connectionsOf(t, small)) != 1 {
		t.Error("the refused disconnect changed the connections")
	}
}

// oversized is a form body just over limit, urlencoded or multipart. The
// multipart one is made of fields each within the new-run page's field
// limit, so only the body limit can refuse it.
func oversized(t *testing.T, limit int64, multi bool) (body []byte, contentType string) {
	t.Helper()
	if !multi {
		prefix := "_csrf=x&field="
		return []byte(prefix + strings.Repeat("a", int(limit)-len(prefix)+1)), echo.MIMEApplicationForm
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField(views.FieldInput, views.InputUpload)
	for i := 0; int64(buf.Len()) <= limit; i++ {
		_ = mw.WriteField(fmt.Sprintf("padding%d", i), strings.Repeat("p", maxFieldBytes-64))
	}
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}
