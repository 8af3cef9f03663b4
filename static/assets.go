// Package static embeds Editwatch's browser assets (the built Tailwind CSS,
// vendored htmx 2 and its SSE extension, our own script, images) and serves
// them at content-hashed URLs, so browsers may cache them for a year and a
// new build is picked up at once. Each asset is served brotli- or
// gzip-compressed from the NAME.br and NAME.gz the build wrote beside it,
// as the browser's Accept-Encoding allows.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The built CSS and vendored scripts are committed, so the binary never needs
// npm or a CDN at run time. src/ (Tailwind's input) is deliberately left out.
//
//go:embed dist vendor js img
var embedded embed.FS

// hashLength is how many hex digits of the SHA-256 go into a URL: enough to
// bust caches, short enough to read.
const hashLength = 8

// Cache policies: hashed names never change content; plain names and names
// with a stale hash must be revalidated.
const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	dirStatic        = "static/"
	requiredAsset    = "app.css"
	requiredAssetDir = "dist"
)

// Errors New returns; callers only log them, tests branch on them.
var (
	ErrDuplicateName = errors.New("static: two assets share a file name")
	ErrMissingAsset  = errors.New("static: required asset missing or empty")
	ErrBadBasePath   = errors.New("static: invalid base path")
)

// asset is one embedded file with its precomputed identity.
type asset struct {
	name        string // logical name, the file's base name: "app.css"
	hashedName  string // "app.3f2a9c1b.css"
	hash        string
	contentType string
	body        []byte
	// encoded are the precompressed bodies built beside the file (NAME.br,
	// NAME.gz), in the server's order of preference; only those smaller
	// than body are kept.
	encoded []encodedBody
}

// Assets resolves logical asset names to hashed URLs and serves the files.
// It is immutable after New and safe for concurrent use.
type Assets struct {
	prefix   string            // "<basePath>static/"
	byName   map[string]*asset // logical name -> asset
	byHashed map[string]*asset // hashed name -> asset
	pdfjs    map[string]*asset // path inside the PDF.js folder -> asset
}

// New indexes the embedded assets for URLs under basePath ("/" or
// "/sub/path/"; a missing leading or trailing slash is added).
func New(basePath string) (*Assets, error) {
	a, err := newFromFS(embedded, basePath)
	if err != nil {
		return nil, err
	}
	if a.pdfjs, err = pdfjsFiles(pdfjsEmbedded); err != nil {
		return nil, err
	}
	return a, nil
}

func newFromFS(fsys fs.FS, basePath string) (*Assets, error) {
	base, err := normalizeBasePath(basePath)
	if err != nil {
		return nil, err
	}
	a := &Assets{
		prefix:   base + dirStatic,
		byName:   map[string]*asset{},
		byHashed: map[string]*asset{},
	}
	files := map[string][]byte{}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("static: read %s: %w", p, err)
		}
		files[p] = body
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static: index assets: %w", err)
	}
	for _, p := range sortedKeys(files) {
		if isEncodedVariant(p, files) {
			continue // served as its asset's encoding, never under its own name
		}
		if err := a.add(p, files); err != nil {
			return nil, fmt.Errorf("static: index assets: %w", err)
		}
	}
	if css, ok := a.byName[requiredAsset]; !ok || len(bytes.TrimSpace(css.body)) == 0 {
		return nil, fmt.Errorf("%w: %s/%s (run scripts/build-assets.sh)", ErrMissingAsset, requiredAssetDir, requiredAsset)
	}
	return a, nil
}

// add indexes the file at p with the encoded variants built beside it.
func (a *Assets) add(p string, files map[string][]byte) error {
	body := files[p]
	name := path.Base(p)
	if prev, ok := a.byName[name]; ok {
		return fmt.Errorf("%w: %s (also %s)", ErrDuplicateName, p, prev.name)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])[:hashLength]
	item := &asset{
		name:        name,
		hashedName:  hashedName(name, hash),
		hash:        hash,
		contentType: contentType(name),
		body:        body,
		encoded:     encodedVariants(p, hash, body, files),
	}
	a.byName[name] = item
	a.byHashed[item.hashedName] = item
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// normalizeBasePath returns basePath with exactly one leading and one
// trailing slash.
func normalizeBasePath(basePath string) (string, error) {
	if strings.ContainsAny(basePath, "?#\\ \t\r\n") || strings.Contains(basePath, "//") || strings.Contains(basePath, "..") {
		return "", fmt.Errorf("%w: %q", ErrBadBasePath, basePath)
	}
	base := "/" + strings.Trim(basePath, "/") + "/"
	if base == "//" {
		base = "/"
	}
	return base, nil
}

