package handlers

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// presignedKeep is how long a presigned URL from Extend is reused for the
// range requests of one document view. Extend's URLs last 15 minutes; 10
// leaves room for a slow clock, and a URL the file store refuses anyway
// (403/404) is replaced once.
const presignedKeep = 10 * time.Minute

// presignedCacheSize bounds the cache: one entry per file recently viewed.
const presignedCacheSize = 1024

// presignedKey names one file of one run of one tenant. The tenant comes
// from the connection the request was checked against, so a URL is only
// reused for people who may ask Extend for it.
type presignedKey struct {
	tenant, runID, kind string
}

// presignedFile is what Extend said about a run's file.
type presignedFile struct {
	url     string
	fileID  string
	name    string
	expires time.Time
}

// presignedCache keeps presigned URLs server-side for a document view's
// range requests, so each one is not a call to Extend; the URLs never
// reach the browser. Safe for concurrent use.
type presignedCache struct {
	mu      sync.Mutex
	entries map[presignedKey]presignedFile
}

func (pc *presignedCache) get(k presignedKey, now time.Time) (presignedFile, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	f, ok := pc.entries[k]
	if ok && !now.Before(f.expires) {
		delete(pc.entries, k)
		return presignedFile{}, false
	}
	return f, ok
}

func (pc *presignedCache) put(k presignedKey, f presignedFile, now time.Time) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.entries == nil {
		pc.entries = make(map[presignedKey]presignedFile)
	}
	if len(pc.entries) >= presignedCacheSize {
		for key, e := range pc.entries {
			if !now.Before(e.expires) {
				delete(pc.entries, key)
			}
		}
	}
	// Still full of live entries: drop any one; it costs one more call to
	// Extend, never a wrong answer.
	for key := range pc.entries {
		if len(pc.entries) < presignedCacheSize {
			break
		}
		delete(pc.entries, key)
	}
	pc.entries[k] = f
}

func (pc *presignedCache) drop(k presignedKey) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	delete(pc.entries, k)
}

// dropRun forgets a deleted run's files: their URLs may outlive the run
// in the file store for a while.
func (pc *presignedCache) dropRun(tenant, runID string) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, kind := range []string{views.FileInput, views.FileEdited} {
		delete(pc.entries, presignedKey{tenant: tenant, runID: runID, kind: kind})
	}
}

// Request headers passed to the file store, and answer headers relayed
// from it: what a range request and its validators need.
var (
	fileRequestHeaders = []string{"Range", "If-Range"}
	fileAnswerHeaders  = []string{"Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified"}
)

// fileCSP replaces the pages' policy on a PDF: the browser's own viewer
// is a plugin in some browsers, which object-src 'none' can block; the
// document itself may load nothing.
const fileCSP = "default-src 'none'; object-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors "

// runFile is GET /runs/:id/file/:kind: the run's input or edited PDF,
// streamed through the dashboard from Extend's file store, with Range
// requests passed through. The presigned URL stays on the server
// (presignedCache). Whoever may download may view (same workspace check,
// any role); the view is audited once: on a request without Range, or
// with a Range from byte 0 and no If-Range (a viewer's first request),
// never on the range requests that follow.
func (a *dashboard) runFile(c echo.Context) error {
	kind := c.Param("kind")
	if kind != views.FileInput && kind != views.FileEdited {
		return &PageError{Status: http.StatusNotFound, Heading: "No such file", Category: "not found",
			Explanation: "A run has two files: " + views.FileInput + " (the form sent to Extend) and " + views.FileEdited + " (the filled PDF)."}
	}
	conn, cl, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	key := presignedKey{tenant: conn.Tenant, runID: id, kind: kind}
	detail := "viewed input "
	if kind == views.FileEdited {
		detail = "viewed edited file "
	}
	return a.streamFile(c, fileStream{
		tenant: conn.Tenant, target: id, key: key,
		resolve: func() (presignedFile, error) {
			return a.presignedFile(c.Request().Context(), cl, key)
		},
		auditDetail: func(f presignedFile) string { return detail + f.fileID },
		refusal:     func(status int) error { return fileStoreRefusal(status, "the "+kind+" PDF of run "+id) },
	})
}

