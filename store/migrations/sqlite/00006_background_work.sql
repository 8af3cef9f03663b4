-- +goose Up
-- The grant check looks for the newest runs that came from Extend
-- (ProofRunIDs); in a history made mostly by editwatch seed, the plain
-- (tenant, at) index would walk every synthetic run first.
CREATE INDEX run_snapshots_proof ON run_snapshots (tenant, at, id) WHERE synthetic = 0 AND deleted_at IS NULL;
-- The reconciler asks for runs still processing that nobody has seen for
-- a while (a webhook that never came), oldest sighting first.
CREATE INDEX run_snapshots_unsettled ON run_snapshots (tenant, last_seen_at) WHERE status = 'PROCESSING' AND synthetic = 0 AND deleted_at IS NULL;

-- +goose Down
DROP INDEX run_snapshots_unsettled;
DROP INDEX run_snapshots_proof;
