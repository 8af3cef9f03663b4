package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audit actions written by the dashboard.
const (
	AuditConnect    = "connect"
	AuditDisconnect = "disconnect"
	AuditCreate     = "create"
	AuditRerun      = "rerun"
	AuditDelete     = "delete"
	AuditDownload   = "download"
	AuditReveal     = "reveal"
	// AuditView: a run's input or edited PDF opened through the dashboard
	// (once per document view, not per range request).
	AuditView = "view"
	// AuditMarkGone: a run Extend answers 404 for is marked gone in
	// history by hand.
	AuditMarkGone = "mark-gone"
	// AuditDismiss: a stuck run is dismissed from the stuck-runs list.
	AuditDismiss = "dismiss"
)

// AuditActorSingleUser is the actor of every entry when no SSO proxy
// names the user.
const AuditActorSingleUser = "single-user"

// Bounds of one ListAudit page.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 500
)

// AuditEntry is one line of the append-only audit log.
type AuditEntry struct {
	ID int64 // assigned by AppendAudit; increases with time
	At time.Time
	// Actor is the identity the proxy asserted, or AuditActorSingleUser.
	Actor string
	// SessionID is input only: AppendAudit stores its fingerprint
	// (SessionRef), never the ID, which is a credential.
	SessionID  string
	SessionRef string
	Action     string
	Tenant     string
	Target     string // run ID, connection, ...
	Detail     string
	RequestID  string
}

// AuditFilter selects audit entries; zero fields do not filter.
type AuditFilter struct {
	Actor  string
	Action string
	Tenant string
	Target string
	Since  time.Time // inclusive
	Until  time.Time // exclusive
	Limit  int       // DefaultAuditLimit when 0, at most MaxAuditLimit
	Before int64     // cursor: entries with a smaller ID (the nextCursor of the previous page)
}

// SessionFingerprint names a session in the audit log without revealing
// its ID.
func SessionFingerprint(sessionID string) string {
	if sessionID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("editwatch session ref\x00" + sessionID))
	return "s_" + hex.EncodeToString(sum[:8])
}

// AppendAudit writes an entry and returns its ID. At defaults to now.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) (int64, error) {
	if e.Actor == "" || e.Action == "" {
		return 0, errors.New("store: append audit: actor and action are required")
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	ref := e.SessionRef
	if e.SessionID != "" {
		ref = SessionFingerprint(e.SessionID)
	}
	q := `INSERT INTO audit_log (at, actor, session_ref, action, tenant, target, detail, request_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	var id int64
	err := s.write.QueryRowContext(ctx, s.d.rebind(q),
		millis(e.At), e.Actor, ref, e.Action, e.Tenant, e.Target, e.Detail, e.RequestID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: append audit %s: %w", e.Action, err)
	}
	return id, nil
}

// ListAudit returns matching entries, newest first, and the cursor of the
// next (older) page, or 0 when there is none.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, int64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	limit = min(limit, MaxAuditLimit)

	var (
		where []string
		args  []any
	)
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Tenant != "" {
		add("tenant = ?", f.Tenant)
	}
	if f.Target != "" {
		add("target = ?", f.Target)
	}
	if !f.Since.IsZero() {
		add("at >= ?", millis(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", millis(f.Until))
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	q := `SELECT id, at, actor, session_ref, action, tenant, target, detail, request_id FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	// One row more than asked tells whether another page exists.
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit+1)

	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	entries := make([]AuditEntry, 0, limit)
	for rows.Next() {
		var (
			e  AuditEntry
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.SessionRef, &e.Action, &e.Tenant, &e.Target, &e.Detail, &e.RequestID); err != nil {
			return nil, 0, fmt.Errorf("store: list audit: %w", err)
		}
		e.At = fromMillis(at)
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list audit: %w", err)
	}
	var next int64
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[limit-1].ID
	}
	return entries, next, nil
}

// PurgeAuditBefore deletes entries older than t (retention) and reports
// how many. It is the only way entries leave the log.
func (s *Store) PurgeAuditBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM audit_log WHERE at < ?`, millis(t))
	if err != nil {
		return 0, fmt.Errorf("store: purge audit: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge audit: %w", err)
	}
	return n, nil
}
