package static

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"
	"github.com/google/go-cmp/cmp"
)

// decode undoes a Content-Encoding with decoders other than the ones that
// made the files, so a wrong encoder setting cannot hide.
func decode(t *testing.T, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "":
		return body
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip header: %v", err)
		}
		r = zr
	default:
		t.Fatalf("unexpected Content-Encoding %q", coding)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", coding, err)
	}
	return plain
}

// The .br and .gz beside each asset must hold that asset: a stale one would
// serve yesterday's CSS to every browser but curl. scripts/build-assets.sh
// --check compares bytes; this checks meaning, without npm.
func TestEmbeddedEncodingsMatchTheirAsset(t *testing.T) {
	for _, file := range []string{"dist/app.css", "vendor/htmx.min.js", "vendor/sse.js", "js/app.js", "img/favicon.svg"} {
		plain, err := embedded.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for coding, suffix := range map[string]string{"br": ".br", "gzip": ".gz"} {
			enc, err := embedded.ReadFile(file + suffix)
			if err != nil {
				t.Errorf("%s%s is not embedded (run scripts/build-assets.sh): %v", file, suffix, err)
				continue
			}
			if !bytes.Equal(decode(t, coding, enc), plain) {
				t.Errorf("%s%s does not decode to %s: run scripts/build-assets.sh", file, suffix, file)
			}
		}
	}
	gz, _ := embedded.ReadFile("dist/app.css.gz")
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("app.css.gz records name %q and time %v: the build would not be reproducible", zr.Name, zr.ModTime)
	}
}

func TestServeHTTPNegotiatesEncoding(t *testing.T) {
	a, err := New("/")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		acceptEncoding string
		want           string // Content-Encoding
	}{
		{"gzip, deflate, br", "br"},
		{"gzip, deflate, br, zstd", "br"},
		{"br", "br"},
		{"gzip", "gzip"},
		{"x-gzip", "gzip"},
		{"GZIP", "gzip"},
		{"", ""},
		{"identity", ""},
		{"deflate", ""},
		{"br;q=0, gzip", "gzip"},
		{"gzip;q=0", ""},
		{"br;q=0, gzip;q=0", ""},
		{"br;q=0.5, gzip;q=0.8", "gzip"},
		{"br;q=0.8, gzip;q=0.8", "br"},
		{"*", "br"},
		{"br;q=0, *", "gzip"},
		{"*;q=0", ""},
		{"gzip;q=nonsense", ""},
		{"gzip;q=2", ""},
	}
	for _, name := range []string{"app.css", "htmx.min.js", "sse.js", "app.js", "favicon.svg"} {
		plain, etags := []byte(nil), map[string]string{}
		for _, tt := range tests {
			t.Run(name+"/"+tt.acceptEncoding, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodGet, a.URL(name), nil)
				if tt.acceptEncoding != "" {
					req.Header.Set("Accept-Encoding", tt.acceptEncoding)
				}
				rec := httptest.NewRecorder()
				a.ServeHTTP(rec, req)
				res := rec.Result()
				type headers struct{ Status, Encoding, Vary, Cache, Length string }
				got := headers{res.Status, res.Header.Get("Content-Encoding"), res.Header.Get("Vary"),
					res.Header.Get("Cache-Control"), res.Header.Get("Content-Length")}
				want := headers{"200 OK", tt.want, "Accept-Encoding", cacheImmutable, strconv.Itoa(rec.Body.Len())}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Accept-Encoding %q (-want +got):\n%s", tt.acceptEncoding, diff)
				}
				body := decode(t, tt.want, rec.Body.Bytes())
				if plain == nil {
					plain = body
				} else if !bytes.Equal(body, plain) {
					t.Errorf("Accept-Encoding %q: decoded body differs from the other encodings'", tt.acceptEncoding)
				}
				etag := res.Header.Get("ETag")
				if prev, seen := etags[tt.want]; seen && prev != etag {
					t.Errorf("encoding %q has ETags %s and %s", tt.want, prev, etag)
				}
				etags[tt.want] = etag
			})
		}
		if len(etags) != 3 || etags[""] == etags["br"] || etags["br"] == etags["gzip"] || etags[""] == etags["gzip"] {
			t.Errorf("%s: want one distinct ETag per encoding, got %v", name, etags)
		}
	}
}

