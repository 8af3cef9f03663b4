package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// jobResult is what a worker produced for one run; applyLocked turns it
// into the run's final state when the run's turn comes.
type jobResult struct {
	job       job
	skipped   bool // the run was deleted before a worker took it
	failure   *Failure
	edit      *EditResult
	detect    *DetectResult
	outputID  string          // the edited file, written but not yet listed
	inputFile *extendapi.File // the file a URL input was downloaded into
	elapsed   time.Duration
	blobs     *blobStore
}

// discard removes what an unapplied result wrote.
func (r *jobResult) discard() {
	if r.outputID != "" {
		r.blobs.remove(r.outputID)
		r.outputID = ""
	}
}

// process runs one job. A panic anywhere in it, PDF library included,
// becomes an INTERNAL_ERROR run: no document can take the server down.
func (s *Server) process(j job) (res *jobResult) {
	res = &jobResult{job: j, blobs: s.blobs}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("sandbox: panic while processing a run", "run", j.runID, "panic", p)
			res.discard()
			res.edit, res.detect = nil, nil
			res.failure = &Failure{Reason: extendapi.ReasonInternalError, Message: "an unexpected internal error stopped the processing of this document"}
		}
		res.elapsed = time.Since(start)
	}()
	switch j.kind {
	case jobEdit:
		s.processEdit(res)
	case jobDetect:
		s.processDetect(res)
	}
	return res
}

func (s *Server) processEdit(res *jobResult) {
	s.mu.Lock()
	rec := s.editRunLocked(res.job.workspace, res.job.runID)
	if rec == nil {
		s.mu.Unlock()
		res.skipped = true
		return
	}
	input, target, config := rec.Input, rec.Run.File, *rec.Run.Config
	s.mu.Unlock()

	if res.failure = s.injectedRunFailure(); res.failure != nil {
		return
	}
	path, password, failure := s.openInput(res, input, target)
	if failure != nil {
		res.failure = failure
		return
	}
	outID := newID("file_")
	result, err := s.engine.Edit(s.ctx, EditJob{InputPath: path, Password: password, Config: config, OutputPath: s.blobs.path(outID)})
	if err != nil {
		s.blobs.remove(outID)
		res.failure = asFailure(err)
		return
	}
	res.edit, res.outputID = &result, outID
}

func (s *Server) processDetect(res *jobResult) {
	s.mu.Lock()
	wd := s.state.Workspaces[res.job.workspace]
	var rec *detectionRunRecord
	if wd != nil {
		rec = wd.DetectionRuns[res.job.runID]
	}
	if rec == nil {
		s.mu.Unlock()
		res.skipped = true
		return
	}
	input, target, config := rec.Input, rec.Run.File, *rec.Run.Config
	s.mu.Unlock()

	if res.failure = s.injectedRunFailure(); res.failure != nil {
		return
	}
	path, password, failure := s.openInput(res, input, target)
	if failure != nil {
		res.failure = failure
		return
	}
	result, err := s.engine.Detect(s.ctx, path, password, &config)
	if err != nil {
		res.failure = asFailure(err)
		return
	}
	res.detect = &result
}

// asFailure keeps a document failure as it is and reports anything else as
// an internal error without leaking its text.
func asFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Reason: extendapi.ReasonInternalError, Message: "processing failed unexpectedly: " + firstLine(err.Error())}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// openInput finds the run's document on disk, downloading it first when the
// run names a URL.
func (s *Server) openInput(res *jobResult, in runInput, target extendapi.FileSummary) (path, password string, failure *Failure) {
	if in.URL != "" {
		file, err := s.downloadInput(res.job.workspace, in.URL, target)
		if err != nil {
			return "", "", fetchFailure(err, s.opts.MaxUpload)
		}
		res.inputFile = file
		return s.blobs.path(file.ID), in.Password, nil
	}
	s.mu.Lock()
	var rec *fileRecord
	if wd := s.state.Workspaces[res.job.workspace]; wd != nil {
		rec = wd.Files[in.FileID]
	}
	var file fileRecord
	if rec != nil {
		file = *rec
	}
	s.mu.Unlock()
	if rec == nil {
		return "", "", &Failure{Reason: extendapi.ReasonUnableToDownloadFile,
			Message: fmt.Sprintf("file %s was deleted before the run could read it", in.FileID)}
	}
	if file.ConvertToPDF && file.File.Type != FileTypePDF {
		typ := string(file.File.Type)
		if typ == "" {
			typ = "of an unknown type"
		}
		return "", "", &Failure{Reason: extendapi.ReasonFailedToConvertToPDF,
			Message: fmt.Sprintf("%s is %s and the sandbox converts nothing to PDF (Extend converts images and office documents; the sandbox does not)", file.File.Name, typ)}
	}
	if _, err := os.Stat(s.blobs.path(in.FileID)); err != nil {
		return "", "", &Failure{Reason: extendapi.ReasonUnableToDownloadFile,
			Message: fmt.Sprintf("file %s has no content any more", in.FileID)}
	}
	return s.blobs.path(in.FileID), in.Password, nil
}

// downloadInput fetches a run's file.url into the file ID reserved for it
// and lists it in the workspace, as Extend keeps the files it downloads.
func (s *Server) downloadInput(workspace, rawURL string, target extendapi.FileSummary) (*extendapi.File, error) {
	tmp, size, err := s.fetcher.fetch(s.ctx, rawURL, s.blobs)
	if err != nil {
		return nil, err
	}
	if err := s.blobs.commit(tmp, target.ID); err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	fileType, _ := SniffFileType(s.blobs.path(target.ID))
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.stampLocked()
	file := extendapi.File{Object: "file", ID: target.ID, Name: target.Name, Type: fileType,
		Metadata: &extendapi.FileMetadata{}, CreatedAt: &now, UpdatedAt: &now}
	if wd := s.state.Workspaces[workspace]; wd != nil {
		wd.Files[file.ID] = &fileRecord{File: file, Size: size}
		s.markDirtyLocked()
	}
	return &file, nil
}

