-- +goose Up
-- A tenant is an Extend deployment plus a workspace ("us/ws_abc"), or a
-- keyed hash of a key connected without one ("us/key_…"). The flags say
-- where its history came from: a tenant whose history came from Extend
-- asks a newcomer to fetch one of those runs before showing it, and
-- synthetic runs (editwatch seed) never serve as that proof.
CREATE TABLE tenants (
    tenant                  TEXT    NOT NULL PRIMARY KEY,
    deployment              TEXT    NOT NULL,
    workspace_id            TEXT    NOT NULL DEFAULT '',
    created_at              INTEGER NOT NULL,
    history_from_extend     INTEGER NOT NULL DEFAULT 0,
    history_synthetic       INTEGER NOT NULL DEFAULT 0,
    synced_at               INTEGER,
    service_key_sealed      BLOB,
    service_key_fingerprint TEXT    NOT NULL DEFAULT '',
    service_key_set_by      TEXT    NOT NULL DEFAULT '',
    service_key_set_at      INTEGER
) STRICT;

-- One row per run and tenant: the winning snapshot (see store/runs.go for
-- the precedence). "at" is the run's creation time when Extend gave one,
-- else when Editwatch first saw it; lists, ranges and rollups use it.
-- No presigned URL and no filled value is ever stored.
CREATE TABLE run_snapshots (
    id               INTEGER NOT NULL PRIMARY KEY,
    tenant           TEXT    NOT NULL,
    run_id           TEXT    NOT NULL,
    at               INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    failure_reason   TEXT    NOT NULL DEFAULT '',
    failure_message  TEXT    NOT NULL DEFAULT '',
    file_id          TEXT    NOT NULL DEFAULT '',
    file_name        TEXT    NOT NULL DEFAULT '',
    source           TEXT    NOT NULL DEFAULT '',
    page_count       INTEGER,
    field_count      INTEGER,
    fields_detected  INTEGER,
    fields_annotated INTEGER,
    fields_filled    INTEGER,
    processing_ms    REAL,
    detection_ms     REAL,
    annotation_ms    REAL,
    filling_ms       REAL,
    credits          REAL,
    created_at       INTEGER,
    updated_at       INTEGER,
    first_seen_at    INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    finished_at      INTEGER,
    seen_via         TEXT    NOT NULL DEFAULT '',
    synthetic        INTEGER NOT NULL DEFAULT 0,
    deleted_at       INTEGER
) STRICT;
-- Also serves run-ID prefix search within a tenant.
CREATE UNIQUE INDEX run_snapshots_run ON run_snapshots (tenant, run_id);
CREATE INDEX run_snapshots_at ON run_snapshots (tenant, at, id);
CREATE INDEX run_snapshots_status ON run_snapshots (tenant, status, at, id);
CREATE INDEX run_snapshots_reason ON run_snapshots (tenant, failure_reason, at, id) WHERE failure_reason <> '';

-- File-name substring search: trigram index keyed by run_snapshots.id.
CREATE VIRTUAL TABLE run_snapshot_names USING fts5 (
    file_name, content = '', contentless_delete = 1, tokenize = 'trigram'
);

-- Aggregates per tenant and hour (bucket: Unix ms of the hour's start) of
-- the finished, not deleted runs, kept in the same transaction as the
-- snapshots they sum. One row per hour, so a 30-day chart reads at most
-- 720 rows however many runs there were: failures by reason are a
-- varint-encoded reason and count list, and the timing histograms of the
-- processed runs (fixed log-spaced bins, store/histogram.go) a varint
-- encoding, both read and written by store/rollups.go.
CREATE TABLE run_rollups (
    tenant        TEXT    NOT NULL,
    bucket        INTEGER NOT NULL,
    processed     INTEGER NOT NULL,
    failed        INTEGER NOT NULL,
    credits       REAL    NOT NULL,
    pages         INTEGER NOT NULL,
    fields_filled INTEGER NOT NULL,
    fields_total  INTEGER NOT NULL,
    failures      BLOB    NOT NULL,
    timings       BLOB    NOT NULL,
    PRIMARY KEY (tenant, bucket)
) STRICT, WITHOUT ROWID;

-- The same per UTC day (bucket: the midnight), so a chart of 30 days
-- aligned on midnights reads 30 rows.
CREATE TABLE run_rollups_daily (
    tenant        TEXT    NOT NULL,
    bucket        INTEGER NOT NULL,
    processed     INTEGER NOT NULL,
    failed        INTEGER NOT NULL,
    credits       REAL    NOT NULL,
    pages         INTEGER NOT NULL,
    fields_filled INTEGER NOT NULL,
    fields_total  INTEGER NOT NULL,
    failures      BLOB    NOT NULL,
    timings       BLOB    NOT NULL,
    PRIMARY KEY (tenant, bucket)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE run_rollups_daily;
DROP TABLE run_rollups;
DROP TABLE run_snapshot_names;
DROP TABLE run_snapshots;
DROP TABLE tenants;
