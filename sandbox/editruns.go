package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// handleCreateEditRun is POST /edit_runs: validate, record a PROCESSING run,
// queue it. Document problems surface later as a FAILED run (§2.2).
func (s *Server) handleCreateEditRun(w http.ResponseWriter, r *http.Request, c *callContext) error {
	run, _, err := s.createEditRun(w, r, c, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

// handleEditSync is POST /edit: the same run, answered when it finishes, at
// most five minutes later. A FAILED run is a 422 whose code is the failure
// reason (§2.1).
func (s *Server) handleEditSync(w http.ResponseWriter, r *http.Request, c *callContext) error {
	run, done, err := s.createEditRun(w, r, c, true)
	if err != nil {
		return err
	}
	if err := s.awaitRun(r.Context(), done, run.ID); err != nil {
		return err
	}
	s.mu.Lock()
	rec := s.editRunLocked(c.workspace, run.ID)
	var final extendapi.EditRun
	if rec != nil {
		final = s.presentEditRunLocked(rec, c.baseURL, viewFull)
	}
	s.mu.Unlock()
	if rec == nil {
		return errNotFound("edit run", run.ID) // deleted while it ran
	}
	if final.Status == extendapi.StatusFailed {
		return errRunFailed(final.FailureReason, final.FailureMessage)
	}
	writeJSON(w, http.StatusOK, final)
	return nil
}

// awaitRun waits for a run of a synchronous endpoint to finish.
func (s *Server) awaitRun(ctx context.Context, done chan struct{}, id string) error {
	timer := time.NewTimer(s.syncTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
		s.dropWaiter(id, done)
		return &apiError{status: http.StatusGatewayTimeout, code: codeTimeout,
			message: fmt.Sprintf("the run did not finish within %s; it goes on as %s: poll its GET endpoint", s.syncTimeout, id)}
	case <-ctx.Done():
		s.dropWaiter(id, done)
		return fmt.Errorf("sandbox: waiting for %s: %w", id, ctx.Err())
	case <-s.ctx.Done():
		return &apiError{status: http.StatusServiceUnavailable, code: codeInternalError, retryable: true,
			message: "the sandbox shut down before the run finished"}
	}
}

// dropWaiter forgets a caller that stopped waiting, so a run that never
// finishes (a stuck one) does not keep its channel forever.
func (s *Server) dropWaiter(id string, done chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rest := slices.DeleteFunc(s.waiters[id], func(ch chan struct{}) bool { return ch == done })
	if len(rest) == 0 {
		delete(s.waiters, id)
	} else {
		s.waiters[id] = rest
	}
}

// createEditRun validates a create request and records the run. With wait,
// it also returns a channel closed when the run finishes.
func (s *Server) createEditRun(w http.ResponseWriter, r *http.Request, c *callContext, wait bool) (extendapi.EditRun, chan struct{}, error) {
	var req extendapi.CreateEditRunRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		return extendapi.EditRun{}, nil, err
	}
	switch {
	case req.File != nil && req.TemplateID != "":
		return extendapi.EditRun{}, nil, errInvalid("give exactly one of file and templateId, not both")
	case req.File == nil && req.TemplateID == "":
		return extendapi.EditRun{}, nil, errInvalid("give exactly one of file and templateId")
	case req.File != nil:
		if err := validateFileRef("file", req.File); err != nil {
			return extendapi.EditRun{}, nil, err
		}
	}
	if req.Config != nil {
		// Validate the request's own config before any template is merged in,
		// so a wrong shape is reported against what the caller sent.
		if _, err := effectiveEditConfig(*req.Config); err != nil {
			return extendapi.EditRun{}, nil, err
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		return extendapi.EditRun{}, nil, err
	}
	if err := s.checkBudgetLocked(wd); err != nil {
		return extendapi.EditRun{}, nil, err
	}
	config := extendapi.EditConfig{}
	fileRef := req.File
	if req.TemplateID != "" {
		tpl, ok := wd.Templates[req.TemplateID]
		if !ok {
			return extendapi.EditRun{}, nil, errNotFound("edit template", req.TemplateID)
		}
		config = tpl.Config
		fileRef = &extendapi.FileRef{ID: tpl.File.ID}
	}
	config, err = effectiveEditConfig(mergeEditConfig(config, req.Config))
	if err != nil {
		return extendapi.EditRun{}, nil, err
	}
	summary, input, err := s.resolveInputLocked(wd, fileRef, req.TemplateID != "")
	if err != nil {
		return extendapi.EditRun{}, nil, err
	}
	now := s.stampLocked()
	rec := &editRunRecord{
		Run: extendapi.EditRun{
			Object: "edit_run", ID: newID("edr_"), File: summary, Status: extendapi.StatusProcessing,
			Config: &config, Source: SourceAPI, CreatedAt: &now, UpdatedAt: &now,
		},
		Input:   input,
		Stuck:   s.rollFault(func(f Faults) float64 { return f.RateStuck }),
		BaseURL: c.baseURL,
	}
	wd.EditRuns[rec.Run.ID] = rec
	var done chan struct{}
	if wait {
		done = make(chan struct{})
		s.waiters[rec.Run.ID] = append(s.waiters[rec.Run.ID], done)
	}
	if !rec.Stuck {
		s.enqueueNewLocked(jobEdit, wd.ID, rec.Run.ID)
	}
	s.markDirtyLocked()
	return s.presentEditRunLocked(rec, c.baseURL, viewFull), done, nil
}

// resolveInputLocked turns a file reference into the run's file summary and
// input. An unknown file ID is a 404 at creation; a URL is only fetched by
// the worker, into a file ID reserved now.
func (s *Server) resolveInputLocked(wd *workspaceData, ref *extendapi.FileRef, fromTemplate bool) (extendapi.FileSummary, runInput, error) {
	password := ""
	if ref.Settings != nil {
		password = ref.Settings.Password
	}
	if ref.ID != "" {
		rec, ok := wd.Files[ref.ID]
		if !ok {
			if fromTemplate {
				return extendapi.FileSummary{}, runInput{}, errNotFound("file of the edit template", ref.ID)
			}
			return extendapi.FileSummary{}, runInput{}, errNotFound("file", ref.ID)
		}
		if password == "" {
			password = rec.Password
		}
		return fileSummary(rec.File), runInput{FileID: ref.ID, Password: password}, nil
	}
	name := ref.Name
	if name == "" {
		name = nameFromURL(ref.URL)
	}
	return extendapi.FileSummary{Object: "file", ID: newID("file_"), Name: cleanFileName(name)},
		runInput{URL: ref.URL, Password: password}, nil
}

// nameFromURL is the last path segment of a URL, the name a download gets
// when the request names none.
func nameFromURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "file"
	}
	base := path.Base(u.Path)
	if base == "/" || base == "." || base == "" {
		return "file"
	}
	if unescaped, err := url.PathUnescape(base); err == nil {
		return unescaped
	}
	return base
}

