package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// TestFilesEndpoints: upload, get with a presigned URL that serves the
// bytes, list with nameContains and cursor, delete.
func TestFilesEndpoints(t *testing.T) {
	ts := startSandbox(t, Options{})
	c := ts.api(testKeyA, "")
	ctx := context.Background()
	form := demoForm(t, "")

	var uploaded []*extendapi.File
	for i := range 5 {
		uploaded = append(uploaded, uploadFile(t, c, fmt.Sprintf("invoice-%d.pdf", i), form.PDF, ""))
	}
	other := uploadFile(t, c, "notes.txt", []byte("plain text, not a PDF\n"), "")
	if other.Type == FileTypePDF {
		t.Errorf("notes.txt sniffed as PDF")
	}

	got, err := c.GetFile(ctx, uploaded[0].ID)
	if err != nil {
		t.Fatalf("GetFile: %v", err)
	}
	if got.Name != "invoice-0.pdf" || got.PresignedURL == "" || got.CreatedAt == nil {
		t.Fatalf("GetFile = %+v", got)
	}
	status, data := ts.download(got.PresignedURL)
	if status != http.StatusOK || !bytes.Equal(data, form.PDF) {
		t.Fatalf("presigned download: %d, %d bytes; want the uploaded %d bytes", status, len(data), len(form.PDF))
	}

	var names []string
	for f, err := range c.AllFiles(ctx, extendapi.ListFilesParams{NameContains: "INVOICE", MaxPageSize: 2}) {
		if err != nil {
			t.Fatalf("AllFiles: %v", err)
		}
		names = append(names, f.Name)
	}
	want := []string{"invoice-4.pdf", "invoice-3.pdf", "invoice-2.pdf", "invoice-1.pdf", "invoice-0.pdf"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("files newest first across pages = %v, want %v", names, want)
	}
	page, err := c.ListFiles(ctx, extendapi.ListFilesParams{NameContains: "invoice", SortDir: extendapi.SortAsc, MaxPageSize: 3})
	if err != nil || len(page.Data) != 3 || page.Data[0].Name != "invoice-0.pdf" || page.NextPageToken == "" {
		t.Fatalf("ascending first page = %+v, %v", page, err)
	}

	if err := c.DeleteFile(ctx, uploaded[1].ID); err != nil {
		t.Fatalf("DeleteFile: %v", err)
	}
	if _, err := c.GetFile(ctx, uploaded[1].ID); !errors.Is(err, extendapi.ErrNotFound) {
		t.Fatalf("GetFile after delete: %v", err)
	}
	if status, _ := ts.download(got.PresignedURL); status != http.StatusOK {
		t.Fatalf("another file's URL broke: %d", status)
	}
}

// TestUploadLimitAndShape: over the limit is 413 FILE_SIZE_TOO_LARGE (the
// body is not read beyond it); a body without a file part is 400.
func TestUploadLimitAndShape(t *testing.T) {
	ts := startSandbox(t, Options{MaxUpload: 1000})
	c := ts.api(testKeyA, "")
	ctx := context.Background()

	if f := uploadFile(t, c, "exact.bin", bytes.Repeat([]byte("x"), 1000), ""); f.ID == "" {
		t.Fatal("a file of exactly the limit was refused")
	}
	_, err := c.UploadFile(ctx, extendapi.UploadFileParams{Name: "big.pdf", Body: bytes.NewReader(bytes.Repeat([]byte("x"), 1001))})
	ae := asAPIError(t, err)
	if ae.StatusCode != http.StatusRequestEntityTooLarge || ae.Code != "FILE_SIZE_TOO_LARGE" {
		t.Fatalf("oversized upload: %d %s, want 413 FILE_SIZE_TOO_LARGE", ae.StatusCode, ae.Code)
	}
	// Far over the limit, streamed: still a clean 413.
	_, err = c.UploadFile(ctx, extendapi.UploadFileParams{Name: "huge.pdf", Body: bytes.NewReader(make([]byte, 5<<20))})
	if ae := asAPIError(t, err); ae.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge upload: %d %s", ae.StatusCode, ae.Code)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("password", "x")
	_ = mw.Close()
	headers := authHeaders(testKeyA)
	headers["Content-Type"] = mw.FormDataContentType()
	resp, data := ts.raw(http.MethodPost, "/files/upload", headers, body.Bytes())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "INVALID_REQUEST") {
		t.Fatalf("upload without file part: %d %s", resp.StatusCode, data)
	}
	headers["Content-Type"] = "application/json"
	if resp, _ := ts.raw(http.MethodPost, "/files/upload", headers, []byte(`{}`)); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("JSON upload: %d, want 400", resp.StatusCode)
	}
}

// TestPresignedURLs: valid for 15 minutes on the sandbox's clock, 403 once
// expired or when any part of the URL is changed.
func TestPresignedURLs(t *testing.T) {
	clock := newTestClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	ts := startSandbox(t, Options{Clock: clock.Now})
	c := ts.api(testKeyA, "")
	file := uploadFile(t, c, "a.pdf", demoForm(t, "").PDF, "")
	second := uploadFile(t, c, "b.pdf", []byte("%PDF-1.4 other"), "")
	got, err := c.GetFile(context.Background(), file.ID)
	if err != nil {
		t.Fatal(err)
	}
	url := got.PresignedURL
	if !strings.HasPrefix(url, ts.http.URL+"/_sandbox/blobs/"+file.ID+"?") {
		t.Fatalf("presigned URL %s is not served by the sandbox", url)
	}
	tampered := map[string]string{
		"other file":       strings.Replace(url, file.ID, second.ID, 1),
		"later expiry":     strings.Replace(url, "expires=", "expires=9", 1),
		"signature edited": url[:len(url)-1] + flipHex(url[len(url)-1]),
		"no signature":     url[:strings.Index(url, "&signature=")],
	}
	for name, u := range tampered {
		if status, body := ts.download(u); status != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", name, status, body)
		}
	}
	clock.Advance(15 * time.Minute)
	if status, _ := ts.download(url); status != http.StatusOK {
		t.Fatalf("at exactly 15 minutes: %d, want 200", status)
	}
	clock.Advance(time.Second)
	status, body := ts.download(url)
	if status != http.StatusForbidden || !strings.Contains(string(body), "expired") {
		t.Fatalf("after 15 minutes: %d %s, want 403 expired", status, body)
	}
	fresh, err := c.GetFile(context.Background(), file.ID)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := ts.download(fresh.PresignedURL); status != http.StatusOK {
		t.Fatalf("a fresh URL: %d", status)
	}
}

func flipHex(b byte) string {
	if b == '0' {
		return "1"
	}
	return "0"
}
