-- +goose Up
-- Server-side sessions: the cookie carries only the signed id.
CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    identity     TEXT    NOT NULL DEFAULT '',
    values_sealed BLOB   NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- The Extend workspaces a session has connected, with the API key sealed
-- (associated data: the connection id).
CREATE TABLE connections (
    id           TEXT    NOT NULL PRIMARY KEY,
    session_id   TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    deployment   TEXT    NOT NULL,
    base_url     TEXT    NOT NULL,
    workspace_id TEXT    NOT NULL DEFAULT '',
    tenant       TEXT    NOT NULL,
    key_sealed   BLOB    NOT NULL,
    key_last4    TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX connections_session_tenant ON connections (session_id, tenant);

-- +goose Down
DROP TABLE connections;
DROP TABLE sessions;
