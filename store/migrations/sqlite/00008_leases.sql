-- +goose Up
-- PostgreSQL's migration 8 adds the leases table (Store.TryLease). One
-- process owns a SQLite file and takes no leases; this keeps both
-- dialects on the same version numbers.
SELECT 1;

-- +goose Down
SELECT 1;
