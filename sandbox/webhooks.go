package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/editwatch/editwatch/extendapi"
)

// webhookEvents are the event types the sandbox emits (§5.1).
var webhookEvents = []string{
	extendapi.EventEditRunProcessed, extendapi.EventEditRunFailed,
	extendapi.EventFormDetectionRunProcessed, extendapi.EventFormDetectionRunFailed,
}

// Webhook endpoint statuses.
const (
	endpointEnabled  = "enabled"
	endpointDisabled = "disabled"
)

// handleCreateWebhookEndpoint is POST /webhook_endpoints: the endpoint plus
// its wss_ signing secret, shown this once (§5.5).
func (s *Server) handleCreateWebhookEndpoint(w http.ResponseWriter, r *http.Request, c *callContext) error {
	var req extendapi.CreateWebhookEndpointRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		return err
	}
	if req.APIVersion == "" {
		req.APIVersion = extendapi.APIVersion
	}
	if req.Status == "" {
		req.Status = endpointEnabled
	}
	if err := validateEndpoint(req.URL, req.Status, req.EnabledEvents, req.AdvancedOptions); err != nil {
		return err
	}
	if req.APIVersion != extendapi.APIVersion {
		return errInvalid("apiVersion %q: this sandbox sends %s payloads only", req.APIVersion, extendapi.APIVersion)
	}
	s.mu.Lock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	now := s.stampLocked()
	rec := &webhookRecord{
		Endpoint: extendapi.WebhookEndpoint{
			Object: "webhook_endpoint", ID: newID("wh_"), URL: req.URL, Name: req.Name, Status: req.Status,
			EnabledEvents: slices.Clone(req.EnabledEvents), APIVersion: req.APIVersion, AdvancedOptions: req.AdvancedOptions,
			CreatedAt: &now, CreatedBy: &extendapi.WebhookCreator{Type: "api_key", Name: "sandbox API key"},
		},
		Secret: newID("wss_") + newID(""),
	}
	wd.Webhooks[rec.Endpoint.ID] = rec
	s.markDirtyLocked()
	out := rec.Endpoint
	out.SigningSecret = rec.Secret
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
	return nil
}

// validateEndpoint checks what create and update accept.
func validateEndpoint(rawURL, status string, events []string, opts *extendapi.WebhookAdvancedOptions) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errInvalid("url %q must be an absolute http or https URL", rawURL)
	}
	if status != endpointEnabled && status != endpointDisabled {
		return errInvalid("status %q: want enabled or disabled", status)
	}
	if len(events) == 0 {
		return errInvalid("enabledEvents must name at least one of %s", strings.Join(webhookEvents, ", "))
	}
	for _, e := range events {
		if !slices.Contains(webhookEvents, e) {
			return errInvalid("enabledEvents: %q is not an event this sandbox emits (%s)", e, strings.Join(webhookEvents, ", "))
		}
	}
	if opts != nil && opts.Payload != nil {
		if opts.Payload.Format != "json" && opts.Payload.Format != "url" {
			return errInvalid("advancedOptions.payload.format %q: want json or url", opts.Payload.Format)
		}
		if t := opts.Payload.URLThresholdBytes; t != nil && *t < 0 {
			return errInvalid("advancedOptions.payload.urlThresholdBytes must not be negative")
		}
	}
	return nil
}

// handleListWebhookEndpoints is GET /webhook_endpoints with status, sortDir,
// maxPageSize and nextPageToken.
func (s *Server) handleListWebhookEndpoints(w http.ResponseWriter, r *http.Request, c *callContext) error {
	q := r.URL.Query()
	page, err := parsePageQuery(q, extendapi.SortByCreatedAt, false)
	if err != nil {
		return err
	}
	status := q.Get("status")
	if status != "" && status != endpointEnabled && status != endpointDisabled {
		return errInvalid("status %q: want enabled or disabled", status)
	}
	s.mu.Lock()
	wd, err := s.workspaceLocked(c.workspace)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	var all []extendapi.WebhookEndpoint
	for _, rec := range wd.Webhooks {
		if status == "" || rec.Endpoint.Status == status {
			all = append(all, rec.Endpoint)
		}
	}
	s.mu.Unlock()
	data, next := paginate(all, func(e extendapi.WebhookEndpoint) sortKey { return sortKey{*e.CreatedAt, e.ID} }, page)
	writeJSON(w, http.StatusOK, extendapi.List[extendapi.WebhookEndpoint]{Object: "list", Data: data, NextPageToken: next})
	return nil
}

