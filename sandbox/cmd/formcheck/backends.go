package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/sandbox"
)

// backend is one way of reaching the sandbox's engine: over HTTP with the
// project's Extend client, or in process.
type backend interface {
	name() string
	// detect returns the detected schema, or the failure reason of a run
	// that failed cleanly; err is anything else (a 5xx, a lost connection).
	detect(ctx context.Context, path string) (schema json.RawMessage, reason string, err error)
	// edit fills path by cfg and writes the edited PDF to out.
	edit(ctx context.Context, path string, cfg extendapi.EditConfig, out string) (filled map[string]json.RawMessage, reason string, err error)
	close() error
}

// httpBackend talks to a sandbox server on a loopback listener, as any
// Extend client would.
type httpBackend struct {
	srv      *sandbox.Server
	httpSrv  *http.Server
	client   *extendapi.Client
	download *http.Client
	files    map[string]string // input path -> uploaded file ID
}

const checkKey = "sk_formcheck"

func newHTTPBackend() (*httpBackend, error) {
	srv, err := sandbox.New(sandbox.Options{APIKeys: map[string]string{checkKey: "ws_formcheck"}})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	b := &httpBackend{srv: srv, httpSrv: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second},
		download: &http.Client{Timeout: 5 * time.Minute}, files: map[string]string{}}
	go b.httpSrv.Serve(ln)
	b.client, err = extendapi.New(extendapi.APIKey(checkKey),
		extendapi.WithBaseURL("http://"+ln.Addr().String()),
		extendapi.WithLimiter(extendapi.NewUnlimitedLimiter()),
		extendapi.WithRetryPolicy(extendapi.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *httpBackend) name() string { return "http" }

func (b *httpBackend) close() error {
	err := b.httpSrv.Close()
	return errors.Join(err, b.srv.Close())
}

func (b *httpBackend) upload(ctx context.Context, path string) (string, error) {
	if id, ok := b.files[path]; ok {
		return id, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	up, err := b.client.UploadFile(ctx, extendapi.UploadFileParams{Name: filepath.Base(path), Body: f})
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	b.files[path] = up.ID
	return up.ID, nil
}

func (b *httpBackend) detect(ctx context.Context, path string) (json.RawMessage, string, error) {
	id, err := b.upload(ctx, path)
	if err != nil {
		return nil, "", err
	}
	run, err := b.client.DetectForm(ctx, &extendapi.DetectFormRequest{File: extendapi.FileRef{ID: id}})
	if reason, clean := runFailure(err); clean {
		return nil, reason, nil
	} else if err != nil {
		return nil, "", fmt.Errorf("detect: %w", err)
	}
	if run.Output == nil {
		return nil, "", errors.New("detect: a processed run without output")
	}
	return run.Output.Schema, "", nil
}

func (b *httpBackend) edit(ctx context.Context, path string, cfg extendapi.EditConfig, out string) (map[string]json.RawMessage, string, error) {
	id, err := b.upload(ctx, path)
	if err != nil {
		return nil, "", err
	}
	run, err := b.client.Edit(ctx, &extendapi.CreateEditRunRequest{File: &extendapi.FileRef{ID: id}, Config: &cfg})
	if reason, clean := runFailure(err); clean {
		return nil, reason, nil
	} else if err != nil {
		return nil, "", fmt.Errorf("edit: %w", err)
	}
	if run.Status != extendapi.StatusProcessed || run.Output == nil {
		return nil, "", fmt.Errorf("edit: run %s is %s without output", run.ID, run.Status)
	}
	if err := b.fetch(ctx, run.Output.EditedFile.PresignedURL, out); err != nil {
		return nil, "", fmt.Errorf("download the edited file: %w", err)
	}
	return run.Output.FilledValues, "", nil
}

func (b *httpBackend) fetch(ctx context.Context, url, out string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := b.download.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("HTTP " + strconv.Itoa(resp.StatusCode))
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runFailure reads a sync call's error: a 4xx whose code is a documented
// failure reason is a run that failed (INTERNAL_ERROR included: the check
// decides what each reason means). A 5xx never is.
func runFailure(err error) (string, bool) {
	var ae *extendapi.APIError
	if !errors.As(err, &ae) || ae.StatusCode >= 500 {
		return "", false
	}
	for _, r := range extendapi.FailureReasons {
		if ae.Code == string(r) {
			return ae.Code, true
		}
	}
	return "", false
}

// pipelineBackend runs the engine in process: the same detect-fill-flatten
// pipeline without HTTP, the baseline for the HTTP figures.
type pipelineBackend struct{ engine *sandbox.Engine }

func (pipelineBackend) name() string { return "pipeline" }
func (pipelineBackend) close() error { return nil }

func (p pipelineBackend) detect(ctx context.Context, path string) (json.RawMessage, string, error) {
	res, err := p.engine.Detect(ctx, path, "", nil)
	if reason, clean := engineFailure(err); clean {
		return nil, reason, nil
	} else if err != nil {
		return nil, "", err
	}
	return res.Response.Schema, "", nil
}

func (p pipelineBackend) edit(ctx context.Context, path string, cfg extendapi.EditConfig, out string) (map[string]json.RawMessage, string, error) {
	res, err := sandbox.EditInProcess(ctx, p.engine, path, out, cfg)
	if reason, clean := engineFailure(err); clean {
		return nil, reason, nil
	} else if err != nil {
		return nil, "", err
	}
	return res.FilledValues, "", nil
}

// engineFailure: a *sandbox.Failure is a failed run with its reason.
func engineFailure(err error) (string, bool) {
	var f *sandbox.Failure
	if !errors.As(err, &f) {
		return "", false
	}
	return string(f.Reason), true
}
