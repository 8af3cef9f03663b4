-- +goose Up
-- A lease names work exactly one replica does at a time (see
-- Store.TryLease): its holder until expires_at, Unix milliseconds of the
-- database's clock, the one clock every replica shares. SQLite stores have
-- one process and no leases.
CREATE TABLE leases (
    name       TEXT   NOT NULL PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