// applyLocked writes a finished job into its run: final status, output,
// metrics and usage; then wakes synchronous callers and emits webhooks.
func (s *Server) applyLocked(res *jobResult) {
	if res.skipped {
		return
	}
	wd := s.state.Workspaces[res.job.workspace]
	switch res.job.kind {
	case jobEdit:
		var rec *editRunRecord
		if wd != nil {
			rec = wd.EditRuns[res.job.runID]
		}
		if rec == nil {
			s.dropOrphanLocked(wd, res)
			return
		}
		s.applyEditLocked(wd, rec, res)
	case jobDetect:
		var rec *detectionRunRecord
		if wd != nil {
			rec = wd.DetectionRuns[res.job.runID]
		}
		if rec == nil {
			s.dropOrphanLocked(wd, res)
			return
		}
		s.applyDetectLocked(wd, rec, res)
	}
	s.releaseWaitersLocked(res.job.runID)
	s.markDirtyLocked()
}

// dropOrphanLocked cleans up after a run deleted while it was processed.
func (s *Server) dropOrphanLocked(wd *workspaceData, res *jobResult) {
	res.discard()
	if res.inputFile != nil && wd != nil {
		delete(wd.Files, res.inputFile.ID)
		s.blobs.remove(res.inputFile.ID)
	}
}

func (s *Server) applyEditLocked(wd *workspaceData, rec *editRunRecord, res *jobResult) {
	now := s.stampLocked()
	run := &rec.Run
	run.UpdatedAt = &now
	if res.inputFile != nil {
		run.File = fileSummary(*res.inputFile)
	}
	var cost float64
	if res.failure == nil {
		cost = CreditsForPages(res.edit.PageCount)
		res.failure = s.creditFailureLocked(wd, cost)
	}
	if res.failure != nil {
		res.discard()
		run.Status, run.FailureReason, run.FailureMessage = extendapi.StatusFailed, res.failure.Reason, res.failure.Message
		s.emitRunEventLocked(wd, extendapi.EventEditRunFailed, rec.Run.Source == SourceAPI, rec.BaseURL, rec)
		return
	}
	pages := res.edit.PageCount
	out := extendapi.File{Object: "file", ID: res.outputID, Name: editedFileName(run.File.Name), Type: FileTypePDF,
		Metadata: &extendapi.FileMetadata{PageCount: &pages}, CreatedAt: &now, UpdatedAt: &now}
	size := int64(0)
	if st, err := os.Stat(s.blobs.path(res.outputID)); err == nil {
		size = st.Size()
	}
	wd.Files[out.ID] = &fileRecord{File: out, Size: size}
	wd.CreditsUsed += cost
	filled := res.edit.FilledValues
	if len(filled) == 0 {
		filled = nil // "absent when no values were filled"
	}
	metrics := res.edit.Metrics
	metrics.ProcessingTimeMs = durationMs(res.elapsed)
	metrics.PageCount = &pages
	run.Status = extendapi.StatusProcessed
	run.Output = &extendapi.EditRunOutput{EditedFile: extendapi.EditedFile{ID: out.ID}, FilledValues: filled}
	run.Metrics = &metrics
	run.Usage = runUsage("edit_run", run.ID, "edit", pages, cost)
	s.emitRunEventLocked(wd, extendapi.EventEditRunProcessed, rec.Run.Source == SourceAPI, rec.BaseURL, rec)
}

func (s *Server) applyDetectLocked(wd *workspaceData, rec *detectionRunRecord, res *jobResult) {
	now := s.stampLocked()
	rec.UpdatedAt = now
	run := &rec.Run
	if res.inputFile != nil {
		run.File = fileSummary(*res.inputFile)
	}
	var cost float64
	if res.failure == nil {
		cost = CreditsForPages(res.detect.PageCount)
		res.failure = s.creditFailureLocked(wd, cost)
	}
	if res.failure != nil {
		run.Status, run.FailureReason, run.FailureMessage = extendapi.StatusFailed, res.failure.Reason, res.failure.Message
		s.emitRunEventLocked(wd, extendapi.EventFormDetectionRunFailed, !rec.Hidden, rec.BaseURL, rec)
		return
	}
	wd.CreditsUsed += cost
	pages := res.detect.PageCount
	metrics := res.detect.Metrics
	metrics.ProcessingTimeMs = durationMs(res.elapsed)
	metrics.PageCount = &pages
	output := res.detect.Response
	run.Status = extendapi.StatusProcessed
	run.Output = &output
	run.Metrics = &metrics
	run.Usage = runUsage("form_detection_run", run.ID, "form_detection", pages, cost)
	s.emitRunEventLocked(wd, extendapi.EventFormDetectionRunProcessed, !rec.Hidden, rec.BaseURL, rec)
}

// editedFileName names the output after the input: form.pdf -> form_edited.pdf.
func editedFileName(input string) string {
	base := strings.TrimSuffix(input, ".pdf")
	base = strings.TrimSuffix(base, ".PDF")
	return base + "_edited.pdf"
}

func durationMs(d time.Duration) *float64 {
	ms := float64(d.Microseconds()) / 1000
	return &ms
}

// releaseWaitersLocked wakes the synchronous callers waiting on a run.
func (s *Server) releaseWaitersLocked(runID string) {
	for _, ch := range s.waiters[runID] {
		close(ch)
	}
	delete(s.waiters, runID)
}
