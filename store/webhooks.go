package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Where a webhook endpoint comes from (WebhookEndpoint.Origin).
const (
	EndpointRegistered = "registered" // created through POST /webhook_endpoints with a user's key
	EndpointPasted     = "pasted"     // made in Extend's dashboard; its secret pasted in
	EndpointSandbox    = "sandbox"    // registered with the embedded sandbox at start
)

// Webhook endpoint states (WebhookEndpoint.Status).
const (
	EndpointPending  = "pending" // created here, not yet registered with Extend
	EndpointEnabled  = "enabled"
	EndpointDisabled = "disabled"
)

// WebhookEndpoint is a webhook registration. Its signing secrets are only
// available through WebhookSecrets.
type WebhookEndpoint struct {
	// ID is Editwatch's own random ID: the {endpoint} of
	// POST /webhooks/extend/{endpoint}.
	ID       string
	Tenant   string
	ExtendID string // Extend's wh_ ID, once known
	URL      string
	Origin   string
	Status   string
	// SecretHints name the secrets for display (their last four
	// characters), newest first.
	SecretHints    []string
	CreatedBy      string
	CreatedAt      time.Time
	LastDeliveryAt time.Time
}

// NewWebhookEndpoint is what CreateWebhookEndpoint stores.
type NewWebhookEndpoint struct {
	Tenant    string
	ExtendID  string
	URL       string
	Origin    string
	Status    string
	Secrets   []string // may be empty until Extend returns one
	CreatedBy string
}

func webhookEndpointAD(id string) []byte { return []byte("editwatch/webhook-endpoint/" + id) }

// NewWebhookEndpointID returns a fresh random endpoint ID, for a caller
// that must know the URL before it creates the row.
func NewWebhookEndpointID() (string, error) {
	suffix, err := randomID(18)
	if err != nil {
		return "", fmt.Errorf("store: webhook endpoint id: %w", err)
	}
	return "ewh_" + suffix, nil
}

// CreateWebhookEndpoint stores an endpoint with a fresh random ID, its
// secrets sealed.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e NewWebhookEndpoint) (WebhookEndpoint, error) {
	id, err := NewWebhookEndpointID()
	if err != nil {
		return WebhookEndpoint{}, err
	}
	return s.CreateWebhookEndpointWithID(ctx, id, e)
}