// hashedName puts the hash before the last extension: htmx.min.js ->
// htmx.min.<hash>.js.
func hashedName(name, hash string) string {
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + hash + ext
}

// contentType is explicit for what we ship, so it never depends on the
// host's mime tables.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	case ".json", ".map":
		return "application/json"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// URL returns the hashed URL of an asset by its file name, e.g.
// URL("app.css") = "/static/app.3f2a9c1b.css". An unknown name yields its
// unhashed URL, which the handler answers with 404, so a typo shows up as a
// broken asset rather than a broken page.
func (a *Assets) URL(name string) string {
	if item, ok := a.byName[name]; ok {
		return a.prefix + item.hashedName
	}
	return a.prefix + name
}

// Prefix is the URL path under which ServeHTTP expects requests:
// "<basePath>static/". Mount the handler on Prefix()+"*".
func (a *Assets) Prefix() string { return a.prefix }

// Names lists the logical asset names, sorted.
func (a *Assets) Names() []string {
	names := make([]string, 0, len(a.byName))
	for name := range a.byName {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// ServeHTTP serves an asset by its full request path. Hashed names are
// cached for a year as immutable. A plain name, or a name whose hash is
// stale (a page from a previous build, e.g. during a rolling deploy), gets
// the current content with a revalidation policy. Anything else is 404.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, a.prefix)
	if rel, inPDFJS := strings.CutPrefix(name, pdfjsDir+"/"); ok && inPDFJS {
		a.servePDFJS(w, r, rel)
		return
	}
	if !ok || name == "" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	item, cache := a.lookup(name)
	if item == nil {
		http.NotFound(w, r)
		return
	}
	h.Set("Cache-Control", cache)
	item.serve(w, r, item.name)
}

// serve answers r with the asset, in the best encoding the client
// accepts; name is for ServeContent. Cache headers are the caller's.
func (item *asset) serve(w http.ResponseWriter, r *http.Request, name string) {
	h := w.Header()
	h.Set("Content-Type", item.contentType)
	body, etag := item.body, `"`+item.hash+`"`
	if len(item.encoded) > 0 {
		// Caches must keep one copy per encoding, even of the identity one.
		h.Add("Vary", "Accept-Encoding")
		if enc := item.negotiate(r.Header.Values("Accept-Encoding")); enc != nil {
			h.Set("Content-Encoding", enc.coding)
			// ServeContent leaves Content-Length out when Content-Encoding
			// is set (it guards against writers that compress on the fly);
			// these bytes are final, so say how many. A range request
			// gets its own length from ServeContent.
			h.Set("Content-Length", strconv.Itoa(len(enc.body)))
			body, etag = enc.body, enc.etag
		}
	}
	// ServeContent answers If-None-Match and Range against this encoding's
	// own ETag.
	h.Set("ETag", etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

func (a *Assets) lookup(name string) (*asset, string) {
	if item, ok := a.byHashed[name]; ok {
		return item, cacheImmutable
	}
	if item, ok := a.byName[name]; ok {
		return item, cacheRevalidate
	}
	if item, ok := a.byName[stripHash(name)]; ok {
		return item, cacheRevalidate
	}
	return nil, ""
}

// stripHash turns "app.0123abcd.css" into "app.css"; other names come back
// unchanged.
func stripHash(name string) string {
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	dot := strings.LastIndexByte(stem, '.')
	if dot < 0 || len(stem)-dot-1 != hashLength {
		return name
	}
	if _, err := hex.DecodeString(stem[dot+1:]); err != nil {
		return name
	}
	return stem[:dot] + ext
}