// fileStream is one file to stream from Extend's file store: where its
// presigned URL comes from, and what the audit log and errors say.
type fileStream struct {
	tenant, target string // the audit entry's
	key            presignedKey
	// resolve asks Extend for the file's presigned URL; streamFile keeps
	// it in the cache under key for its validity.
	resolve     func() (presignedFile, error)
	auditDetail func(presignedFile) string
	refusal     func(status int) error
}

// cachedFile is fs's presigned file from the cache, or (fresh, or none
// cached) from Extend through fs.resolve, cached for presignedKeep.
func (a *dashboard) cachedFile(fs fileStream, fresh bool) (presignedFile, error) {
	now := a.Now()
	if !fresh {
		if f, ok := a.presigned.get(fs.key, now); ok {
			return f, nil
		}
	}
	f, err := fs.resolve()
	if err != nil {
		return presignedFile{}, err
	}
	if f.url == "" {
		return presignedFile{}, &PageError{Status: http.StatusBadGateway, Heading: "No link to the file", Category: "file store",
			Explanation: "Extend returned file " + f.fileID + " without a link to its bytes. Try again in a moment."}
	}
	f.expires = now.Add(presignedKeep)
	a.presigned.put(fs.key, f, now)
	return f, nil
}

// streamFile fetches the file with the browser's range and relays it,
// replacing a refused presigned URL once, and audits the view on its
// first request.
func (a *dashboard) streamFile(c echo.Context, fs fileStream) error {
	var resp *http.Response
	var file presignedFile
	var err error
	for attempt := range 2 {
		file, err = a.cachedFile(fs, attempt > 0)
		if err != nil {
			return err
		}
		resp, err = a.fetchFile(c, file.url)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
			break
		}
		// Expired, or the store lost track of it: one fresh URL from Extend.
		resp.Body.Close()
		a.presigned.drop(fs.key)
	}
	defer resp.Body.Close()
	if err := fs.refusal(resp.StatusCode); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable && firstRequestOfView(c.Request()) {
		if err := a.audit(c, store.AuditView, fs.tenant, fs.target, fs.auditDetail(file)); err != nil {
			return err
		}
	}
	h := c.Response().Header()
	for _, name := range fileAnswerHeaders {
		if v := resp.Header.Get(name); v != "" {
			h.Set(name, v)
		}
	}
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": file.name}))
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", fileCSP+a.FrameAncestors)
	c.Response().WriteHeader(resp.StatusCode)
	out := &idleDeadlineWriter{w: c.Response(), rc: http.NewResponseController(c.Response())}
	if _, err := io.Copy(out, resp.Body); err != nil && c.Request().Context().Err() == nil {
		// The file store broke off; the answer has started, so the error
		// handler only logs it. A browser that hangs up once it has what
		// it needs (PDF.js does, to switch to ranges) is not an error.
		return err
	}
	return nil
}

// fileWriteIdle is how long a browser may leave the stream unread before
// it is cut: a reader that stalls must not hold a connection to the file
// store forever, and a large file on a slow link may take as long as it
// needs while it keeps reading.
const fileWriteIdle = time.Minute

// idleDeadlineWriter moves the connection's write deadline forward before
// each write (fileWriteIdle).
type idleDeadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d *idleDeadlineWriter) Write(p []byte) (int, error) {
	// Not supported (a test recorder): no deadline, as before.
	_ = d.rc.SetWriteDeadline(time.Now().Add(fileWriteIdle))
	return d.w.Write(p)
}

// firstRequestOfView tells a document view's first request from the range
// requests that follow it.
func firstRequestOfView(r *http.Request) bool {
	rng := r.Header.Get("Range")
	return rng == "" || strings.HasPrefix(strings.ReplaceAll(rng, " ", ""), "bytes=0-") && r.Header.Get("If-Range") == ""
}

