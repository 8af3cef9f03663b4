-- +goose Up
-- Append-only: rows leave only through retention (PurgeAuditBefore).
-- session_ref is a fingerprint of the session id, never the id itself.
CREATE TABLE audit_log (
    id          BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    session_ref TEXT   NOT NULL DEFAULT '',
    action      TEXT   NOT NULL,
    tenant      TEXT   NOT NULL DEFAULT '',
    target      TEXT   NOT NULL DEFAULT '',
    detail      TEXT   NOT NULL DEFAULT '',
    request_id  TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_tenant ON audit_log (tenant, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_target ON audit_log (target, id);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TRIGGER audit_log_append_only ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_log;
