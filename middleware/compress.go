package middleware

import (
	"mime"
	"net/http"
	"strings"

	"github.com/CAFxX/httpcompression"
	"github.com/labstack/echo/v4"
)

// compressMinSize is the smallest body worth compressing: below it the
// encoder's framing and a decoder's start cost more than the bytes saved. Smaller
// bodies are held back until it is reached (or the handler flushes).
const compressMinSize = 1024

// compressibleTypes are the media types compressed on the fly: our pages,
// htmx fragments, JSON, the CSV and NDJSON export. Everything else passes
// through: PDFs and images are compressed already, and text/event-stream
// must reach the browser event by event.
var compressibleTypes = map[string]bool{
	"text/html":            true,
	"text/plain":           true,
	"text/csv":             true,
	"text/css":             true,
	"text/javascript":      true,
	"application/json":     true,
	"application/x-ndjson": true,
	"image/svg+xml":        true,
}

// compressible reports whether a response of Content-Type ct is compressed.
func compressible(ct string) bool {
	mediaType, _, err := mime.ParseMediaType(ct)
	return err == nil && compressibleTypes[mediaType]
}

// Encoder settings for dynamic responses: fast enough to compress a page
// while it is written, a good deal smaller than gzip for brotli.
const (
	dynamicBrotliQuality = 5
	dynamicGzipLevel     = 6
)

// Compress compresses dynamic responses of a compressible type above a
// small size, with brotli for clients that accept it and gzip for the
// others (CAFxX/httpcompression, which picks by Accept-Encoding and its
// q-values), streaming: a flush by the handler
// flushes the compressor too, so a long export stays constant-memory. It
// passes through, untouched:
//   - requests whose route (as registered, e.g. "/runs/:id/download") is
//     one of skipRoutes, or starts with one that ends in "/"
//     ("/_sandbox/", "/static/": the embedded sandbox streams PDFs with
//     Range support; the static handler sends its own precompressed
//     files);
//   - requests with a Range header, whose byte offsets would not survive
//     compression, and event streams (Accept: text/event-stream), whose
//     first flush must reach the browser at once;
//   - responses that set Content-Encoding or Content-Range themselves, or
//     whose type is not compressible (application/pdf, images, archives).
//
// zstd and deflate stay off: browsers that offer them offer brotli or gzip
// too, and fewer encodings keep the behaviour easy to predict.
func Compress(skipRoutes ...string) echo.MiddlewareFunc {
	types := make([]string, 0, len(compressibleTypes))
	for t := range compressibleTypes {
		types = append(types, t)
	}
	wrap, err := httpcompression.Adapter(
		httpcompression.BrotliCompressionLevel(dynamicBrotliQuality),
		httpcompression.GzipCompressionLevel(dynamicGzipLevel),
		httpcompression.MinSize(compressMinSize),
		httpcompression.ContentTypes(types, false),
	)
	if err != nil {
		panic("middleware: compression options: " + err.Error()) // constant options: a bug, not a runtime state
	}
	skip := func(c echo.Context) bool {
		r := c.Request()
		if r.Header.Get("Range") != "" || acceptsEventStream(r) {
			return true
		}
		route := c.Path()
		for _, s := range skipRoutes {
			if route == s || strings.HasSuffix(s, "/") && strings.HasPrefix(route, s) {
				return true
			}
		}
		return false
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			// Echo's Response keeps counting status and size for the
			// access log and metrics; only the writer under it changes,
			// and only while the handler runs inside the compressor, which
			// finishes the compressed stream when it returns.
			res := c.Response()
			plain := res.Writer
			defer func() { res.Writer = plain }()
			var err error
			wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				res.Writer = w
				c.SetRequest(r)
				err = next(c)
			})).ServeHTTP(plain, c.Request())
			// An error the chain left unhandled is written by Echo's error
			// handler after this returns, uncompressed: the compressor has
			// sent nothing when the handler wrote nothing.
			return err
		}
	}
}

// acceptsEventStream reports whether the request is an EventSource's.
func acceptsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mediaType, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mediaType), "text/event-stream") {
				return true
			}
		}
	}
	return false
}
