-- +goose Up
-- Background jobs (bulk re-runs, history syncs) live here rather than in
-- the memory of the process that runs them, so a page served by any
-- replica reads their progress. The worker beats heartbeat_at while it
-- runs; a running job whose heartbeat is old lost its worker. Times are
-- Unix milliseconds. spec and progress are JSON owned by the job's kind.
-- worker names the one worker that may write the job (a resumed job gets
-- a new one, and a slow old worker's writes then change nothing).
-- exclusive_key is set while a job that allows no twin runs (one history
-- sync per tenant) and cleared when it ends: its unique index refuses a
-- second one.
CREATE TABLE jobs (
    id            TEXT    NOT NULL PRIMARY KEY,
    kind          TEXT    NOT NULL,
    tenant        TEXT    NOT NULL,
    session_id    TEXT    NOT NULL DEFAULT '',
    actor         TEXT    NOT NULL DEFAULT '',
    state         TEXT    NOT NULL,
    worker        TEXT    NOT NULL DEFAULT '',
    spec          TEXT    NOT NULL DEFAULT '{}',
    progress      TEXT    NOT NULL DEFAULT '{}',
    stopped       TEXT    NOT NULL DEFAULT '',
    exclusive_key TEXT,
    started_at    BIGINT  NOT NULL,
    finished_at   BIGINT,
    heartbeat_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX jobs_exclusive ON jobs (exclusive_key);
CREATE INDEX jobs_latest ON jobs (kind, tenant, started_at);

-- The runs of a job, in the order it takes them. state: pending (not
-- started), started (its request may be in flight), created, failed, or
-- unknown (it was in flight when its worker died: it may have started a
-- run and spent credits, so it is never retried on its own).
CREATE TABLE job_items (
    job_id     TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    run_id     TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    new_run_id TEXT    NOT NULL DEFAULT '',
    error      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, seq)
);

-- +goose Down
DROP TABLE job_items;
DROP TABLE jobs;