// presignedFile asks Extend for the URL of the run's file: the run, then
// the file when the run carries no URL (streamFile caches it).
func (a *dashboard) presignedFile(ctx context.Context, cl *extendapi.Client, key presignedKey) (presignedFile, error) {
	run, err := cl.GetEditRun(ctx, key.runID)
	if err != nil {
		return presignedFile{}, err
	}
	f := presignedFile{name: key.runID + "-" + key.kind + ".pdf"}
	switch key.kind {
	case views.FileInput:
		f.fileID = run.File.ID
		if run.File.Name != "" {
			f.name = run.File.Name
		}
	case views.FileEdited:
		if run.Output != nil {
			f.fileID, f.url = run.Output.EditedFile.ID, run.Output.EditedFile.PresignedURL
		}
	}
	if f.fileID == "" {
		return presignedFile{}, noRunFile(key.runID, key.kind, string(run.Status))
	}
	if f.url == "" {
		file, err := cl.GetFile(ctx, f.fileID)
		if err != nil {
			return presignedFile{}, err
		}
		f.url = file.PresignedURL
	}
	return f, nil
}

func noRunFile(runID, kind, status string) error {
	if kind == views.FileEdited {
		return &PageError{Status: http.StatusNotFound, Heading: "No edited PDF", Category: "no output",
			Explanation: "Run " + runID + " is " + status + ": only processed runs have an edited PDF to view."}
	}
	return &PageError{Status: http.StatusNotFound, Heading: "No input file", Category: "no input",
		Explanation: "Extend did not say which file run " + runID + " was started with, so there is nothing to show."}
}

// fetchFile asks the file store for the bytes, passing the browser's range
// through. The request ends with the browser's.
func (a *dashboard) fetchFile(c echo.Context, link string) (*http.Response, error) {
	ctx := c.Request().Context()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, &PageError{Status: http.StatusBadGateway, Heading: "Bad link to the file", Category: "file store",
			Explanation: "Extend returned a link to the file that is not a URL. Try again in a moment.", Err: err}
	}
	for _, name := range fileRequestHeaders {
		if v := c.Request().Header.Get(name); v != "" {
			req.Header.Set(name, v)
		}
	}
	resp, err := a.Connector.HTTPClient().Do(req)
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil, ctx.Err() // the browser went away
		}
		return nil, &PageError{Status: http.StatusBadGateway, Heading: "File store unreachable", Category: "file store",
			Explanation: "Editwatch could not reach Extend's file store to fetch the PDF. Try again in a moment.", Err: err}
	}
	return resp, nil
}

// fileStoreRefusal turns a file store's answer other than the bytes into
// a page about what ("the input PDF of run edr_…"); 416 is relayed as is (the browser asked past the end).
func fileStoreRefusal(status int, what string) error {
	switch {
	case status == http.StatusOK || status == http.StatusPartialContent || status == http.StatusRequestedRangeNotSatisfiable:
		return nil
	case status == http.StatusForbidden:
		return &PageError{Status: http.StatusBadGateway, Heading: "The file store refused the link", Category: "file store",
			Explanation: "Extend's file store refused two links to " + what + ", the second one fresh. Try again in a moment."}
	case status == http.StatusNotFound:
		return &PageError{Status: http.StatusNotFound, Heading: "File not in the file store", Category: "file store",
			Explanation: "Extend lists " + what + ", but its file store does not have it (any more)."}
	case status >= 500:
		return &PageError{Status: http.StatusBadGateway, Heading: "File store unavailable", Category: "file store",
			Explanation: "Extend's file store answered " + http.StatusText(status) + " for " + what + ". Try again in a moment."}
	default:
		return &PageError{Status: http.StatusBadGateway, Heading: "Unexpected answer from the file store", Category: "file store",
			Explanation: "Extend's file store answered " + http.StatusText(status) + " for " + what + "."}
	}
}
