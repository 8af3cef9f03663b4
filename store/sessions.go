package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// sessionIDBytes is the entropy of a session ID: 256 bits.
const sessionIDBytes = 32

// Session is a server-side session. Values is the plaintext the caller
// stored (the handlers' gob encoding); it is sealed at rest.
type Session struct {
	ID         string
	Identity   string // who the SSO proxy said made it; "" in single-user mode
	Values     []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// SessionLifetime bounds a session: it ends Idle after it was last seen or
// Max after it was created, whichever comes first.
type SessionLifetime struct {
	Idle time.Duration
	Max  time.Duration
}

func (l SessionLifetime) validate() error {
	if l.Idle <= 0 || l.Max <= 0 {
		return fmt.Errorf("store: session lifetime needs positive idle and max durations, got %s and %s", l.Idle, l.Max)
	}
	return nil
}

// expiry is when a session created at created and last seen at seen ends.
func (l SessionLifetime) expiry(created, seen time.Time) time.Time {
	idleEnd, maxEnd := seen.Add(l.Idle), created.Add(l.Max)
	if idleEnd.Before(maxEnd) {
		return idleEnd
	}
	return maxEnd
}

// sessionAD binds sealed session values to their session.
func sessionAD(id string) []byte { return []byte("editwatch/session/" + id) }

// CreateSession starts a session for identity with the given values and
// returns it with its new random ID.
func (s *Store) CreateSession(ctx context.Context, identity string, values []byte, life SessionLifetime) (Session, error) {
	if err := life.validate(); err != nil {
		return Session{}, err
	}
	if s.sealer == nil {
		return Session{}, ErrNoSealer
	}
	id, err := randomID(sessionIDBytes)
	if err != nil {
		return Session{}, fmt.Errorf("store: create session: %w", err)
	}
	sealed, err := s.sealer.Seal(values, sessionAD(id))
	if err != nil {
		return Session{}, fmt.Errorf("store: create session: %w", err)
	}
	now := s.now().Truncate(time.Millisecond)
	sess := Session{
		ID:         id,
		Identity:   identity,
		Values:     values,
		CreatedAt:  now.UTC(),
		LastSeenAt: now.UTC(),
		ExpiresAt:  life.expiry(now, now).UTC(),
	}
	_, err = s.exec(ctx, `INSERT INTO sessions (id, identity, values_sealed, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		sess.ID, sess.Identity, sealed, millis(sess.CreatedAt), millis(sess.LastSeenAt), millis(sess.ExpiresAt))
	if err != nil {
		return Session{}, fmt.Errorf("store: create session: %w", err)
	}
	return sess, nil
}

// GetSession returns a live session. A missing or expired one is
// ErrNotFound; values sealed under a retired key are ErrUndecryptable.
func (s *Store) GetSession(ctx context.Context, id string) (Session, error) {
	if s.sealer == nil {
		return Session{}, ErrNoSealer
	}
	var (
		sess                       Session
		sealed                     []byte
		created, seen, expiresAtMs int64
	)
	err := s.queryRow(ctx, `SELECT identity, values_sealed, created_at, last_seen_at, expires_at
		FROM sessions WHERE id = ? AND expires_at > ?`, id, millis(s.now())).
		Scan(&sess.Identity, &sealed, &created, &seen, &expiresAtMs)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: get session: %w", err)
	}
	values, err := s.sealer.Open(sealed, sessionAD(id))
	if err != nil {
		return Session{}, fmt.Errorf("store: get session values: %w", err)
	}
	sess.ID = id
	sess.Values = values
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMillis(created), fromMillis(seen), fromMillis(expiresAtMs)
	return sess, nil
}

// TouchSession records activity now, pushing the idle deadline forward
// (never past the absolute lifetime). An expired session stays expired:
// ErrNotFound.
func (s *Store) TouchSession(ctx context.Context, id string, life SessionLifetime) error {
	if err := life.validate(); err != nil {
		return err
	}
	now := s.now()
	res, err := s.exec(ctx, `UPDATE sessions SET last_seen_at = ?,
		expires_at = CASE WHEN created_at + ? < ? THEN created_at + ? ELSE ? END
		WHERE id = ? AND expires_at > ?`,
		millis(now), life.Max.Milliseconds(), millis(now.Add(life.Idle)), life.Max.Milliseconds(), millis(now.Add(life.Idle)),
		id, millis(now))
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return requireOneRow(res, "touch session")
}

// SaveSessionValues replaces a live session's values and records activity,
// like TouchSession.
func (s *Store) SaveSessionValues(ctx context.Context, id string, values []byte, life SessionLifetime) error {
	if err := life.validate(); err != nil {
		return err
	}
	if s.sealer == nil {
		return ErrNoSealer
	}
	sealed, err := s.sealer.Seal(values, sessionAD(id))
	if err != nil {
		return fmt.Errorf("store: save session values: %w", err)
	}
	now := s.now()
	res, err := s.exec(ctx, `UPDATE sessions SET values_sealed = ?, last_seen_at = ?,
		expires_at = CASE WHEN created_at + ? < ? THEN created_at + ? ELSE ? END
		WHERE id = ? AND expires_at > ?`,
		sealed, millis(now),
		life.Max.Milliseconds(), millis(now.Add(life.Idle)), life.Max.Milliseconds(), millis(now.Add(life.Idle)),
		id, millis(now))
	if err != nil {
		return fmt.Errorf("store: save session values: %w", err)
	}
	return requireOneRow(res, "save session values")
}

// DeleteSession ends a session and, through the foreign key, deletes its
// connections and their keys. Deleting a missing session is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions that ended at or before now,
// with their connections, and reports how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, millis(now))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return n, nil
}

func requireOneRow(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return nil
}

// randomID returns n random bytes, base64url without padding.
func randomID(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
