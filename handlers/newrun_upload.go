package handlers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// Bounds of the new-run form's parts other than the file.
const (
	maxFieldBytes = 1 << 20
	maxFormParts  = 64
)

// errTooLarge marks an upload over the limit.
var errTooLarge = errors.New("upload too large")

// readNewRunForm reads the new-run form. The PDF part is streamed to
// Extend's file upload as it arrives, never held in memory: when the
// request is already proven same-origin (Sec-Fetch-Site, or the CSRF
// header) it goes straight through; otherwise (the CSRF field comes after
// the file in the form) it is spooled to a temporary file first and only
// uploaded once the token checked out.
func (a *dashboard) readNewRunForm(c echo.Context, cl *extendapi.Client) (*newRunForm, error) {
	form := &newRunForm{Checked: map[string]bool{}}
	r := c.Request()
	token := middleware.NewTokenCheck(r)

	mediaType, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if mediaType != "multipart/form-data" {
		if err := r.ParseForm(); err != nil {
			return nil, &PageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Category: "bad request",
				Explanation: "The form could not be read; reload the page and try again.", Err: err}
		}
		for name, vals := range r.PostForm {
			if name == views.CSRFField {
				token.Offer(vals[0])
				continue
			}
			for _, v := range vals {
				form.set(name, v)
			}
		}
		if !token.Verified() {
			return nil, middleware.CSRFRefusal(nil)
		}
		return form, nil
	}

	mr, err := r.MultipartReader()
	if err != nil {
		return nil, &PageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Category: "bad request",
			Explanation: "The upload could not be read; reload the page and try again.", Err: err}
	}
	var spooled *os.File
	var spooledName string
	defer func() {
		if spooled != nil {
			spooled.Close()
			os.Remove(spooled.Name())
		}
	}()
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, a.uploadReadError(err)
		}
		if parts >= maxFormParts {
			return nil, &PageError{Status: http.StatusBadRequest, Heading: "Too many form fields", Category: "bad request",
				Explanation: "The form sent more fields than the new-run page has."}
		}
		name := part.FormName()
		switch {
		case name == views.FieldFile:
			filename := cleanFileName(part.FileName())
			if filename == "" || form.input() != views.InputUpload {
				_, _ = io.Copy(io.Discard, part)
				continue
			}
			if token.Verified() {
				err = a.uploadPDF(r.Context(), cl, form, filename, part)
			} else {
				spooled, err = a.spool(part)
				spooledName = filename
			}
			if err != nil {
				return nil, err
			}
		default:
			value, err := readField(part)
			if err != nil {
				return nil, a.uploadReadError(err)
			}
			if name == views.CSRFField {
				token.Offer(value)
				continue
			}
			form.set(name, value)
		}
	}
	if !token.Verified() {
		return nil, middleware.CSRFRefusal(nil)
	}
	if spooled != nil {
		if _, err := spooled.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("rewind spooled upload: %w", err)
		}
		if err := a.uploadPDF(r.Context(), cl, form, spooledName, spooled); err != nil {
			return nil, err
		}
	}
	return form, nil
}