// CreateWebhookEndpointWithID is CreateWebhookEndpoint with an ID from
// NewWebhookEndpointID.
func (s *Store) CreateWebhookEndpointWithID(ctx context.Context, id string, e NewWebhookEndpoint) (WebhookEndpoint, error) {
	if s.sealer == nil {
		return WebhookEndpoint{}, ErrNoSealer
	}
	if e.Tenant == "" || e.CreatedBy == "" || id == "" {
		return WebhookEndpoint{}, errors.New("store: create webhook endpoint: id, tenant and creator are required")
	}
	if e.Origin == "" {
		e.Origin = EndpointRegistered
	}
	if e.Status == "" {
		e.Status = EndpointPending
	}
	sealed, hints, err := s.sealSecrets(id, e.Secrets)
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("store: create webhook endpoint: %w", err)
	}
	ep := WebhookEndpoint{ID: id, Tenant: e.Tenant, ExtendID: e.ExtendID, URL: e.URL, Origin: e.Origin, Status: e.Status,
		SecretHints: hints, CreatedBy: e.CreatedBy, CreatedAt: msTime(s.now())}
	_, err = s.exec(ctx, `INSERT INTO webhook_endpoints
		(id, tenant, extend_id, url, origin, status, secrets_sealed, secret_hints, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ep.ID, ep.Tenant, ep.ExtendID, ep.URL, ep.Origin, ep.Status, sealed, strings.Join(hints, ","), ep.CreatedBy, millis(ep.CreatedAt))
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("store: create webhook endpoint for %s: %w", e.Tenant, err)
	}
	return ep, nil
}

func (s *Store) sealSecrets(id string, secrets []string) ([]byte, []string, error) {
	clean := make([]string, 0, len(secrets))
	hints := make([]string, 0, len(secrets))
	for _, sec := range secrets {
		if sec = strings.TrimSpace(sec); sec != "" {
			clean = append(clean, sec)
			hints = append(hints, lastRunes(sec, 4))
		}
	}
	plain, err := json.Marshal(clean)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := s.sealer.Seal(plain, webhookEndpointAD(id))
	if err != nil {
		return nil, nil, err
	}
	return sealed, hints, nil
}

const webhookEndpointColumns = `id, tenant, extend_id, url, origin, status, secret_hints, created_by, created_at, last_delivery_at`

func scanWebhookEndpoint(row rowScanner) (WebhookEndpoint, error) {
	var (
		e             WebhookEndpoint
		hints         string
		created       int64
		lastDelivered sql.NullInt64
	)
	if err := row.Scan(&e.ID, &e.Tenant, &e.ExtendID, &e.URL, &e.Origin, &e.Status, &hints, &e.CreatedBy, &created, &lastDelivered); err != nil {
		return WebhookEndpoint{}, err
	}
	if hints != "" {
		e.SecretHints = strings.Split(hints, ",")
	}
	e.CreatedAt, e.LastDeliveryAt = fromMillis(created), nullTime(lastDelivered)
	return e, nil
}

// GetWebhookEndpoint returns an endpoint by Editwatch's ID, or ErrNotFound.
func (s *Store) GetWebhookEndpoint(ctx context.Context, id string) (WebhookEndpoint, error) {
	e, err := scanWebhookEndpoint(s.queryRow(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookEndpoint{}, fmt.Errorf("store: webhook endpoint %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("store: webhook endpoint %s: %w", id, err)
	}
	return e, nil
}

// ListWebhookEndpoints returns a tenant's endpoints, oldest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context, tenant string) ([]WebhookEndpoint, error) {
	rows, err := s.query(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE tenant = ? ORDER BY created_at, id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook endpoints: %w", err)
	}
	var eps []WebhookEndpoint
	for rows.Next() {
		e, err := scanWebhookEndpoint(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list webhook endpoints: %w", err)
		}
		eps = append(eps, e)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("store: list webhook endpoints: %w", err)
	}
	return eps, nil
}

// WebhookSecrets decrypts an endpoint's signing secrets, newest first, for
// extendapi.VerifyWebhook.
func (s *Store) WebhookSecrets(ctx context.Context, id string) ([]string, error) {
	if s.sealer == nil {
		return nil, ErrNoSealer
	}
	var sealed []byte
	err := s.queryRow(ctx, `SELECT secrets_sealed FROM webhook_endpoints WHERE id = ?`, id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: webhook secrets %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: webhook secrets %s: %w", id, err)
	}
	plain, err := s.sealer.Open(sealed, webhookEndpointAD(id))
	if err != nil {
		return nil, fmt.Errorf("store: webhook secrets %s: %w", id, err)
	}
	var secrets []string
	if err := json.Unmarshal(plain, &secrets); err != nil {
		return nil, fmt.Errorf("store: webhook secrets %s: %w", id, err)
	}
	return secrets, nil
}

// SetWebhookSecrets replaces an endpoint's secrets (newest first): add the
// new one in front to rotate, drop the old one when Extend no longer signs
// with it.
func (s *Store) SetWebhookSecrets(ctx context.Context, id string, secrets []string) error {
	if s.sealer == nil {
		return ErrNoSealer
	}
	sealed, hints, err := s.sealSecrets(id, secrets)
	if err != nil {
		return fmt.Errorf("store: set webhook secrets %s: %w", id, err)
	}
	res, err := s.exec(ctx, `UPDATE webhook_endpoints SET secrets_sealed = ?, secret_hints = ? WHERE id = ?`,
		sealed, strings.Join(hints, ","), id)
	if err != nil {
		return fmt.Errorf("store: set webhook secrets %s: %w", id, err)
	}
	return requireOneRow(res, "set webhook secrets "+id)
}

// UpdateWebhookEndpoint records Extend's ID, URL and status once known
// (empty values leave the stored ones).
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, id, extendID, url, status string) error {
	res, err := s.exec(ctx, `UPDATE webhook_endpoints SET
			extend_id = CASE WHEN ? = '' THEN extend_id ELSE ? END,
			url = CASE WHEN ? = '' THEN url ELSE ? END,
			status = CASE WHEN ? = '' THEN status ELSE ? END
		WHERE id = ?`, extendID, extendID, url, url, status, status, id)
	if err != nil {
		return fmt.Errorf("store: update webhook endpoint %s: %w", id, err)
	}
	return requireOneRow(res, "update webhook endpoint "+id)
}

// DeleteWebhookEndpoint removes an endpoint and its deliveries.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete webhook endpoint %s: %w", id, err)
	}
	return requireOneRow(res, "delete webhook endpoint "+id)
}

// WebhookEvent is one delivery as stored. Rejected deliveries (bad
// signature, stale timestamp, unreadable body) have Verified false, no
// EventID and no payload.
type WebhookEvent struct {
	ID         int64
	EndpointID string
	EventID    string
	EventType  string
	RunID      string
	ReceivedAt time.Time
	Verified   bool
	Error      string // why it was rejected, or why applying it failed
	// Payload is the event body with presigned URLs and filled values
	// removed (the caller redacts before storing).
	Payload    []byte
	Deliveries int64 // how often Extend delivered it
	AppliedAt  time.Time
	Outcome    string // what applying it changed, for the deliveries page
}

// Applied reports whether the event has changed history.
func (e WebhookEvent) Applied() bool { return !e.AppliedAt.IsZero() }

// StoreWebhookEvent records a verified delivery before it is acknowledged.
// A second delivery of the same event ID to the same endpoint stores
// nothing new: duplicate is true and the stored event is returned (apply
// it if it is not applied yet; never apply it twice).
func (s *Store) StoreWebhookEvent(ctx context.Context, e WebhookEvent) (stored WebhookEvent, duplicate bool, err error) {
	stored, duplicate, _, err = s.StoreAndApplyWebhookEvent(ctx, e, "", nil, nil)
	return stored, duplicate, err
}

// StoreAndApplyWebhookEvent stores a verified delivery and, in the same
// transaction, applies its runs to tenant (see UpsertRuns) and marks it
// applied with outcome(changes): one commit for the whole of an ordinary
// event, after which Extend can be acknowledged. Without observations it
// only stores. A duplicate delivery applies nothing: the stored event is
// returned with duplicate true.
func (s *Store) StoreAndApplyWebhookEvent(ctx context.Context, e WebhookEvent, tenant string, obs []RunObservation,
	outcome func([]RunChange) string) (stored WebhookEvent, duplicate bool, changes []RunChange, err error) {
	if e.EndpointID == "" || e.EventID == "" {
		return WebhookEvent{}, false, nil, errors.New("store: store webhook event: endpoint and event ID are required")
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = s.now()
	}
	e.ReceivedAt = msTime(e.ReceivedAt)
	var batch observationBatch
	if len(obs) > 0 {
		if batch, err = s.batchObservations(obs); err != nil {
			return WebhookEvent{}, false, nil, fmt.Errorf("store: store webhook event %s: %w", e.EventID, err)
		}
	}
	err = s.inWriteTxRetryingDeadlocks(ctx, func(tx *sql.Tx) error {
		changes = nil
		if stored, duplicate, err = s.insertWebhookEvent(ctx, tx, e); err != nil {
			return err
		}
		if !duplicate && len(obs) > 0 {
			if changes, err = s.upsertInTx(ctx, tx, tenant, batch); err != nil {
				return err
			}
			if err := s.markWebhookEventAppliedInTx(ctx, tx, &stored, outcome(changes)); err != nil {
				return err
			}
		}
		// After the runs and their rollups, as every webhook path locks
		// them: in one order, transactions wait rather than deadlock.
		return s.touchWebhookEndpoint(ctx, tx, e.EndpointID, e.ReceivedAt)
	})
	if err != nil {
		return WebhookEvent{}, false, nil, fmt.Errorf("store: store webhook event %s: %w", e.EventID, err)
	}
	if len(obs) > 0 && !duplicate {
		s.noteTenant(tenant, batch.fromExtend, batch.synthetic)
	}
	return stored, duplicate, changes, nil
}

// countDuplicateDelivery counts one more delivery of an event stored
// already and returns the stored event.
func (s *Store) countDuplicateDelivery(ctx context.Context, tx *sql.Tx, e WebhookEvent) (WebhookEvent, error) {
	if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE webhook_events SET deliveries = deliveries + 1
		WHERE endpoint_id = ? AND event_id = ?`), e.EndpointID, e.EventID); err != nil {
		return WebhookEvent{}, err
	}
	return scanWebhookEvent(tx.QueryRowContext(ctx, s.d.rebind(`SELECT `+webhookEventColumns+`
		FROM webhook_events WHERE endpoint_id = ? AND event_id = ?`), e.EndpointID, e.EventID))
}

