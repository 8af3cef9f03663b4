package middleware

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/labstack/echo/v4"
)

// page is a body well above compressMinSize that compresses well.
var page = "<!doctype html><title>runs</title>" + strings.Repeat("<tr><td>edr_0123</td><td>PROCESSED</td></tr>\n", 200)

// newCompressServer serves a route per kind of response the dashboard
// sends, behind Compress as routes.go installs it.
func newCompressServer(t *testing.T) *httptest.Server {
	t.Helper()
	e := echo.New()
	e.Use(Compress("/runs/:id/download", "/_sandbox/", "/static/"))
	e.GET("/page", func(c echo.Context) error { return c.HTML(http.StatusOK, page) })
	e.GET("/small", func(c echo.Context) error { return c.HTML(http.StatusOK, "<p>ok</p>") })
	e.GET("/json", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"rows": strings.Repeat("x", 4000)})
	})
	e.GET("/export.csv", func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="runs.csv"`)
		c.Response().WriteHeader(http.StatusOK)
		_, err := io.WriteString(c.Response(), strings.Repeat("edr_1,PROCESSED\n", 300))
		return err
	})
	pdf := func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/pdf", []byte("%PDF-1.7\n"+strings.Repeat("0 0 obj\n", 500)))
	}
	e.GET("/file.pdf", pdf)
	e.GET("/_sandbox/files/:id", pdf)
	e.GET("/runs/:id/download", func(c echo.Context) error { return c.HTML(http.StatusOK, page) })
	e.GET("/text-without-type", func(c echo.Context) error {
		_, err := c.Response().Write([]byte(page)) // sniffed as text/html
		return err
	})
	e.GET("/fails", func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusTeapot, strings.Repeat("refused ", 300))
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// rawClient sees the Content-Encoding the server chose: the default
// transport would ask for gzip itself and decode it silently. Its timeout
// only turns a hang (a flush that never reaches the client) into a failure.
func rawClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: time.Minute}
}

func fetch(t *testing.T, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	res, err := rawClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	switch res.Header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: gzip header: %v", url, err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s: gunzip: %v", url, err)
		}
	case "br":
		if body, err = io.ReadAll(brotli.NewReader(bytes.NewReader(body))); err != nil {
			t.Fatalf("%s: brotli: %v", url, err)
		}
	}
	return res, body
}

func TestCompressChoosesByTypeRouteAndAcceptEncoding(t *testing.T) {
	srv := newCompressServer(t)
	tests := []struct {
		path           string
		acceptEncoding string
		extra          http.Header
		want           string // Content-Encoding
	}{
		{"/page", "gzip, deflate, br", nil, "br"},
		{"/page", "gzip", nil, "gzip"},
		{"/page", "br", nil, "br"},
		{"/page", "br;q=0, gzip", nil, "gzip"},
		{"/json", "gzip, deflate, br", nil, "br"},
		{"/export.csv", "gzip, deflate, br", nil, "br"},
		{"/page", "", nil, ""},
		{"/page", "gzip;q=0", nil, ""},
		{"/small", "gzip", nil, ""},
		{"/json", "gzip", nil, "gzip"},
		{"/export.csv", "gzip", nil, "gzip"},
		{"/text-without-type", "gzip", nil, "gzip"},
		{"/fails", "gzip", nil, ""},
		{"/file.pdf", "gzip", nil, ""},
		{"/_sandbox/files/f1", "gzip", nil, ""},
		{"/runs/edr_1/download", "gzip", nil, ""},
		{"/page", "gzip", http.Header{"Range": {"bytes=0-99"}}, ""},
		{"/page", "gzip", http.Header{"Accept": {"text/event-stream"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.acceptEncoding+" "+strings.Join(tt.extra.Values("Range"), ""), func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.extra {
				h[k] = v
			}
			if tt.acceptEncoding != "" {
				h.Set("Accept-Encoding", tt.acceptEncoding)
			}
			res, body := fetch(t, srv.URL+tt.path, h)
			if got := res.Header.Get("Content-Encoding"); got != tt.want {
				t.Errorf("Content-Encoding = %q, want %q", got, tt.want)
			}
			if tt.want != "" && !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Accept-Encoding") {
				t.Errorf("compressed without Vary: Accept-Encoding (Vary %q)", res.Header.Values("Vary"))
			}
			// Same bytes whatever the encoding: compare with a plain fetch.
			_, plain := fetch(t, srv.URL+tt.path, http.Header{})
			if tt.extra == nil && !bytes.Equal(body, plain) {
				t.Errorf("decoded body (%d bytes) differs from the plain one (%d bytes)", len(body), len(plain))
			}
		})
	}
}

// An error returned by the handler is still written, with its status, by
// Echo's error handler.
func TestCompressLeavesErrorsToTheErrorHandler(t *testing.T) {
	srv := newCompressServer(t)
	res, body := fetch(t, srv.URL+"/fails", http.Header{"Accept-Encoding": {"gzip"}})
	if res.StatusCode != http.StatusTeapot || !strings.Contains(string(body), "refused") {
		t.Errorf("got %d %.40q, want 418 with the error's message", res.StatusCode, body)
	}
}

// The export and any other long response stream: what the handler flushed
// reaches the client, decodable, while the handler still runs.
func TestCompressStreamsFlushedParts(t *testing.T) {
	flushed, finish := make(chan struct{}), make(chan struct{})
	e := echo.New()
	e.Use(Compress())
	rows := strings.Repeat("edr_1,PROCESSED\n", 100)
	e.GET("/export.csv", func(c echo.Context) error {
		c.Response().Header().Set("Content-Type", "text/csv")
		c.Response().WriteHeader(http.StatusOK)
		if _, err := io.WriteString(c.Response(), rows); err != nil {
			return err
		}
		c.Response().Flush()
		close(flushed)
		<-finish
		_, err := io.WriteString(c.Response(), "last,row\n")
		return err
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	defer close(finish)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/export.csv", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := rawClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	<-flushed
	if got := res.Header.Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", got)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, len(rows))
	if _, err := io.ReadFull(zr, first); err != nil {
		t.Fatalf("the flushed rows did not arrive before the handler finished: %v", err)
	}
	if string(first) != rows {
		t.Errorf("first part = %.40q…, want the flushed rows", first)
	}
}

// An event stream passes through uncompressed and each flushed event
// arrives at once, whether or not the client offers gzip.
func TestCompressPassesEventStreams(t *testing.T) {
	release := make(chan struct{})
	e := echo.New()
	e.Use(Compress())
	e.GET("/events", func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Type", "text/event-stream")
		c.Response().WriteHeader(http.StatusOK)
		c.Response().Flush()
		if _, err := io.WriteString(c.Response(), "data: one\n\n"); err != nil {
			return err
		}
		c.Response().Flush()
		<-release
		return nil
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	defer close(release)

	tests := []struct {
		name   string
		header http.Header
	}{
		{"EventSource", http.Header{"Accept-Encoding": {"gzip, deflate, br"}, "Accept": {"text/event-stream"}}},
		{"no Accept", http.Header{"Accept-Encoding": {"gzip"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/events", nil)
			req.Header = tt.header
			res, err := rawClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if got := res.Header.Get("Content-Encoding"); got != "" {
				t.Errorf("event stream sent with Content-Encoding %q", got)
			}
			line, err := bufio.NewReader(res.Body).ReadString('\n')
			if err != nil || line != "data: one\n" {
				t.Errorf("first event = %q, %v; want it before the stream ends", line, err)
			}
		})
	}
}

func TestCompressible(t *testing.T) {
	tests := map[string]bool{
		"text/html; charset=UTF-8":             true,
		"application/json":                     true,
		"application/x-ndjson; charset=utf-8":  true,
		"text/csv; charset=utf-8":              true,
		"TEXT/HTML":                            true,
		"text/event-stream":                    false,
		"application/pdf":                      false,
		"image/png":                            false,
		"application/zip":                      false,
		"application/octet-stream":             false,
		"":                                     false,
		"not a media type;;":                   false,
		"multipart/form-data; boundary=abcdef": false,
	}
	for ct, want := range tests {
		if got := compressible(ct); got != want {
			t.Errorf("compressible(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestAcceptsEventStream(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{[]string{"text/event-stream"}, true},
		{[]string{"text/html, text/event-stream;q=0.9"}, true},
		{[]string{"text/html", "Text/Event-Stream"}, true},
		{[]string{"text/html,*/*"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Accept"] = tt.accept
		if got := acceptsEventStream(r); got != tt.want {
			t.Errorf("acceptsEventStream(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}
