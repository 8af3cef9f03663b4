-- +goose Up
-- Sorting the runs list by a measurement: one index per sort, on the
-- expression the list orders by (a run without the measurement counts as
-- -1), so a page deep in a large history costs what the first does.
CREATE INDEX run_snapshots_processing ON run_snapshots (tenant, COALESCE(processing_ms, -1), id);
CREATE INDEX run_snapshots_credits ON run_snapshots (tenant, COALESCE(credits, -1), id);
CREATE INDEX run_snapshots_filled ON run_snapshots (tenant, COALESCE(fields_filled, -1), id);

-- Lineage: which run a re-run made through Editwatch re-ran. Extend keeps
-- no such link, so runs re-run elsewhere have no row. run_id is the new
-- run; created_at is Unix milliseconds.
CREATE TABLE run_lineage (
    tenant     TEXT    NOT NULL,
    run_id     TEXT    NOT NULL,
    rerun_of   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, run_id)
) STRICT;
CREATE INDEX run_lineage_rerun_of ON run_lineage (tenant, rerun_of);

-- Stuck runs a person dismissed from the stuck-runs list (audited), so
-- the list shows only the ones still worth a look.
CREATE TABLE run_dismissals (
    tenant       TEXT    NOT NULL,
    run_id       TEXT    NOT NULL,
    dismissed_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, run_id)
) STRICT;

-- +goose Down
DROP TABLE run_dismissals;
DROP TABLE run_lineage;
DROP INDEX run_snapshots_filled;
DROP INDEX run_snapshots_credits;
DROP INDEX run_snapshots_processing;