func fileSummary(f extendapi.File) extendapi.FileSummary {
	return extendapi.FileSummary{
		Object: "file", ID: f.ID, Name: f.Name, Type: f.Type, ParentFileID: f.ParentFileID,
		Metadata: f.Metadata, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
	}
}

// runView chooses between the full run and the list summary.
type runView int

const (
	viewFull    runView = iota // GET /edit_runs/{id}: config and output, no source
	viewSummary                // GET /edit_runs items: no config or output, usage without breakdown
)

// presentEditRunLocked copies a run for an answer, minting a fresh presigned
// URL for the edited file when it still exists.
func (s *Server) presentEditRunLocked(rec *editRunRecord, baseURL string, view runView) extendapi.EditRun {
	run := rec.Run
	if run.Usage != nil {
		usage := *run.Usage
		run.Usage = &usage
	}
	switch view {
	case viewSummary:
		run.Config, run.Output = nil, nil
		if run.Usage != nil {
			run.Usage.Breakdown = nil
		}
	case viewFull:
		run.Source = ""
		if run.Output != nil {
			out := *run.Output
			if s.findFileLocked(out.EditedFile.ID) != nil {
				out.EditedFile.PresignedURL = s.presignedURL(baseURL, presignBlobs, out.EditedFile.ID, presignedFileTTL)
			}
			run.Output = &out
		}
	}
	return run
}

