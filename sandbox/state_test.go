package sandbox

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/editwatch/editwatch/extendapi"
)

// TestPersistence: with a DataDir, files, runs, webhook endpoints and the
// presigning key survive a restart, and a run interrupted while processing
// is queued again and finishes.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	form := demoForm(t, "")
	var hold atomic.Bool
	hold.Store(true)
	entered := make(chan struct{}, 1)
	docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() {
			entered <- struct{}{}
			<-r.Context().Done() // the first sandbox closes while downloading
			return
		}
		_, _ = w.Write(form.PDF)
	}))
	defer docs.Close()
	ctx := context.Background()
	opts := Options{DataDir: dir, AllowPrivateURLs: true, Seed: true, SeedWorkspace: testWSB}

	first := startSandbox(t, opts)
	c := first.api(testKeyA, "")
	file := uploadFile(t, c, form.Name, form.PDF, "")
	done, err := c.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID}, Config: &extendapi.EditConfig{Instructions: form.Instructions}})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := c.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: "http://127.0.0.1:9/x", EnabledEvents: []string{extendapi.EventEditRunFailed}, APIVersion: extendapi.APIVersion})
	if err != nil {
		t.Fatal(err)
	}
	interrupted, err := c.CreateEditRun(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{URL: docs.URL + "/slow.pdf"}, Config: &extendapi.EditConfig{Instructions: form.Instructions}})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	oldURL := done.Output.EditedFile.PresignedURL
	seeded := len(listAll(t, first.api(testKeyB, ""), extendapi.SortByCreatedAt))
	first.close()
	if _, err := os.Stat(filepath.Join(dir, stateFileName)); err != nil {
		t.Fatalf("no state file after Close: %v", err)
	}

	hold.Store(false)
	second := startSandbox(t, opts)
	c = second.api(testKeyA, "")
	run, err := c.GetEditRun(ctx, done.ID)
	if err != nil || run.Status != extendapi.StatusProcessed || run.Output.EditedFile.ID != done.Output.EditedFile.ID {
		t.Fatalf("processed run after restart: %+v, %v", run, err)
	}
	if status, pdf := second.download(run.Output.EditedFile.PresignedURL); status != 200 || len(pdf) == 0 {
		t.Fatalf("output after restart: %d", status)
	}
	// The old URL was signed by the first process and is still valid.
	oldURL = second.http.URL + oldURL[len(first.http.URL):]
	if status, _ := second.download(oldURL); status != 200 {
		t.Fatalf("a URL presigned before the restart: %d", status)
	}
	if _, err := c.GetFile(ctx, file.ID); err != nil {
		t.Fatalf("uploaded file after restart: %v", err)
	}
	if _, err := c.GetWebhookEndpoint(ctx, hook.ID); err != nil {
		t.Fatalf("webhook endpoint after restart: %v", err)
	}
	if finished := waitRun(t, c, interrupted.ID); finished.Status != extendapi.StatusProcessed {
		t.Fatalf("interrupted run after restart: %s %s %s", finished.Status, finished.FailureReason, finished.FailureMessage)
	}
	if again := len(listAll(t, second.api(testKeyB, ""), extendapi.SortByCreatedAt)); again != seeded {
		t.Fatalf("the seed ran twice: %d runs, then %d", seeded, again)
	}
}

// TestInMemoryCleanup: without a DataDir the files live in a temporary
// directory that Close removes.
func TestInMemoryCleanup(t *testing.T) {
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := srv.blobs.dir
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("file store: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary files left behind: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestPersistedFilesArePrivate: a data folder the sandbox creates is 0700
// and everything it writes there (uploads, filled outputs, the state
// file) is 0600, whatever the process's umask lets through.
func TestPersistedFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sandbox")
	form := demoForm(t, "")
	sb := startSandbox(t, Options{DataDir: dir})
	c := sb.api(testKeyA, "")
	file := uploadFile(t, c, form.Name, form.PDF, "")
	run, err := c.Edit(context.Background(), &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: file.ID},
		Config: &extendapi.EditConfig{Instructions: form.Instructions}})
	if err != nil || run.Status != extendapi.StatusProcessed {
		t.Fatalf("edit: %+v, %v", run, err)
	}
	sb.close()
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Fatalf("%d files in the data folder, want the upload, the output and the state", files)
	}
}
