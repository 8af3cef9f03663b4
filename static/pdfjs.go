package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// PDFJSVersion is the pdfjs-dist release vendored in pdfjs-<version>/ (the
// one pinned in package-lock.json; scripts/build-assets.sh refuses to build
// when they differ). The go:embed line below names the same folder.
const PDFJSVersion = "6.5.438"

// pdfjsDir is the vendored folder's name, and its path under Prefix.
const pdfjsDir = "pdfjs-" + PDFJSVersion

// PDF.js finds its worker, WebAssembly decoders, fonts and CMaps by URLs
// relative to one folder, so that folder is served under a stable,
// versioned path rather than file by file at content-hashed names; the
// version in the path is what busts caches.
//
//go:embed pdfjs-6.5.438
var pdfjsEmbedded embed.FS

// pdfjsCSP is the policy sent with every file of the PDF.js folder. It
// matters for one of them: a dedicated worker runs under the policy of its
// own script's response, not the page's. The worker decodes JPEG 2000 and
// JBIG2 images (scanned forms) and converts ICC colours with WebAssembly,
// so it is allowed 'wasm-unsafe-eval', which permits compiling
// WebAssembly and nothing else (no JavaScript eval, no new Function).
// We chose this over useWasm: false because the JavaScript fallbacks are
// several times slower on exactly the scanned pages people look at longest,
// and ICC colour conversion has no fallback at all; and because scoping it
// to the worker keeps the pages' own script-src as strict as before (the
// main thread never compiles WebAssembly: decoding happens in the worker).
// The worker fetches the decoders, fonts and CMaps from this folder
// (connect-src 'self').
const pdfjsCSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pdfjsFiles indexes the vendored folder: path inside it -> asset.
func pdfjsFiles(fsys fs.FS) (map[string]*asset, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, pdfjsDir, func(p string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return walkErr
		}
		if d.IsDir() {
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
		return nil, fmt.Errorf("static: index %s: %w", pdfjsDir, err)
	}
	out := make(map[string]*asset, len(files))
	for p, body := range files {
		if isEncodedVariant(p, files) {
			continue
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:hashLength]
		rel := strings.TrimPrefix(p, pdfjsDir+"/")
		out[rel] = &asset{name: rel, hash: hash, contentType: pdfjsContentType(rel), body: body,
			encoded: encodedVariants(p, hash, body, files)}
	}
	if _, ok := out[pdfjsModule]; !ok {
		return nil, fmt.Errorf("%w: %s/%s (run scripts/build-assets.sh)", ErrMissingAsset, pdfjsDir, pdfjsModule)
	}
	return out, nil
}

// The two scripts the document view loads by URL.
const (
	pdfjsModule = "build/pdf.min.mjs"
	pdfjsWorker = "build/pdf.worker.min.mjs"
)

// PDFJSURL is the URL of a file in the vendored PDF.js folder, e.g.
// PDFJSURL("build/pdf.min.mjs"); PDFJSURL("") is the folder itself, with a
// trailing slash, for wasmUrl, standardFontDataUrl and cMapUrl.
func (a *Assets) PDFJSURL(rel string) string {
	return a.prefix + pdfjsDir + "/" + rel
}

func pdfjsContentType(name string) string {
	switch path.Ext(name) {
	case ".mjs", ".js":
		return "text/javascript; charset=utf-8"
	case ".wasm":
		return "application/wasm" // instantiateStreaming insists
	case ".bcmap", ".pfb", ".ttf":
		return "application/octet-stream"
	}
	return "text/plain; charset=utf-8" // the licences
}

// servePDFJS answers a request for rel inside the PDF.js folder. The
// version is in the path, so every file is immutable.
func (a *Assets) servePDFJS(w http.ResponseWriter, r *http.Request, rel string) {
	item, ok := a.pdfjs[rel]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", cacheImmutable)
	h.Set("Content-Security-Policy", pdfjsCSP)
	item.serve(w, r, path.Base(rel))
}