// insertWebhookEvent stores a verified delivery in tx, or, when its event
// ID is stored already, counts one more delivery of it and returns the
// stored event with duplicate true.
func (s *Store) insertWebhookEvent(ctx context.Context, tx *sql.Tx, e WebhookEvent) (stored WebhookEvent, duplicate bool, err error) {
	var id int64
	insert, args := webhookEventInsert, []any{e.EndpointID, e.EventID, e.EventType, e.RunID, millis(e.ReceivedAt), e.Payload}
	if s.d.eventTurns {
		// The event's turn first (see webhookEventTurnClass), in the same
		// statement: no round trip more than SQLite's.
		insert = webhookEventInsertInTurn
		args = append([]any{webhookEventTurnClass, webhookEventTurnKey(e.EndpointID, e.EventID)}, args...)
	}
	err = s.txQueryRow(ctx, tx, insert, args...).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		stored, err = s.countDuplicateDelivery(ctx, tx, e)
		return stored, true, err
	case err != nil:
		return WebhookEvent{}, false, err
	}
	return WebhookEvent{ID: id, EndpointID: e.EndpointID, EventID: e.EventID, EventType: e.EventType, RunID: e.RunID,
		ReceivedAt: e.ReceivedAt, Verified: true, Payload: e.Payload, Deliveries: 1}, false, nil
}

