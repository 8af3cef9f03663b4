package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Alert lifecycle statuses (AlertState.Status, AlertEvent.Status).
const (
	AlertOK      = "ok"      // the condition does not hold
	AlertPending = "pending" // it holds, not yet for the rule's "for"
	AlertFiring  = "firing"
	// Event-only statuses.
	AlertResolved  = "resolved"
	AlertSilenced  = "silenced"
	AlertUnsilence = "unsilenced"
)

// AlertState is where one rule's lifecycle stands. Zero times are unset.
type AlertState struct {
	Rule           string
	Tenant         string
	Status         string
	Value          float64
	PendingSince   time.Time // the condition has held since
	FiredAt        time.Time
	ClearSince     time.Time // while firing: the condition has been false since
	LastNotifiedAt time.Time
	FiringID       string // names one firing, from fired to resolved
	// Notified: this firing's notification went out (not silenced), so
	// its resolution is notified too.
	Notified      bool
	SilencedUntil time.Time
	SilencedBy    string
	SilenceReason string
	UpdatedAt     time.Time
}

// Silenced reports whether the rule is silenced at now.
func (a AlertState) Silenced(now time.Time) bool { return now.Before(a.SilencedUntil) }

// AlertEvent is one stored state change of a rule.
type AlertEvent struct {
	ID       int64
	Rule     string
	Tenant   string
	At       time.Time
	Status   string
	FiringID string
	Value    float64
	Actor    string // who silenced; "" for the evaluator
	Detail   string
}

// AlertNotification is one message to one channel: recorded before it is
// sent, marked sent after.
type AlertNotification struct {
	ID            string
	Rule          string
	Channel       string
	Kind          string // firing, repeat, resolved, test
	CreatedAt     time.Time
	Body          string
	Attempts      int
	NextAttemptAt time.Time
	SentAt        time.Time
	GaveUpAt      time.Time
	LastStatus    int
	LastError     string
}

const alertStateColumns = `rule, tenant, status, value, pending_since, fired_at, clear_since, last_notified_at,
	firing_id, notified, silenced_until, silenced_by, silence_reason, updated_at`

func scanAlertState(sc rowScanner) (AlertState, error) {
	var a AlertState
	var pending, fired, clear, notifiedAt, silenced sql.NullInt64
	var notified, updated int64
	err := sc.Scan(&a.Rule, &a.Tenant, &a.Status, &a.Value, &pending, &fired, &clear, &notifiedAt,
		&a.FiringID, &notified, &silenced, &a.SilencedBy, &a.SilenceReason, &updated)
	a.PendingSince, a.FiredAt, a.ClearSince, a.LastNotifiedAt = nullTime(pending), nullTime(fired), nullTime(clear), nullTime(notifiedAt)
	a.SilencedUntil, a.Notified, a.UpdatedAt = nullTime(silenced), notified != 0, fromMillis(updated)
	return a, err
}

// AlertStates returns every rule's stored state by rule name.
func (s *Store) AlertStates(ctx context.Context) (map[string]AlertState, error) {
	rows, err := s.query(ctx, `SELECT `+alertStateColumns+` FROM alert_states`)
	if err != nil {
		return nil, fmt.Errorf("store: alert states: %w", err)
	}
	defer rows.Close()
	out := map[string]AlertState{}
	for rows.Next() {
		a, err := scanAlertState(rows)
		if err != nil {
			return nil, fmt.Errorf("store: alert states: %w", err)
		}
		out[a.Rule] = a
	}
	return out, rows.Err()
}

