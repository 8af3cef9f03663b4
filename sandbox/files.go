package sandbox

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/editwatch/editwatch/extendapi"
)

// maxPasswordField bounds the multipart password field.
const maxPasswordField = 4 << 10

// handleUploadFile is POST /files/upload: multipart with `file` (required)
// and `password`, streamed to disk under the size limit (413
// FILE_SIZE_TOO_LARGE beyond it).
func (s *Server) handleUploadFile(w http.ResponseWriter, r *http.Request, c *callContext) error {
	convert, err := queryBool(r, "convertToPdf")
	if err != nil {
		return err
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		return errInvalid("POST /files/upload wants multipart/form-data with a `file` field")
	}
	// The whole body is bounded too, so extra parts cannot stream forever.
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUpload+1<<20)
	up, err := s.receiveUpload(r)
	if err != nil {
		return err
	}
	id := newID("file_")
	if err := s.blobs.commit(up.tempPath, id); err != nil {
		_ = os.Remove(up.tempPath)
		return err
	}
	fileType, _ := SniffFileType(s.blobs.path(id))
	s.mu.Lock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		s.mu.Unlock()
		s.blobs.remove(id)
		return err
	}
	now := s.stampLocked()
	rec := &fileRecord{
		File: extendapi.File{
			Object: "file", ID: id, Name: up.name, Type: fileType,
			Metadata: &extendapi.FileMetadata{}, CreatedAt: &now, UpdatedAt: &now,
		},
		Size: up.size, Password: up.password, ConvertToPDF: convert,
	}
	wd.Files[id] = rec
	file := rec.File
	s.markDirtyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, file)
	return nil
}

// upload is a received multipart upload, its bytes in a scratch file.
type upload struct {
	tempPath string
	name     string
	size     int64
	password string
}

// receiveUpload reads the multipart parts, streaming `file` to a scratch
// file. Nothing of the file is held in memory beyond copy buffers.
func (s *Server) receiveUpload(r *http.Request) (up upload, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return up, errInvalid("malformed multipart body: %v", err)
	}
	defer func() {
		if err != nil && up.tempPath != "" {
			_ = os.Remove(up.tempPath)
			up.tempPath = ""
		}
	}()
	for {
		part, perr := mr.NextPart()
		if errors.Is(perr, io.EOF) {
			break
		}
		if perr != nil {
			return up, s.uploadReadError(perr)
		}
		switch part.FormName() {
		case "file":
			if up.tempPath != "" {
				return up, errInvalid("more than one `file` part")
			}
			up.name = cleanFileName(part.FileName())
			up.tempPath, up.size, err = s.spoolPart(part)
			if err != nil {
				return up, err
			}
		case "password":
			b, rerr := io.ReadAll(io.LimitReader(part, maxPasswordField+1))
			if rerr != nil {
				return up, s.uploadReadError(rerr)
			}
			if len(b) > maxPasswordField {
				return up, errInvalid("the password field exceeds %d bytes", maxPasswordField)
			}
			up.password = string(b)
		default:
			if _, derr := io.Copy(io.Discard, part); derr != nil {
				return up, s.uploadReadError(derr)
			}
		}
	}
	if up.tempPath == "" {
		return up, errInvalid("the multipart body has no `file` part")
	}
	return up, nil
}

// spoolPart copies one part to a scratch file, stopping one byte past the
// limit so an oversized file is refused without reading it all.
func (s *Server) spoolPart(part io.Reader) (string, int64, error) {
	f, err := s.blobs.tempFile()
	if err != nil {
		return "", 0, err
	}
	n, cerr := io.Copy(f, io.LimitReader(part, s.opts.MaxUpload+1))
	closeErr := f.Close()
	switch {
	case cerr != nil:
		_ = os.Remove(f.Name())
		return "", 0, s.uploadReadError(cerr)
	case closeErr != nil:
		_ = os.Remove(f.Name())
		return "", 0, fmt.Errorf("sandbox: spool upload: %w", closeErr)
	case n > s.opts.MaxUpload:
		_ = os.Remove(f.Name())
		return "", 0, errTooLarge(s.opts.MaxUpload)
	}
	return f.Name(), n, nil
}

func (s *Server) uploadReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errTooLarge(s.opts.MaxUpload)
	}
	return errInvalid("reading the upload failed: %v", err)
}

// cleanFileName keeps the base name a client sent, as valid UTF-8 without
// control characters; a missing name becomes "upload".
func cleanFileName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(name)
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if name == "" || name == "." || name == "/" {
		return "upload"
	}
	for len(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// handleGetFile is GET /files/{id}: the file with a 15-minute presigned URL.
func (s *Server) handleGetFile(w http.ResponseWriter, r *http.Request, c *callContext) error {
	id := r.PathValue("id")
	s.mu.Lock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	rec, ok := wd.Files[id]
	var file extendapi.File
	if ok {
		file = rec.File
	}
	s.mu.Unlock()
	if !ok {
		return errNotFound("file", id)
	}
	file.PresignedURL = s.presignedURL(c.baseURL, presignBlobs, id, presignedFileTTL)
	writeJSON(w, http.StatusOK, file)
	return nil
}

// handleListFiles is GET /files with nameContains, sortDir, maxPageSize and
// nextPageToken, newest first by default.
func (s *Server) handleListFiles(w http.ResponseWriter, r *http.Request, c *callContext) error {
	q := r.URL.Query()
	page, err := parsePageQuery(q, extendapi.SortByCreatedAt, false)
	if err != nil {
		return err
	}
	nameContains := strings.ToLower(q.Get("nameContains"))
	s.mu.Lock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	var matches []extendapi.File
	for _, rec := range wd.Files {
		if nameContains == "" || strings.Contains(strings.ToLower(rec.File.Name), nameContains) {
			matches = append(matches, rec.File)
		}
	}
	s.mu.Unlock()
	data, next := paginate(matches, func(f extendapi.File) sortKey { return sortKey{*f.CreatedAt, f.ID} }, page)
	writeJSON(w, http.StatusOK, extendapi.List[extendapi.File]{Object: "list", Data: data, NextPageToken: next})
	return nil
}

// handleDeleteFile is DELETE /files/{id}.
func (s *Server) handleDeleteFile(w http.ResponseWriter, r *http.Request, c *callContext) error {
	id := r.PathValue("id")
	s.mu.Lock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	_, ok := wd.Files[id]
	if ok {
		delete(wd.Files, id)
		s.markDirtyLocked()
	}
	s.mu.Unlock()
	if !ok {
		return errNotFound("file", id)
	}
	s.blobs.remove(id)
	writeJSON(w, http.StatusOK, extendapi.DeletedObject{ID: id})
	return nil
}

// queryBool reads an optional boolean query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errInvalid("query parameter %s=%q is not a boolean", name, v)
	}
	return b, nil
}