// touchWebhookEndpoint records an endpoint's last delivery, at most one
// write a second per endpoint.
func (s *Store) touchWebhookEndpoint(ctx context.Context, tx *sql.Tx, endpointID string, at time.Time) error {
	_, err := s.txExec(ctx, tx, webhookEndpointTouch, millis(at), endpointID, millis(at)-1000)
	return err
}

// markWebhookEventAppliedInTx marks a just-stored event applied with
// outcome, in tx.
func (s *Store) markWebhookEventAppliedInTx(ctx context.Context, tx *sql.Tx, e *WebhookEvent, outcome string) error {
	e.AppliedAt, e.Outcome = msTime(s.now()), outcome
	_, err := s.txExec(ctx, tx, webhookEventMarkApplied, millis(e.AppliedAt), e.Outcome, "", e.ID)
	return err
}

const (
	webhookEventInsert = `INSERT INTO webhook_events
			(endpoint_id, event_id, event_type, run_id, received_at, verified, payload)
			VALUES (?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id`
	// webhookEventInsertInTurn is webhookEventInsert after the event's
	// advisory lock (PostgreSQL): the row to insert is made from the
	// lock's result, so the lock is held before the insert looks for the
	// event.
	webhookEventInsertInTurn = `WITH turn AS (SELECT pg_advisory_xact_lock(?, ?))
			INSERT INTO webhook_events (endpoint_id, event_id, event_type, run_id, received_at, verified, payload)
			SELECT ?, ?, ?, ?, ?, 1, ? FROM turn
			ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id`
	webhookEndpointTouch = `UPDATE webhook_endpoints SET last_delivery_at = ?
		WHERE id = ? AND (last_delivery_at IS NULL OR last_delivery_at <= ?)`
	webhookEventMarkApplied = `UPDATE webhook_events SET applied_at = ?, outcome = ?, error = ? WHERE id = ? AND applied_at IS NULL`
)

// RecordRejectedWebhook keeps a delivery that failed verification, for
// the deliveries page (no event ID, no payload: nothing in it is trusted).
// It returns the row's ID, which AddRejectedWebhookDeliveries counts
// further refusals on.
func (s *Store) RecordRejectedWebhook(ctx context.Context, endpointID, reason string) (int64, error) {
	var id int64
	err := s.write.QueryRowContext(ctx, s.d.rebind(`INSERT INTO webhook_events (endpoint_id, received_at, verified, error)
		VALUES (?, ?, 0, ?) RETURNING id`), endpointID, millis(s.now()), reason).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: record rejected webhook: %w", err)
	}
	return id, nil
}

