package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Connection is an Extend workspace connected by a session. The API key
// itself is only available through ConnectionKey.
type Connection struct {
	ID          string
	SessionID   string
	Deployment  string // region name or base URL, as configured
	BaseURL     string
	WorkspaceID string // "" when the key was connected without one
	Tenant      string // computed by the caller: deployment + workspace, or a keyed hash of the key
	KeyLast4    string
	CreatedAt   time.Time
}

// NewConnection is what AddConnection stores. Key is the plaintext API key;
// it is sealed before it reaches the database.
type NewConnection struct {
	SessionID   string
	Deployment  string
	BaseURL     string
	WorkspaceID string
	Tenant      string
	Key         string
}

// connectionAD binds a sealed API key to its connection row.
func connectionAD(id string) []byte { return []byte("editwatch/connection/" + id) }

// AddConnection stores a connection for a live session. Connecting a tenant
// the session already has replaces that connection (and its key), so
// reconnecting with a new key needs no disconnect first.
func (s *Store) AddConnection(ctx context.Context, c NewConnection) (Connection, error) {
	if s.sealer == nil {
		return Connection{}, ErrNoSealer
	}
	if c.SessionID == "" || c.Tenant == "" || c.Key == "" {
		return Connection{}, errors.New("store: add connection: session, tenant and key are required")
	}
	suffix, err := randomID(16)
	if err != nil {
		return Connection{}, fmt.Errorf("store: add connection: %w", err)
	}
	conn := Connection{
		ID:          "conn_" + suffix,
		SessionID:   c.SessionID,
		Deployment:  c.Deployment,
		BaseURL:     c.BaseURL,
		WorkspaceID: c.WorkspaceID,
		Tenant:      c.Tenant,
		KeyLast4:    lastRunes(c.Key, 4),
		CreatedAt:   s.now().Truncate(time.Millisecond).UTC(),
	}
	sealed, err := s.sealer.Seal([]byte(c.Key), connectionAD(conn.ID))
	if err != nil {
		return Connection{}, fmt.Errorf("store: add connection: %w", err)
	}
	err = s.inWriteTx(ctx, func(tx *sql.Tx) error {
		var live int
		err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM sessions WHERE id = ? AND expires_at > ?`),
			c.SessionID, millis(s.now())).Scan(&live)
		if err != nil {
			return err
		}
		if live == 0 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM connections WHERE session_id = ? AND tenant = ?`),
			c.SessionID, c.Tenant); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.d.rebind(`INSERT INTO connections
			(id, session_id, deployment, base_url, workspace_id, tenant, key_sealed, key_last4, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			conn.ID, conn.SessionID, conn.Deployment, conn.BaseURL, conn.WorkspaceID, conn.Tenant,
			sealed, conn.KeyLast4, millis(conn.CreatedAt))
		return err
	})
	if err != nil {
		return Connection{}, fmt.Errorf("store: add connection for tenant %s: %w", c.Tenant, err)
	}
	return conn, nil
}

// ListConnections returns a session's connections, oldest first, without
// decrypting any key.
func (s *Store) ListConnections(ctx context.Context, sessionID string) ([]Connection, error) {
	rows, err := s.query(ctx, `SELECT id, deployment, base_url, workspace_id, tenant, key_last4, created_at
		FROM connections WHERE session_id = ? ORDER BY created_at, id`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("store: list connections: %w", err)
	}
	defer rows.Close()
	var conns []Connection
	for rows.Next() {
		c := Connection{SessionID: sessionID}
		var created int64
		if err := rows.Scan(&c.ID, &c.Deployment, &c.BaseURL, &c.WorkspaceID, &c.Tenant, &c.KeyLast4, &created); err != nil {
			return nil, fmt.Errorf("store: list connections: %w", err)
		}
		c.CreatedAt = fromMillis(created)
		conns = append(conns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list connections: %w", err)
	}
	return conns, nil
}

// ConnectionKey decrypts the API key of one of the session's connections.
// A connection of another session is ErrNotFound.
func (s *Store) ConnectionKey(ctx context.Context, sessionID, connID string) (string, error) {
	if s.sealer == nil {
		return "", ErrNoSealer
	}
	var sealed []byte
	err := s.queryRow(ctx, `SELECT key_sealed FROM connections WHERE id = ? AND session_id = ?`, connID, sessionID).
		Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: connection key %s: %w", connID, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: connection key %s: %w", connID, err)
	}
	key, err := s.sealer.Open(sealed, connectionAD(connID))
	if err != nil {
		return "", fmt.Errorf("store: connection key %s: %w", connID, err)
	}
	return string(key), nil
}

// DeleteConnection disconnects: the sealed key is gone when it returns. A
// connection of another session is ErrNotFound.
func (s *Store) DeleteConnection(ctx context.Context, sessionID, connID string) error {
	res, err := s.exec(ctx, `DELETE FROM connections WHERE id = ? AND session_id = ?`, connID, sessionID)
	if err != nil {
		return fmt.Errorf("store: delete connection %s: %w", connID, err)
	}
	return requireOneRow(res, "delete connection "+connID)
}

// DeleteSessionConnections disconnects every workspace of a session and
// reports how many there were.
func (s *Store) DeleteSessionConnections(ctx context.Context, sessionID string) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM connections WHERE session_id = ?`, sessionID)
	if err != nil {
		return 0, fmt.Errorf("store: delete session connections: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete session connections: %w", err)
	}
	return n, nil
}

// lastRunes returns the last n runes of s, what pages show of a key. A
// value shorter than 2n shows nothing, so the hint never gives away most
// of a (malformed) key.
func lastRunes(s string, n int) string {
	r := []rune(s)
	if len(r) < 2*n {
		return ""
	}
	return string(r[len(r)-n:])
}
