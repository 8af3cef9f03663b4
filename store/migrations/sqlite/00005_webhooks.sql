-- +goose Up
-- Webhook endpoints: id is Editwatch's own random ID, the {endpoint} of
-- POST /webhooks/extend/{endpoint}, which exists before Extend assigns
-- its wh_ ID. The signing secrets (several, for rotation) are sealed as
-- one JSON list, associated data the endpoint ID.
CREATE TABLE webhook_endpoints (
    id               TEXT    NOT NULL PRIMARY KEY,
    tenant           TEXT    NOT NULL,
    extend_id        TEXT    NOT NULL DEFAULT '',
    url              TEXT    NOT NULL DEFAULT '',
    origin           TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    secrets_sealed   BLOB    NOT NULL,
    secret_hints     TEXT    NOT NULL DEFAULT '',
    created_by       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    last_delivery_at INTEGER
) STRICT;
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant, created_at);

-- Every delivery: verified ones carry the event ID (unique per endpoint)
-- and the payload with presigned URLs and filled values removed, stored
-- before Extend gets its 2xx; applied_at stays NULL until the event has
-- changed history, so a restart applies what is left.
CREATE TABLE webhook_events (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id    TEXT,
    event_type  TEXT    NOT NULL DEFAULT '',
    run_id      TEXT    NOT NULL DEFAULT '',
    received_at INTEGER NOT NULL,
    verified    INTEGER NOT NULL,
    error       TEXT    NOT NULL DEFAULT '',
    payload     BLOB,
    deliveries  INTEGER NOT NULL DEFAULT 1,
    applied_at  INTEGER,
    outcome     TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX webhook_events_event ON webhook_events (endpoint_id, event_id);
CREATE INDEX webhook_events_endpoint ON webhook_events (endpoint_id, id);
CREATE INDEX webhook_events_received ON webhook_events (received_at);
CREATE INDEX webhook_events_pending ON webhook_events (id) WHERE applied_at IS NULL AND verified = 1;

-- +goose Down
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
