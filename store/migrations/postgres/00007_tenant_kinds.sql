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
DELETE FROM connections WHERE workspace_id <> '' AND tenant ~ '/key_[0-9a-f]{20}$';
UPDATE connections SET tenant = regexp_replace(tenant, '/key_([0-9a-f]{20})$', '/key.\1') WHERE tenant ~ '/key_[0-9a-f]{20}$';
UPDATE webhook_endpoints SET tenant = regexp_replace(tenant, '/key_([0-9a-f]{20})$', '/key.\1') WHERE tenant ~ '/key_[0-9a-f]{20}$';
UPDATE run_snapshots SET tenant = regexp_replace(tenant, '/key_([0-9a-f]{20})$', '/key.\1')
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant ~ '/key_[0-9a-f]{20}$');
UPDATE run_rollups SET tenant = regexp_replace(tenant, '/key_([0-9a-f]{20})$', '/key.\1')
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant ~ '/key_[0-9a-f]{20}$');
UPDATE run_rollups_daily SET tenant = regexp_replace(tenant, '/key_([0-9a-f]{20})$', '/key.\1')
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant ~ '/key_[0-9a-f]{20}$');
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE audit_log SET tenant = regexp_replace(tenant, '/key_([0-9a-f]{20})$', '/key.\1') WHERE tenant ~ '/key_[0-9a-f]{20}$';
UPDATE audit_log SET target = regexp_replace(target, '^key_', 'key.') WHERE target ~ '^key_[0-9a-f]{20}$';
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
UPDATE tenants SET tenant = regexp_replace(tenant, '/key_([0-9a-f]{20})$', '/key.\1'), workspace_id = '' WHERE tenant ~ '/key_[0-9a-f]{20}$';

-- +goose Down
UPDATE connections SET tenant = regexp_replace(tenant, '/key\.([0-9a-f]{20})$', '/key_\1') WHERE tenant ~ '/key\.[0-9a-f]{20}$';
UPDATE webhook_endpoints SET tenant = regexp_replace(tenant, '/key\.([0-9a-f]{20})$', '/key_\1') WHERE tenant ~ '/key\.[0-9a-f]{20}$';
UPDATE run_snapshots SET tenant = regexp_replace(tenant, '/key\.([0-9a-f]{20})$', '/key_\1')
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant ~ '/key\.[0-9a-f]{20}$');
UPDATE run_rollups SET tenant = regexp_replace(tenant, '/key\.([0-9a-f]{20})$', '/key_\1')
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant ~ '/key\.[0-9a-f]{20}$');
UPDATE run_rollups_daily SET tenant = regexp_replace(tenant, '/key\.([0-9a-f]{20})$', '/key_\1')
    WHERE tenant IN (SELECT tenant FROM tenants WHERE tenant ~ '/key\.[0-9a-f]{20}$');
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE audit_log SET tenant = regexp_replace(tenant, '/key\.([0-9a-f]{20})$', '/key_\1') WHERE tenant ~ '/key\.[0-9a-f]{20}$';
UPDATE audit_log SET target = regexp_replace(target, '^key\.', 'key_') WHERE target ~ '^key\.[0-9a-f]{20}$';
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
UPDATE tenants SET tenant = regexp_replace(tenant, '/key\.([0-9a-f]{20})$', '/key_\1') WHERE tenant ~ '/key\.[0-9a-f]{20}$';
