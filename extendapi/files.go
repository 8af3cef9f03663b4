package extendapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"unicode"
)

// UploadFileParams describes a file to upload.
type UploadFileParams struct {
	// Name is the file name Extend records (required).
	Name string
	// Body is streamed, never read into memory whole. Give an
	// io.ReadSeeker (an *os.File, a *bytes.Reader) and the upload is sent
	// with a Content-Length and can be retried; any other io.Reader is sent
	// once, chunked, and never retried (it cannot be rewound).
	Body io.Reader
	// Password opens a password-protected PDF.
	Password string
	// ConvertToPDF asks Extend to convert images and office documents.
	ConvertToPDF bool
	// ContentType of the file; guessed from Name's extension when empty.
	ContentType string
}

// UploadFile uploads a file (POST /files/upload, multipart/form-data) and
// returns it without a presigned URL.
//
// It counts as a WRITE (it stores a file but processes nothing). With a
// seekable Body it is retried like a GET: a duplicate upload only leaves an
// unused file behind and is never billed.
func (c *Client) UploadFile(ctx context.Context, p UploadFileParams) (*File, error) {
	const op = "UploadFile"
	if strings.TrimSpace(p.Name) == "" || p.Body == nil {
		return nil, fmt.Errorf("extendapi: %s: %w: Name and Body are required", op, ErrInvalidArgument)
	}
	contentType, head, tail, err := multipartFrame(p)
	if err != nil {
		return nil, fmt.Errorf("extendapi: %s: %w", op, err)
	}
	body, seekable := uploadBody(p.Body, head, tail)
	cl := call{
		op: op, method: http.MethodPost, path: "/files/upload",
		category: CategoryWRITE, class: retryNever, timeout: c.uploadTimeout,
		body: body, contentType: contentType,
	}
	if seekable {
		cl.class, cl.replayable = retryIdempotent, true
	}
	if p.ConvertToPDF {
		cl.query = url.Values{"convertToPdf": {"true"}}
	}
	return getObject(ctx, c, cl, &File{}, func(f *File) string { return f.ID })
}

// multipartFrame renders everything of the multipart body except the file's
// bytes: the optional password field and the file part's header (head),
// and the closing boundary (tail). The file itself is streamed between
// them, so the body is never assembled in memory.
func multipartFrame(p UploadFileParams) (contentType string, head, tail []byte, err error) {
	var headBuf, tailBuf bytes.Buffer
	out := &switchWriter{w: &headBuf}
	mw := multipart.NewWriter(out)
	if p.Password != "" {
		if err := mw.WriteField("password", p.Password); err != nil {
			return "", nil, nil, err
		}
	}
	ct := p.ContentType
	if ct == "" {
		ct = mime.TypeByExtension(filepath.Ext(p.Name))
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", headerSafe(p.Name)))
	h.Set("Content-Type", headerSafe(ct))
	if _, err := mw.CreatePart(h); err != nil {
		return "", nil, nil, err
	}
	out.w = &tailBuf
	if err := mw.Close(); err != nil {
		return "", nil, nil, err
	}
	return mw.FormDataContentType(), headBuf.Bytes(), tailBuf.Bytes(), nil
}

// headerSafe replaces control characters, which would let a file name
// inject part headers.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '_'
		}
		return r
	}, s)
}

type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

// uploadBody returns the per-attempt body factory. For a seekable file each
// attempt rewinds to where the file stood at the start, after waiting until
// net/http has let go of the previous attempt's body (it may close it from
// another goroutine after the round trip returned).
func uploadBody(file io.Reader, head, tail []byte) (factory func(context.Context) (io.Reader, int64, error), seekable bool) {
	seeker, ok := file.(io.ReadSeeker)
	var start, size int64 = 0, -1
	if ok {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err == nil {
			var end int64
			if end, err = seeker.Seek(0, io.SeekEnd); err == nil {
				_, err = seeker.Seek(start, io.SeekStart)
				size = end - start
			}
		}
		ok = err == nil && size >= 0
	}
	length := int64(-1)
	if ok {
		length = int64(len(head)) + size + int64(len(tail))
	}

	var mu sync.Mutex
	var prev *guardedBody
	factory = func(ctx context.Context) (io.Reader, int64, error) {
		mu.Lock()
		defer mu.Unlock()
		if prev != nil {
			if !ok {
				return nil, 0, errors.New("the upload body is a plain io.Reader and cannot be sent twice")
			}
			select {
			case <-prev.closed:
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return nil, 0, fmt.Errorf("rewind the upload body: %w", err)
			}
		}
		prev = newGuardedBody(io.MultiReader(bytes.NewReader(head), file, bytes.NewReader(tail)))
		return prev, length, nil
	}
	return factory, ok
}

// guardedBody stops reading once closed and signals the close, so a retry
// never races a previous attempt for the file.
type guardedBody struct {
	mu       sync.Mutex
	r        io.Reader
	isClosed bool
	closed   chan struct{}
}

func newGuardedBody(r io.Reader) *guardedBody {
	return &guardedBody{r: r, closed: make(chan struct{})}
}

func (b *guardedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.isClosed {
		return 0, errors.New("upload body already closed")
	}
	return b.r.Read(p)
}

func (b *guardedBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.isClosed {
		b.isClosed = true
		close(b.closed)
	}
	return nil
}

// GetFile fetches a file (GET /files/{id}) with a presigned download URL
// that expires after 15 minutes: use it at once, never cache it.
func (c *Client) GetFile(ctx context.Context, id string) (*File, error) {
	path, err := objectPath("GetFile", "/files", id)
	if err != nil {
		return nil, err
	}
	cl := call{op: "GetFile", method: http.MethodGet, path: path, category: CategoryGET, class: retryIdempotent, timeout: c.timeout}
	return getObject(ctx, c, cl, &File{}, func(f *File) string { return f.ID })
}

// ListFiles fetches one page of files (GET /files).
func (c *Client) ListFiles(ctx context.Context, p ListFilesParams) (*List[File], error) {
	q := url.Values{}
	if p.NameContains != "" {
		q.Set("nameContains", p.NameContains)
	}
	cl := call{
		op: "ListFiles", method: http.MethodGet, path: "/files",
		query:    listQuery(q, p.SortDir, p.MaxPageSize, p.NextPageToken),
		category: CategoryGET, class: retryIdempotent, timeout: c.timeout,
	}
	var page List[File]
	if err := c.do(ctx, cl, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// AllFiles walks every page of files, like AllEditRuns.
func (c *Client) AllFiles(ctx context.Context, p ListFilesParams) iter.Seq2[File, error] {
	return paginate(p.NextPageToken, func(token string) (*List[File], error) {
		p.NextPageToken = token
		return c.ListFiles(ctx, p)
	})
}

// DeleteFile deletes a file (DELETE /files/{id}); a 404 on a retry after an
// ambiguous failure counts as done, as for DeleteEditRun.
func (c *Client) DeleteFile(ctx context.Context, id string) error {
	return c.deleteObject(ctx, "DeleteFile", "/files", id)
}
