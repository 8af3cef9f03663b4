-- +goose Up
-- Webhook endpoints: id is Editwatch's own random ID, the {endpoint} of
-- POST /webhooks/extend/{endpoint}, which exists before Extend assigns
-- its wh_ ID. The signing secrets (several, for rotation) are sealed as
-- one JSON list, associated data the endpoint ID.
CREATE TABLE webhook_endpoints (
    id               TEXT   NOT NULL PRIMARY KEY,
    tenant           TEXT   NOT NULL,
    extend_id        TEXT   NOT NULL DEFAULT '',
    url              TEXT   NOT NULL DEFAULT '',
    origin           TEXT   NOT NULL,
    status           TEXT   NOT NULL,
    secrets_sealed   BYTEA  NOT NULL,
    secret_hints     TEXT   NOT NULL DEFAULT '',
    created_by       TEXT   NOT NULL,
    created_at       BIGINT NOT NULL,
    last_delivery_at BIGINT
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant, created_at);

-- Every delivery: verified ones carry the event ID (unique per endpoint)
-- and the payload with presigned URLs and filled values removed, stored
-- before Extend gets its 2xx; applied_at stays NULL until the event has
-- changed history, so a restart applies what is left.
CREATE TABLE webhook_events (
    id          BIGINT   NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id TEXT     NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id    TEXT,
    event_type  TEXT     NOT NULL DEFAULT '',
    run_id      TEXT     NOT NULL DEFAULT '',
    received_at BIGINT   NOT NULL,
    verified    SMALLINT NOT NULL,
    error       TEXT     NOT NULL DEFAULT '',
    payload     BYTEA,
    deliveries  BIGINT   NOT NULL DEFAULT 1,
    applied_at  BIGINT,
    outcome     TEXT     NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX webhook_events_event ON webhook_events (endpoint_id, event_id);
CREATE INDEX webhook_events_endpoint ON webhook_events (endpoint_id, id);
CREATE INDEX webhook_events_received ON webhook_events (received_at);
CREATE INDEX webhook_events_pending ON webhook_events (id) WHERE applied_at IS NULL AND verified = 1;

-- +goose Down
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
