-- +goose Up
-- Small process-wide key/value state (e.g. webhook registrations).
CREATE TABLE settings (
    key        TEXT   NOT NULL PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE settings;
