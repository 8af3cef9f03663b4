package sandbox

import (
	"net/http"

	"github.com/editwatch/editwatch/extendapi"
)

// callContext is what the middleware established about an API request.
type callContext struct {
	workspace string
	baseURL   string // absolute URL of the handler's root, for presigned URLs
}

// apiHandler serves one route; a returned error becomes the error body.
type apiHandler func(w http.ResponseWriter, r *http.Request, c *callContext) error

// routeKind says which checks a route gets.
type routeKind int

const (
	// extendRoute is part of Extend's contract: key, API version, faults and
	// rate limits apply.
	extendRoute routeKind = iota
	// sandboxRoute is the sandbox's own authenticated route: the key decides
	// the workspace, nothing else applies.
	sandboxRoute
)

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	api := func(pattern string, cat rateCategory, h apiHandler) {
		s.mux.Handle(pattern, s.apiRoute(extendRoute, cat, h))
	}
	api("POST /files/upload", rateWrite, s.handleUploadFile)
	api("GET /files", rateGet, s.handleListFiles)
	api("GET /files/{id}", rateGet, s.handleGetFile)
	api("DELETE /files/{id}", rateWrite, s.handleDeleteFile)

	api("POST /edit_runs", rateRun, s.handleCreateEditRun)
	api("POST /edit", rateRun, s.handleEditSync)
	api("GET /edit_runs", rateGet, s.handleListEditRuns)
	api("GET /edit_runs/{id}", rateGet, s.handleGetEditRun)
	api("DELETE /edit_runs/{id}", rateWrite, s.handleDeleteEditRun)
	api("GET /edit_templates/{id}", rateGet, s.handleGetEditTemplate)

	api("POST /edit_schemas/generate", rateRun, s.handleGenerateEditSchema)
	api("POST /detect_form", rateRun, s.handleDetectFormSync)
	api("POST /form_detection_runs", rateRun, s.handleCreateFormDetectionRun)
	api("GET /form_detection_runs/{id}", rateGet, s.handleGetFormDetectionRun)

	api("POST /webhook_endpoints", rateWrite, s.handleCreateWebhookEndpoint)
	api("GET /webhook_endpoints", rateGet, s.handleListWebhookEndpoints)
	api("GET /webhook_endpoints/{id}", rateGet, s.handleGetWebhookEndpoint)
	api("POST /webhook_endpoints/{id}", rateWrite, s.handleUpdateWebhookEndpoint)
	api("DELETE /webhook_endpoints/{id}", rateWrite, s.handleDeleteWebhookEndpoint)

	// The sandbox's own routes (ownPath). Presigned URLs carry their own
	// signature.
	own := func(method, path string) string { return method + " " + s.ownPath(path) }
	s.mux.HandleFunc(own("GET", presignBlobs+"/{id}"), s.handleBlobDownload)
	s.mux.HandleFunc(own("GET", presignPayloads+"/{id}"), s.handleWebhookPayload)
	s.mux.HandleFunc(own("GET", "faults"), s.loopbackOnly(s.handleGetFaults))
	s.mux.HandleFunc(own("POST", "faults"), s.loopbackOnly(s.handleSetFaults))
	s.mux.HandleFunc(own("DELETE", "faults"), s.loopbackOnly(s.handleResetFaults))
	s.mux.HandleFunc(own("GET", "health"), s.handleHealth)
	s.mux.Handle(own("GET", "webhook_deliveries"), s.apiRoute(sandboxRoute, "", s.handleListDeliveries))
	s.mux.Handle(own("POST", "webhook_deliveries/{id}/retry"), s.apiRoute(sandboxRoute, "", s.handleRetryDelivery))
	s.mux.Handle(own("GET", "templates"), s.apiRoute(sandboxRoute, "", s.handleListTemplates))

	s.mux.HandleFunc("/", s.handleNoRoute)
}

// ownPath is where a route of the sandbox's own (not Extend's) lives:
// under /_sandbox/ when the sandbox runs alone, beside the API when a host
// mounts it under a _sandbox/ prefix of its own (Options.Embedded), so
// the embedded sandbox's faults are <base>_sandbox/faults, not
// <base>_sandbox/_sandbox/faults.
func (s *Server) ownPath(rest string) string {
	if s.opts.Embedded {
		return "/" + rest
	}
	return "/_sandbox/" + rest
}

// apiRoute wraps h with authentication and, for Extend routes, the version
// check, fault injection and rate limiting, in that order.
func (s *Server) apiRoute(kind routeKind, cat rateCategory, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := s.authenticate(r)
		if err == nil && kind == extendRoute {
			err = checkAPIVersion(r)
			if err == nil {
				err = s.injectRequestFaults(r)
			}
			if err == nil && cat != "" {
				err = s.limiter.allow(ws, cat, s.opts.Clock())
			}
		}
		if err == nil {
			err = h(w, r, &callContext{workspace: ws, baseURL: s.opts.publicBase(r)})
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// handleNoRoute answers unknown paths (404) and known paths with another
// method (405) with the error body, not the mux's plain text.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) {
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if method == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			s.writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
				message: "method " + r.Method + " is not allowed on " + r.URL.Path})
			return
		}
	}
	s.writeError(w, r, &apiError{status: http.StatusNotFound, code: codeNotFound, message: "no route " + r.Method + " " + r.URL.Path})
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "apiVersion": extendapi.APIVersion})
}