func (s *Server) editRunLocked(workspace, id string) *editRunRecord {
	wd, ok := s.state.Workspaces[workspace]
	if !ok {
		return nil
	}
	return wd.EditRuns[id]
}

// handleGetEditRun is GET /edit_runs/{id}: the full run (§2.3) plus its
// createdAt and updatedAt.
func (s *Server) handleGetEditRun(w http.ResponseWriter, r *http.Request, c *callContext) error {
	id := r.PathValue("id")
	s.mu.Lock()
	rec := s.editRunLocked(c.workspace, id)
	var run extendapi.EditRun
	if rec != nil {
		run = s.presentEditRunLocked(rec, c.baseURL, viewFull)
	}
	s.mu.Unlock()
	if rec == nil {
		return errNotFound("edit run", id)
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

// handleDeleteEditRun is DELETE /edit_runs/{id}: the run and its data (the
// edited file, and the input when the run downloaded it) are gone for good.
// A run still processing is dropped when its worker finishes.
func (s *Server) handleDeleteEditRun(w http.ResponseWriter, r *http.Request, c *callContext) error {
	id := r.PathValue("id")
	s.mu.Lock()
	rec := s.editRunLocked(c.workspace, id)
	var owned []string
	if rec != nil {
		wd := s.state.Workspaces[c.workspace]
		delete(wd.EditRuns, id)
		if rec.Run.Output != nil {
			owned = append(owned, rec.Run.Output.EditedFile.ID)
		}
		if rec.Input.URL != "" {
			owned = append(owned, rec.Run.File.ID)
		}
		for _, fid := range owned {
			delete(wd.Files, fid)
		}
		s.releaseWaitersLocked(id)
		s.markDirtyLocked()
	}
	s.mu.Unlock()
	if rec == nil {
		return errNotFound("edit run", id)
	}
	for _, fid := range owned {
		s.blobs.remove(fid)
	}
	writeJSON(w, http.StatusOK, extendapi.DeletedObject{ID: id})
	return nil
}

// handleListEditRuns is GET /edit_runs (§2.5) with status, source,
// fileNameContains, sortBy (default updatedAt), sortDir (default desc),
// maxPageSize (default 20, at most 100) and a keyset nextPageToken.
func (s *Server) handleListEditRuns(w http.ResponseWriter, r *http.Request, c *callContext) error {
	q := r.URL.Query()
	page, err := parsePageQuery(q, extendapi.SortByUpdatedAt, true)
	if err != nil {
		return err
	}
	status := extendapi.RunStatus(q.Get("status"))
	switch status {
	case "", extendapi.StatusProcessing, extendapi.StatusProcessed, extendapi.StatusFailed:
	default:
		return errInvalid("status %q: want PROCESSING, PROCESSED or FAILED", status)
	}
	source := q.Get("source")
	switch source {
	case "", SourceAPI, SourceStudio:
	default:
		return errInvalid("source %q: want %s or %s", source, SourceAPI, SourceStudio)
	}
	nameContains := strings.ToLower(q.Get("fileNameContains"))

	s.mu.Lock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	var runs []extendapi.EditRun
	for _, rec := range wd.EditRuns {
		if status != "" && rec.Run.Status != status ||
			source != "" && rec.Run.Source != source ||
			nameContains != "" && !strings.Contains(strings.ToLower(rec.Run.File.Name), nameContains) {
			continue
		}
		runs = append(runs, s.presentEditRunLocked(rec, c.baseURL, viewSummary))
	}
	s.mu.Unlock()
	key := func(run extendapi.EditRun) sortKey { return sortKey{*run.UpdatedAt, run.ID} }
	if page.sortBy == extendapi.SortByCreatedAt {
		key = func(run extendapi.EditRun) sortKey { return sortKey{*run.CreatedAt, run.ID} }
	}
	data, next := paginate(runs, key, page)
	writeJSON(w, http.StatusOK, extendapi.List[extendapi.EditRun]{Object: "list", Data: data, NextPageToken: next})
	return nil
}
