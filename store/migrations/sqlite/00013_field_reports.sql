-- +goose Up
-- How many finished runs of a bucket reported both their schema's field
-- count and their filled values: the runs fields_filled / fields_total
-- stands on. Most runs reach history from Extend's list, which carries
-- neither, so the overview's fill chart says how few reported; counting
-- them here keeps that note as cheap as the chart. Existing rows are
-- counted from the snapshots, which the rollups sum exactly (retention
-- purges both at the same midnight).
ALTER TABLE run_rollups_minute ADD COLUMN field_reports INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_rollups ADD COLUMN field_reports INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_rollups_daily ADD COLUMN field_reports INTEGER NOT NULL DEFAULT 0;
UPDATE run_rollups_minute SET field_reports = (
    SELECT COUNT(*) FROM run_snapshots s
    WHERE s.tenant = run_rollups_minute.tenant AND s.at >= run_rollups_minute.bucket AND s.at < run_rollups_minute.bucket + 60000
      AND s.deleted_at IS NULL AND s.status IN ('PROCESSED', 'FAILED')
      AND s.field_count IS NOT NULL AND s.fields_filled IS NOT NULL);
UPDATE run_rollups SET field_reports = (
    SELECT COUNT(*) FROM run_snapshots s
    WHERE s.tenant = run_rollups.tenant AND s.at >= run_rollups.bucket AND s.at < run_rollups.bucket + 3600000
      AND s.deleted_at IS NULL AND s.status IN ('PROCESSED', 'FAILED')
      AND s.field_count IS NOT NULL AND s.fields_filled IS NOT NULL);
UPDATE run_rollups_daily SET field_reports = (
    SELECT COUNT(*) FROM run_snapshots s
    WHERE s.tenant = run_rollups_daily.tenant AND s.at >= run_rollups_daily.bucket AND s.at < run_rollups_daily.bucket + 86400000
      AND s.deleted_at IS NULL AND s.status IN ('PROCESSED', 'FAILED')
      AND s.field_count IS NOT NULL AND s.fields_filled IS NOT NULL);

-- +goose Down
ALTER TABLE run_rollups_daily DROP COLUMN field_reports;
ALTER TABLE run_rollups DROP COLUMN field_reports;
ALTER TABLE run_rollups_minute DROP COLUMN field_reports;