// SaveAlertState writes a rule's state, the events that changed it and
// the notifications it calls for, in one transaction: a notification is
// never recorded without the state that explains it, nor the other way.
func (s *Store) SaveAlertState(ctx context.Context, a AlertState, events []AlertEvent, notes []AlertNotification) error {
	if a.Rule == "" || a.Status == "" {
		return errors.New("store: save alert state: a rule and a status are needed")
	}
	a.UpdatedAt = s.now()
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO alert_states (`+alertStateColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (rule) DO UPDATE SET tenant = EXCLUDED.tenant, status = EXCLUDED.status, value = EXCLUDED.value,
			pending_since = EXCLUDED.pending_since, fired_at = EXCLUDED.fired_at, clear_since = EXCLUDED.clear_since,
			last_notified_at = EXCLUDED.last_notified_at, firing_id = EXCLUDED.firing_id, notified = EXCLUDED.notified,
			silenced_until = EXCLUDED.silenced_until, silenced_by = EXCLUDED.silenced_by,
			silence_reason = EXCLUDED.silence_reason, updated_at = EXCLUDED.updated_at`),
			a.Rule, a.Tenant, a.Status, a.Value, nullMillis(a.PendingSince), nullMillis(a.FiredAt), nullMillis(a.ClearSince),
			nullMillis(a.LastNotifiedAt), a.FiringID, boolInt(a.Notified), nullMillis(a.SilencedUntil), a.SilencedBy,
			a.SilenceReason, millis(a.UpdatedAt)); err != nil {
			return err
		}
		for _, e := range events {
			if e.At.IsZero() {
				e.At = a.UpdatedAt
			}
			if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO alert_events (rule, tenant, at, status, firing_id, value, actor, detail)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), a.Rule, a.Tenant, millis(e.At), e.Status, e.FiringID, e.Value, e.Actor, e.Detail); err != nil {
				return err
			}
		}
		for _, n := range notes {
			if err := s.insertAlertNotification(ctx, tx, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save alert state of %s: %w", a.Rule, err)
	}
	return nil
}

func (s *Store) insertAlertNotification(ctx context.Context, tx *sql.Tx, n AlertNotification) error {
	if n.ID == "" || n.Channel == "" {
		return errors.New("a notification needs an ID and a channel")
	}
	created := n.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	next := n.NextAttemptAt
	if next.IsZero() {
		next = created
	}
	_, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO alert_notifications (id, rule, channel, kind, created_at, body, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), n.ID, n.Rule, n.Channel, n.Kind, millis(created), n.Body, millis(next))
	return err
}

// RecordAlertNotification records one notification outside a state change
// (a test notification from the settings page).
func (s *Store) RecordAlertNotification(ctx context.Context, n AlertNotification) error {
	if err := s.inWriteTx(ctx, func(tx *sql.Tx) error { return s.insertAlertNotification(ctx, tx, n) }); err != nil {
		return fmt.Errorf("store: record notification %s: %w", n.ID, err)
	}
	return nil
}

const alertNotificationColumns = `id, rule, channel, kind, created_at, body, attempts, next_attempt_at, sent_at, gave_up_at, last_status, last_error`

func scanAlertNotification(sc rowScanner) (AlertNotification, error) {
	var n AlertNotification
	var created, next int64
	var sent, gaveUp sql.NullInt64
	err := sc.Scan(&n.ID, &n.Rule, &n.Channel, &n.Kind, &created, &n.Body, &n.Attempts, &next, &sent, &gaveUp, &n.LastStatus, &n.LastError)
	n.CreatedAt, n.NextAttemptAt, n.SentAt, n.GaveUpAt = fromMillis(created), fromMillis(next), nullTime(sent), nullTime(gaveUp)
	return n, err
}

// DueAlertNotifications returns up to limit notifications not yet sent nor
// given up whose next attempt is due at now, oldest first.
func (s *Store) DueAlertNotifications(ctx context.Context, now time.Time, limit int) ([]AlertNotification, error) {
	return s.listAlertNotifications(ctx, `WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ?
		ORDER BY next_attempt_at, created_at LIMIT ?`, millis(now), limit)
}

// AlertNotifications is the delivery log: the newest limit notifications,
// of one rule when rule is not "".
func (s *Store) AlertNotifications(ctx context.Context, rule string, limit int) ([]AlertNotification, error) {
	if rule != "" {
		return s.listAlertNotifications(ctx, `WHERE rule = ? ORDER BY created_at DESC, id LIMIT ?`, rule, limit)
	}
	return s.listAlertNotifications(ctx, `ORDER BY created_at DESC, id LIMIT ?`, limit)
}

