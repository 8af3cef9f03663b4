package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

// Presigned URL lifetimes: 15 minutes for files (§6), one hour for large
// webhook payloads (§5.2).
const (
	presignedFileTTL    = 15 * time.Minute
	presignedPayloadTTL = time.Hour
)

// Path segments of the sandbox's presigned routes.
const (
	presignBlobs    = "blobs"
	presignPayloads = "webhook_payloads"
)

// presignedURL signs a GET of <own>/{kind}/{id} (ownPath) that expires after ttl
// on the server's clock.
func (s *Server) presignedURL(baseURL, kind, id string, ttl time.Duration) string {
	expires := s.opts.Clock().Add(ttl).Unix()
	q := url.Values{}
	q.Set("expires", strconv.FormatInt(expires, 10))
	q.Set("signature", s.presignSignature(kind, id, expires))
	return baseURL + s.ownPath(kind) + "/" + url.PathEscape(id) + "?" + q.Encode()
}

func (s *Server) presignSignature(kind, id string, expires int64) string {
	mac := hmac.New(sha256.New, s.state.PresignKey)
	mac.Write([]byte(kind + "\n" + id + "\n" + strconv.FormatInt(expires, 10)))
	return hex.EncodeToString(mac.Sum(nil))
}

// verifyPresigned answers 403 for a tampered or expired URL. The signature
// is checked first so an attacker learns nothing from the expiry message.
func (s *Server) verifyPresigned(r *http.Request, kind, id string) error {
	q := r.URL.Query()
	expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil {
		return errForbidden("the presigned URL is malformed")
	}
	want := s.presignSignature(kind, id, expires)
	if !hmac.Equal([]byte(want), []byte(q.Get("signature"))) {
		return errForbidden("the presigned URL's signature does not match")
	}
	if s.opts.Clock().Unix() > expires {
		return errForbidden("the presigned URL has expired; fetch a fresh one")
	}
	return nil
}

// handleBlobDownload serves a file's bytes to the holder of a presigned URL.
func (s *Server) handleBlobDownload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.verifyPresigned(r, presignBlobs, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.mu.Lock()
	rec := s.findFileLocked(id)
	var file fileRecord
	if rec != nil {
		file = *rec
	}
	s.mu.Unlock()
	if rec == nil {
		s.writeError(w, r, errNotFound("file", id))
		return
	}
	f, err := os.Open(s.blobs.path(id))
	if err != nil {
		s.writeError(w, r, errNotFound("file content", id))
		return
	}
	defer f.Close()
	contentType := "application/octet-stream"
	if file.File.Type == FileTypePDF {
		contentType = "application/pdf"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": file.File.Name}))
	w.Header().Set("Cache-Control", "private, no-store")
	modTime := time.Time{}
	if file.File.UpdatedAt != nil {
		modTime = *file.File.UpdatedAt
	}
	http.ServeContent(w, r, "", modTime, f)
}

// findFileLocked finds a file in any workspace: presigned URLs carry no
// workspace, their signature is the authority.
func (s *Server) findFileLocked(id string) *fileRecord {
	for _, wd := range s.state.Workspaces {
		if rec, ok := wd.Files[id]; ok {
			return rec
		}
	}
	return nil
}
