-- +goose Up
-- The same aggregates per tenant and minute (bucket: Unix ms of the
-- minute's start), written with the hourly and daily rows. A range that
-- does not start or end on a whole hour reads its edge minutes here and
-- only the seconds at its very edges from run_snapshots, so the counts of
-- a "last hour" are exact and cost the same however much history there is.
CREATE TABLE run_rollups_minute (
    tenant        TEXT    NOT NULL,
    bucket        BIGINT  NOT NULL,
    processed     BIGINT  NOT NULL,
    failed        BIGINT  NOT NULL,
    credits       DOUBLE PRECISION NOT NULL,
    pages         BIGINT  NOT NULL,
    fields_filled BIGINT  NOT NULL,
    fields_total  BIGINT  NOT NULL,
    failures      BYTEA   NOT NULL,
    timings       BYTEA   NOT NULL,
    PRIMARY KEY (tenant, bucket)
);

-- Minute rows exist only for runs written after this migration: runs
-- already stored have none. since is the first instant whose minute rows
-- are complete (just after the newest run stored then); readers count
-- earlier edges from run_snapshots.
CREATE TABLE rollup_minutes_since (
    since BIGINT NOT NULL
);
INSERT INTO rollup_minutes_since (since) SELECT COALESCE(MAX(at) + 1, 0) FROM run_snapshots;

-- +goose Down
DROP TABLE rollup_minutes_since;
DROP TABLE run_rollups_minute;