func (s *Store) listAlertNotifications(ctx context.Context, where string, args ...any) ([]AlertNotification, error) {
	rows, err := s.query(ctx, `SELECT `+alertNotificationColumns+` FROM alert_notifications `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: alert notifications: %w", err)
	}
	defer rows.Close()
	var out []AlertNotification
	for rows.Next() {
		n, err := scanAlertNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("store: alert notifications: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// MarkAlertNotificationSent records a delivery the receiver accepted.
func (s *Store) MarkAlertNotificationSent(ctx context.Context, id string, status int, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE alert_notifications SET sent_at = ?, attempts = attempts + 1, last_status = ?, last_error = ''
		WHERE id = ?`, millis(at), status, id); err != nil {
		return fmt.Errorf("store: mark notification %s sent: %w", id, err)
	}
	return nil
}

// MarkAlertNotificationFailed records a failed attempt: the next one at
// next, or none when giveUp.
func (s *Store) MarkAlertNotificationFailed(ctx context.Context, id string, status int, errText string, next time.Time, giveUp bool) error {
	var gaveUp any
	if giveUp {
		gaveUp = millis(s.now())
	}
	if len(errText) > 500 {
		errText = errText[:500]
	}
	if _, err := s.exec(ctx, `UPDATE alert_notifications SET attempts = attempts + 1, last_status = ?, last_error = ?,
		next_attempt_at = ?, gave_up_at = ? WHERE id = ?`, status, errText, millis(next), gaveUp, id); err != nil {
		return fmt.Errorf("store: mark notification %s failed: %w", id, err)
	}
	return nil
}

// AlertEvents returns the newest limit state changes, of one rule when
// rule is not "".
func (s *Store) AlertEvents(ctx context.Context, rule string, limit int) ([]AlertEvent, error) {
	q := `SELECT id, rule, tenant, at, status, firing_id, value, actor, detail FROM alert_events `
	args := []any{}
	if rule != "" {
		q += `WHERE rule = ? `
		args = append(args, rule)
	}
	rows, err := s.query(ctx, q+`ORDER BY at DESC, id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: alert events: %w", err)
	}
	defer rows.Close()
	var out []AlertEvent
	for rows.Next() {
		var e AlertEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.Rule, &e.Tenant, &at, &e.Status, &e.FiringID, &e.Value, &e.Actor, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: alert events: %w", err)
		}
		e.At = fromMillis(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SilenceAlert silences rule until until (a zero until lifts the
// silence), naming who and why, and stores the change as an event. Audit
// the call: the store does not.
func (s *Store) SilenceAlert(ctx context.Context, rule, tenant string, until time.Time, by, why string) error {
	if rule == "" || by == "" {
		return errors.New("store: silence alert: a rule and who silences are needed")
	}
	now := s.now()
	status, detail := AlertSilenced, fmt.Sprintf("until %s: %s", until.UTC().Format(time.RFC3339), why)
	if until.IsZero() {
		status, detail = AlertUnsilence, why
		by, why = "", ""
	}
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		// A rule never evaluated yet has no row: start one as ok.
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO alert_states (rule, tenant, status, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (rule) DO NOTHING`), rule, tenant, AlertOK, millis(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE alert_states SET silenced_until = ?, silenced_by = ?, silence_reason = ?, updated_at = ?
			WHERE rule = ?`), nullMillis(until), by, why, millis(now), rule); err != nil {
			return err
		}
		actor := by
		if actor == "" {
			actor = "-"
		}
		_, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO alert_events (rule, tenant, at, status, actor, detail) VALUES (?, ?, ?, ?, ?, ?)`),
			rule, tenant, millis(now), status, actor, strings.TrimSpace(detail))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: silence alert %s: %w", rule, err)
	}
	return nil
}

// PurgeAlertHistoryBefore removes events and finished notifications older
// than t (the retention).
func (s *Store) PurgeAlertHistoryBefore(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for _, q := range []string{`DELETE FROM alert_events WHERE at < ?`,
		`DELETE FROM alert_notifications WHERE created_at < ? AND (sent_at IS NOT NULL OR gave_up_at IS NOT NULL)`} {
		res, err := s.exec(ctx, q, millis(t))
		if err != nil {
			return total, fmt.Errorf("store: purge alert history: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