// A cached copy is revalidated against the ETag of the encoding the browser
// would get now: the brotli copy's ETag matches a brotli request only.
func TestConditionalGetPerEncoding(t *testing.T) {
	a, err := New("/")
	if err != nil {
		t.Fatal(err)
	}
	get := func(acceptEncoding, ifNoneMatch string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, a.URL("app.css"), nil)
		req.Header.Set("Accept-Encoding", acceptEncoding)
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		return rec.Result()
	}
	brETag := get("br", "").Header.Get("ETag")
	tests := []struct {
		acceptEncoding string
		want           int
	}{
		{"br", http.StatusNotModified},
		{"gzip, br", http.StatusNotModified},
		{"gzip", http.StatusOK},
		{"", http.StatusOK},
	}
	for _, tt := range tests {
		if got := get(tt.acceptEncoding, brETag).StatusCode; got != tt.want {
			t.Errorf("If-None-Match %s with Accept-Encoding %q = %d, want %d", brETag, tt.acceptEncoding, got, tt.want)
		}
	}
}

func TestEncodedVariantsIndexing(t *testing.T) {
	css := bytes.Repeat([]byte(".a{color:red}"), 100)
	tests := []struct {
		name      string
		fsys      fstest.MapFS
		wantNames []string
		wantCodes []string // codings kept for app.css
	}{
		{"both kept", fstest.MapFS{
			"dist/app.css": {Data: css}, "dist/app.css.br": {Data: []byte("b")}, "dist/app.css.gz": {Data: []byte("gz")},
		}, []string{"app.css"}, []string{"br", "gzip"}},
		{"not smaller is dropped", fstest.MapFS{
			"dist/app.css": {Data: css}, "dist/app.css.br": {Data: []byte("b")}, "dist/app.css.gz": {Data: css},
		}, []string{"app.css"}, []string{"br"}},
		{"an orphan .gz is an asset of its own", fstest.MapFS{
			"dist/app.css": {Data: css}, "img/archive.tar.gz": {Data: []byte("x")},
		}, []string{"app.css", "archive.tar.gz"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newFromFS(tt.fsys, "/")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantNames, a.Names()); diff != "" {
				t.Errorf("Names() (-want +got):\n%s", diff)
			}
			var codes []string
			for _, e := range a.byName["app.css"].encoded {
				codes = append(codes, e.coding)
			}
			if diff := cmp.Diff(tt.wantCodes, codes); diff != "" {
				t.Errorf("app.css encodings (-want +got):\n%s", diff)
			}
		})
	}
}

// A range of an encoded asset is a range of the encoded bytes (RFC 9110
// §14: ranges apply to the selected representation), with its length.
func TestRangeOfEncodedAsset(t *testing.T) {
	a, err := New("/")
	if err != nil {
		t.Fatal(err)
	}
	br, _ := embedded.ReadFile("dist/app.css.br")
	req := httptest.NewRequest(http.MethodGet, a.URL("app.css"), nil)
	req.Header.Set("Accept-Encoding", "br")
	req.Header.Set("Range", "bytes=0-9")
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	type result struct {
		Status           int
		Encoding, Length string
		Body             []byte
	}
	want := result{http.StatusPartialContent, "br", "10", br[:10]}
	got := result{rec.Code, rec.Header().Get("Content-Encoding"), rec.Header().Get("Content-Length"), rec.Body.Bytes()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("range of the brotli body (-want +got):\n%s", diff)
	}
}