// uploadPDF streams one PDF to Extend's file upload and records its ID in
// the form, or a field error when the file is not acceptable.
func (a *dashboard) uploadPDF(ctx context.Context, cl *extendapi.Client, form *newRunForm, name string, body io.Reader) error {
	br := bufio.NewReader(body)
	head, _ := br.Peek(5)
	if !bytes.Equal(head, []byte("%PDF-")) {
		_, _ = io.Copy(io.Discard, br)
		form.fieldError(views.FieldFile, name+" is not a PDF: edit runs need a PDF form.")
		return nil
	}
	limited := &limitReader{r: br, left: a.MaxUpload}
	var upload io.Reader = limited
	if rs, ok := body.(io.ReadSeeker); ok {
		// A seekable body (the spooled file) lets the client send a
		// Content-Length and retry; bufio only peeked, nothing was consumed.
		if _, err := rs.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("rewind upload: %w", err)
		}
		upload = rs
	}
	file, err := cl.UploadFile(ctx, extendapi.UploadFileParams{Name: name, Body: upload, ContentType: "application/pdf"})
	switch {
	case errors.Is(err, errTooLarge) || limited.over:
		_, _ = io.Copy(io.Discard, br)
		form.fieldError(views.FieldFile, fmt.Sprintf("%s is larger than the %s limit.", name, middleware.FormatSize(a.MaxUpload)))
		return nil
	case limited.readErr != nil:
		// The browser's upload broke off (or went over the request limit)
		// while it was streamed: the person's problem, not Extend's.
		return a.uploadReadError(limited.readErr)
	case errors.Is(err, extendapi.ErrInvalidRequest):
		var apiErr *extendapi.APIError
		errors.As(err, &apiErr)
		form.fieldError(views.FieldFile, "Extend refused the file: "+clip(apiErr.Message, 200))
		return nil
	case err != nil:
		// Extend failed (5xx, 429, timeout): the rest of the form is still
		// read, so the page comes back with everything else entered.
		_, _ = io.Copy(io.Discard, br)
		form.UploadErr = err
		form.fieldError(views.FieldFile, name+" did not reach Extend: choose it again once Extend answers.")
		return nil
	}
	form.FileID, form.FileName = file.ID, name
	if form.FileName == "" {
		form.FileName = file.Name
	}
	return nil
}

// spool copies an upload to a temporary file, bounded by the limit.
func (a *dashboard) spool(part io.Reader) (*os.File, error) {
	f, err := os.CreateTemp("", "editwatch-upload-*.pdf")
	if err != nil {
		return nil, fmt.Errorf("spool upload: %w", err)
	}
	src := &limitReader{r: part, left: a.MaxUpload}
	_, err = io.Copy(f, src)
	switch {
	case src.over:
		err = &PageError{Status: http.StatusRequestEntityTooLarge, Heading: "File too large", Category: "too large",
			Explanation: fmt.Sprintf("The PDF is larger than the %s limit.", middleware.FormatSize(a.MaxUpload))}
	case src.readErr != nil:
		err = a.uploadReadError(src.readErr) // the browser's upload broke off
	case err != nil:
		err = fmt.Errorf("spool upload: %w", err)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// limitReader fails once more than left bytes were read, and keeps the
// error of the reader underneath (the browser's upload) apart.
type limitReader struct {
	r       io.Reader
	left    int64
	over    bool
	readErr error
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		l.readErr = err
	}
	l.left -= int64(n)
	if l.left < 0 {
		l.over = true
		return n, errTooLarge
	}
	return n, err
}

func readField(part *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxFieldBytes {
		return "", &PageError{Status: http.StatusRequestEntityTooLarge, Heading: "Field too large", Category: "too large",
			Explanation: fmt.Sprintf("The field %q is larger than %s.", part.FormName(), middleware.FormatSize(maxFieldBytes))}
	}
	return string(b), nil
}

func (a *dashboard) uploadReadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &PageError{Status: http.StatusRequestEntityTooLarge, Heading: "Upload too large", Category: "too large",
			Explanation: fmt.Sprintf("The upload is larger than the %s limit.", middleware.FormatSize(a.MaxUpload)), Err: err}
	}
	var pe *PageError
	if errors.As(err, &pe) {
		return pe
	}
	return &PageError{Status: http.StatusBadRequest, Heading: "Unreadable upload", Category: "bad request",
		Explanation: "The upload was cut off or malformed; try again.", Err: err}
}

// cleanFileName keeps the base name a browser sent (old browsers send a
// whole path), bounded.
func cleanFileName(name string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	name = strings.TrimSpace(strings.ToValidUTF8(name, ""))
	if len(name) > 200 {
		// Cut on a character boundary: half a character is invalid UTF-8,
		// which PostgreSQL refuses to store.
		cut := 200
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = strings.TrimSpace(name[:cut])
	}
	return name
}