// AddRejectedWebhookDeliveries counts n more refused deliveries on the
// refused row id, which then stands for all of them: a flood of forged
// deliveries costs one row per sample, not one per delivery. A row gone
// meanwhile (retention) is not an error.
func (s *Store) AddRejectedWebhookDeliveries(ctx context.Context, id, n int64) error {
	if _, err := s.exec(ctx, `UPDATE webhook_events SET deliveries = deliveries + ? WHERE id = ? AND verified = 0`, n, id); err != nil {
		return fmt.Errorf("store: count rejected webhooks: %w", err)
	}
	return nil
}

// MarkWebhookEventApplied records that an event has been applied and what
// it changed (or why it could not be: errText). Only the first call
// counts; it reports whether this call was it.
func (s *Store) MarkWebhookEventApplied(ctx context.Context, id int64, outcome, errText string) (bool, error) {
	res, err := s.exec(ctx, webhookEventMarkApplied, millis(s.now()), outcome, errText, id)
	if err != nil {
		return false, fmt.Errorf("store: mark webhook event %d applied: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: mark webhook event %d applied: %w", id, err)
	}
	return n == 1, nil
}

const webhookEventColumns = `id, endpoint_id, event_id, event_type, run_id, received_at, verified, error, payload, deliveries, applied_at, outcome`

func scanWebhookEvent(row rowScanner) (WebhookEvent, error) {
	var (
		e         WebhookEvent
		eventID   sql.NullString
		received  int64
		verified  int64
		applied   sql.NullInt64
		payload   []byte
		endpoints string
	)
	if err := row.Scan(&e.ID, &endpoints, &eventID, &e.EventType, &e.RunID, &received, &verified, &e.Error, &payload,
		&e.Deliveries, &applied, &e.Outcome); err != nil {
		return WebhookEvent{}, err
	}
	e.EndpointID, e.EventID = endpoints, eventID.String
	e.ReceivedAt, e.AppliedAt, e.Verified, e.Payload = fromMillis(received), nullTime(applied), verified != 0, payload
	return e, nil
}

// PendingWebhookEvents returns up to limit verified events not applied
// yet, oldest first: what a restart must still apply. afterID pages.
func (s *Store) PendingWebhookEvents(ctx context.Context, afterID int64, limit int) ([]WebhookEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.selectWebhookEvents(ctx, `SELECT `+webhookEventColumns+` FROM webhook_events
		WHERE applied_at IS NULL AND verified = 1 AND id > ? ORDER BY id LIMIT ?`, afterID, limit)
}

// WebhookEventFilter selects deliveries for the deliveries page.
type WebhookEventFilter struct {
	Tenant     string // required: only endpoints of this tenant
	EndpointID string
	Before     int64 // cursor: events with a smaller ID
	Limit      int   // 50 when 0, at most 500
}

// ListWebhookEvents returns a tenant's deliveries, newest first, and the
// cursor of the next page (0 when none).
func (s *Store) ListWebhookEvents(ctx context.Context, f WebhookEventFilter) ([]WebhookEvent, int64, error) {
	if f.Tenant == "" {
		return nil, 0, errors.New("store: list webhook events: no tenant")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	q := `SELECT ` + prefixColumns("e.", webhookEventColumns) + ` FROM webhook_events e
		JOIN webhook_endpoints p ON p.id = e.endpoint_id WHERE p.tenant = ?`
	args := []any{f.Tenant}
	if f.EndpointID != "" {
		q += ` AND e.endpoint_id = ?`
		args = append(args, f.EndpointID)
	}
	if f.Before > 0 {
		q += ` AND e.id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY e.id DESC LIMIT ?`
	events, err := s.selectWebhookEvents(ctx, q, append(args, limit+1)...)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(events) > limit {
		events = events[:limit]
		next = events[limit-1].ID
	}
	return events, next, nil
}

func prefixColumns(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

func (s *Store) selectWebhookEvents(ctx context.Context, q string, args ...any) ([]WebhookEvent, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: webhook events: %w", err)
	}
	var events []WebhookEvent
	for rows.Next() {
		e, err := scanWebhookEvent(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: webhook events: %w", err)
		}
		events = append(events, e)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("store: webhook events: %w", err)
	}
	return events, nil
}