// handleGetWebhookEndpoint is GET /webhook_endpoints/{id} (no secret).
func (s *Server) handleGetWebhookEndpoint(w http.ResponseWriter, r *http.Request, c *callContext) error {
	id := r.PathValue("id")
	s.mu.Lock()
	rec := s.webhookLocked(c.workspace, id)
	var out extendapi.WebhookEndpoint
	if rec != nil {
		out = rec.Endpoint
	}
	s.mu.Unlock()
	if rec == nil {
		return errNotFound("webhook endpoint", id)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleUpdateWebhookEndpoint is POST /webhook_endpoints/{id}: a partial
// update of url, name, status, enabledEvents and advancedOptions.
func (s *Server) handleUpdateWebhookEndpoint(w http.ResponseWriter, r *http.Request, c *callContext) error {
	id := r.PathValue("id")
	var req extendapi.UpdateWebhookEndpointRequest
	if err := decodeJSONBody(w, r, &req); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.webhookLocked(c.workspace, id)
	if rec == nil {
		return errNotFound("webhook endpoint", id)
	}
	next := rec.Endpoint
	if req.URL != nil {
		next.URL = *req.URL
	}
	if req.Name != nil {
		next.Name = *req.Name
	}
	if req.Status != nil {
		next.Status = *req.Status
	}
	if req.EnabledEvents != nil {
		next.EnabledEvents = slices.Clone(req.EnabledEvents)
	}
	if req.AdvancedOptions != nil {
		next.AdvancedOptions = req.AdvancedOptions
	}
	if err := validateEndpoint(next.URL, next.Status, next.EnabledEvents, next.AdvancedOptions); err != nil {
		return err
	}
	rec.Endpoint = next
	s.markDirtyLocked()
	writeJSON(w, http.StatusOK, next)
	return nil
}

// handleDeleteWebhookEndpoint is DELETE /webhook_endpoints/{id}; its
// delivery log goes with it.
func (s *Server) handleDeleteWebhookEndpoint(w http.ResponseWriter, r *http.Request, c *callContext) error {
	id := r.PathValue("id")
	s.mu.Lock()
	rec := s.webhookLocked(c.workspace, id)
	if rec != nil {
		wd := s.state.Workspaces[c.workspace]
		delete(wd.Webhooks, id)
		delete(wd.Deliveries, id)
		s.markDirtyLocked()
	}
	s.mu.Unlock()
	if rec == nil {
		return errNotFound("webhook endpoint", id)
	}
	writeJSON(w, http.StatusOK, extendapi.DeletedObject{ID: id})
	return nil
}

func (s *Server) webhookLocked(workspace, id string) *webhookRecord {
	wd, ok := s.state.Workspaces[workspace]
	if !ok {
		return nil
	}
	return wd.Webhooks[id]
}

// emitRunEventLocked queues an event for every enabled endpoint of the
// workspace that subscribes to it. Only API-created runs emit (§5.1): the
// seeded "studio" history and the runs behind /edit_schemas/generate do not.
func (s *Server) emitRunEventLocked(wd *workspaceData, eventType string, apiCreated bool, baseURL string, rec any) {
	if !apiCreated {
		return
	}
	var targets []*webhookRecord
	for _, hook := range wd.Webhooks {
		if hook.Endpoint.Status == endpointEnabled && slices.Contains(hook.Endpoint.EnabledEvents, eventType) {
			targets = append(targets, hook)
		}
	}
	if len(targets) == 0 {
		return
	}
	var payload any
	var runID string
	switch r := rec.(type) {
	case *editRunRecord:
		payload, runID = s.presentEditRunLocked(r, baseURL, viewFull), r.Run.ID
	case *detectionRunRecord:
		payload, runID = presentDetectionRun(r), r.Run.ID
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		s.logger.Error("sandbox: encode webhook payload", "run", runID, "err", err)
		return
	}
	eventID := newID("evt_")
	for _, hook := range targets {
		body := s.eventBodyLocked(hook, eventID, eventType, runID, raw, baseURL)
		s.queueDeliveryLocked(wd, hook.Endpoint.ID, eventID, eventType, body)
	}
}

// eventBodyLocked builds the envelope {eventId, eventType, payload} (§5.2);
// in large-payload mode the payload becomes a signed_data_url.
func (s *Server) eventBodyLocked(hook *webhookRecord, eventID, eventType, runID string, payload json.RawMessage, baseURL string) json.RawMessage {
	if opts := hook.Endpoint.AdvancedOptions; opts != nil && opts.Payload != nil && opts.Payload.Format == "url" {
		threshold := 0
		if opts.Payload.URLThresholdBytes != nil {
			threshold = *opts.Payload.URLThresholdBytes
		}
		if len(payload) > threshold {
			s.storeLargePayloadLocked(eventID, payload)
			ref, _ := json.Marshal(extendapi.SignedDataURL{Object: "signed_data_url", ID: runID,
				Data: s.presignedURL(baseURL, presignPayloads, eventID, presignedPayloadTTL)})
			payload = ref
		}
	}
	body, _ := json.Marshal(extendapi.WebhookEvent{EventID: eventID, EventType: eventType, Payload: payload})
	return body
}
