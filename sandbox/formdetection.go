package sandbox

import (
	"net/http"

	"github.com/editwatch/editwatch/extendapi"
)

// handleCreateFormDetectionRun is POST /form_detection_runs (§2.8): a
// PROCESSING run, finished by the worker pool.
func (s *Server) handleCreateFormDetectionRun(w http.ResponseWriter, r *http.Request, c *callContext) error {
	run, _, err := s.createDetectionRun(w, r, c, false, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

// handleDetectFormSync is POST /detect_form: the completed run, or, like
// POST /edit, a 422 whose code is the failure reason.
func (s *Server) handleDetectFormSync(w http.ResponseWriter, r *http.Request, c *callContext) error {
	final, err := s.detectSync(w, r, c, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, final)
	return nil
}

// handleGenerateEditSchema is the deprecated POST /edit_schemas/generate:
// the EditSchemaGenerationResponse itself, no run resource (§2.7).
func (s *Server) handleGenerateEditSchema(w http.ResponseWriter, r *http.Request, c *callContext) error {
	final, err := s.detectSync(w, r, c, true)
	if final.ID != "" {
		// Nothing can fetch the backing run: drop it (a run still going is
		// dropped by its worker when it finds the record gone).
		s.mu.Lock()
		if wd := s.state.Workspaces[c.workspace]; wd != nil {
			delete(wd.DetectionRuns, final.ID)
			s.markDirtyLocked()
		}
		s.mu.Unlock()
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, final.Output)
	return nil
}

// detectSync creates a detection run and waits for it.
func (s *Server) detectSync(w http.ResponseWriter, r *http.Request, c *callContext, hidden bool) (extendapi.FormDetectionRun, error) {
	run, done, err := s.createDetectionRun(w, r, c, true, hidden)
	if err != nil {
		return run, err
	}
	if err := s.awaitRun(r.Context(), done, run.ID); err != nil {
		return run, err
	}
	s.mu.Lock()
	var rec *detectionRunRecord
	if wd := s.state.Workspaces[c.workspace]; wd != nil {
		rec = wd.DetectionRuns[run.ID]
	}
	var final extendapi.FormDetectionRun
	if rec != nil {
		final = presentDetectionRun(rec)
	}
	s.mu.Unlock()
	switch {
	case rec == nil:
		return run, errNotFound("form detection run", run.ID)
	case final.Status == extendapi.StatusFailed:
		return final, errRunFailed(final.FailureReason, final.FailureMessage)
	}
	return final, nil
}

// createDetectionRun validates a detection request and records the run.
func (s *Server) createDetectionRun(w http.ResponseWriter, r *http.Request, c *callContext, wait, hidden bool) (extendapi.FormDetectionRun, chan struct{}, error) {
	var req extendapi.DetectFormRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		return extendapi.FormDetectionRun{}, nil, err
	}
	if err := validateFileRef("file", &req.File); err != nil {
		return extendapi.FormDetectionRun{}, nil, err
	}
	config, err := effectiveDetectionConfig(req.Config)
	if err != nil {
		return extendapi.FormDetectionRun{}, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		return extendapi.FormDetectionRun{}, nil, err
	}
	if err := s.checkBudgetLocked(wd); err != nil {
		return extendapi.FormDetectionRun{}, nil, err
	}
	summary, input, err := s.resolveInputLocked(wd, &req.File, false)
	if err != nil {
		return extendapi.FormDetectionRun{}, nil, err
	}
	now := s.stampLocked()
	rec := &detectionRunRecord{
		Run: extendapi.FormDetectionRun{Object: "form_detection_run", ID: newID("sgr_"), File: summary,
			Status: extendapi.StatusProcessing, Config: &config},
		Input:     input,
		Stuck:     !hidden && s.rollFault(func(f Faults) float64 { return f.RateStuck }),
		BaseURL:   c.baseURL,
		Hidden:    hidden,
		CreatedAt: now,
		UpdatedAt: now,
	}
	wd.DetectionRuns[rec.Run.ID] = rec
	var done chan struct{}
	if wait {
		done = make(chan struct{})
		s.waiters[rec.Run.ID] = append(s.waiters[rec.Run.ID], done)
	}
	if !rec.Stuck {
		s.enqueueNewLocked(jobDetect, wd.ID, rec.Run.ID)
	}
	s.markDirtyLocked()
	return presentDetectionRun(rec), done, nil
}

// handleGetFormDetectionRun is GET /form_detection_runs/{id}.
func (s *Server) handleGetFormDetectionRun(w http.ResponseWriter, r *http.Request, c *callContext) error {
	id := r.PathValue("id")
	s.mu.Lock()
	var rec *detectionRunRecord
	if wd := s.state.Workspaces[c.workspace]; wd != nil {
		rec = wd.DetectionRuns[id]
	}
	var run extendapi.FormDetectionRun
	found := rec != nil && !rec.Hidden
	if found {
		run = presentDetectionRun(rec)
	}
	s.mu.Unlock()
	if !found {
		return errNotFound("form detection run", id)
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

// presentDetectionRun copies a detection run for an answer.
func presentDetectionRun(rec *detectionRunRecord) extendapi.FormDetectionRun {
	return rec.Run
}
