-- +goose Up
-- A key connected without a workspace ID named its tenant
-- "<deployment>/key_<20 hex digits>", a name a workspace ID typed on the
-- connect form could also take: someone could claim that key's history
-- before its owner came. Key tenants are now "<deployment>/key.<hex>"
-- ('.' is in no Extend workspace ID, and the connect form accepts only
-- those). A connection that gave a key-shaped workspace ID took another
-- key's tenant: it is removed, and its session connects again. The
-- audit log follows the rename (its append-only trigger is lifted for
-- this one statement and restored). Grants live in sessions: a session
-- granted the old name asks the grant rule again, with its own key.
DELETE FROM connections WHERE workspace_id <> '' AND tenant GLOB '*/key_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';
UPDATE connections SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key.' || substr(tenant, -20) WHERE tenant GLOB '*/key_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';
UPDATE webhook_endpoints SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key.' || substr(tenant, -20) WHERE tenant GLOB '*/key_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';
UPDATE run_snapshots SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key.' || substr(tenant, -20)
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant GLOB '*/key_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]');
UPDATE run_rollups SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key.' || substr(tenant, -20)
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant GLOB '*/key_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]');
UPDATE run_rollups_daily SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key.' || substr(tenant, -20)
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant GLOB '*/key_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]');
DROP TRIGGER audit_log_append_only;
UPDATE audit_log SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key.' || substr(tenant, -20) WHERE tenant GLOB '*/key_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';
UPDATE audit_log SET target = 'key.' || substr(target, 5) WHERE target GLOB 'key_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';
-- +goose StatementBegin
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
UPDATE tenants SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key.' || substr(tenant, -20), workspace_id = '' WHERE tenant GLOB '*/key_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';

-- +goose Down
UPDATE connections SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key_' || substr(tenant, -20) WHERE tenant GLOB '*/key.[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';
UPDATE webhook_endpoints SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key_' || substr(tenant, -20) WHERE tenant GLOB '*/key.[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';
UPDATE run_snapshots SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key_' || substr(tenant, -20)
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant GLOB '*/key.[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]');
UPDATE run_rollups SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key_' || substr(tenant, -20)
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant GLOB '*/key.[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]');
UPDATE run_rollups_daily SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key_' || substr(tenant, -20)
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant GLOB '*/key.[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]');
DROP TRIGGER audit_log_append_only;
UPDATE audit_log SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key_' || substr(tenant, -20) WHERE tenant GLOB '*/key.[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';
UPDATE audit_log SET target = 'key_' || substr(target, 5) WHERE target GLOB 'key.[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';
-- +goose StatementBegin
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
UPDATE tenants SET tenant = substr(tenant, 1, length(tenant) - 24) || 'key_' || substr(tenant, -20) WHERE tenant GLOB '*/key.[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]';
