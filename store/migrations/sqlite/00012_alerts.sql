-- +goose Up
-- Alerts (package alerts). Rules and channels made on the alerts page
-- live here, each for one workspace (tenant); those from --alert-rules
-- live in the file and only their state is kept. Channel URLs and secrets are sealed like API keys (the
-- row's name is the associated data).
CREATE TABLE alert_channels (
    name          TEXT    NOT NULL PRIMARY KEY,
    tenant        TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    recipients    TEXT    NOT NULL DEFAULT '',
    url_sealed    BLOB,
    secret_sealed BLOB,
    updated_by    TEXT    NOT NULL DEFAULT '',
    updated_at    INTEGER NOT NULL
) STRICT;

-- spec is the rule in the rules file's YAML form, read by the same parser.
CREATE TABLE alert_rules (
    name       TEXT    NOT NULL PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    updated_by TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
) STRICT;

-- Where each rule's lifecycle stands (ok, pending, firing); one row per
-- rule name, file or page.
CREATE TABLE alert_states (
    rule             TEXT    NOT NULL PRIMARY KEY,
    tenant           TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    value            REAL    NOT NULL DEFAULT 0,
    pending_since    INTEGER,
    fired_at         INTEGER,
    clear_since      INTEGER,
    last_notified_at INTEGER,
    firing_id        TEXT    NOT NULL DEFAULT '',
    notified         INTEGER NOT NULL DEFAULT 0,
    silenced_until   INTEGER,
    silenced_by      TEXT    NOT NULL DEFAULT '',
    silence_reason   TEXT    NOT NULL DEFAULT '',
    updated_at       INTEGER NOT NULL
) STRICT;

-- Every state change, for the alerts page: fired, resolved, silenced...
CREATE TABLE alert_events (
    id        INTEGER NOT NULL PRIMARY KEY,
    rule      TEXT    NOT NULL,
    tenant    TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    status    TEXT    NOT NULL,
    firing_id TEXT    NOT NULL DEFAULT '',
    value     REAL    NOT NULL DEFAULT 0,
    actor     TEXT    NOT NULL DEFAULT '',
    detail    TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX alert_events_at ON alert_events (at, id);
CREATE INDEX alert_events_rule ON alert_events (rule, at, id);

-- One row per notification and channel, written before it is sent and
-- marked sent after (at most twice after a crash, never zero times): the
-- delivery log. body is the JSON the webhook receives (no secrets).
CREATE TABLE alert_notifications (
    id              TEXT    NOT NULL PRIMARY KEY,
    rule            TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    body            TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    gave_up_at      INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX alert_notifications_due ON alert_notifications (next_attempt_at) WHERE sent_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX alert_notifications_created ON alert_notifications (created_at);

-- +goose Down
DROP TABLE alert_notifications;
DROP TABLE alert_events;
DROP TABLE alert_states;
DROP TABLE alert_rules;
DROP TABLE alert_channels;
