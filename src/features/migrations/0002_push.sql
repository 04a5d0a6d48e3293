-- Rows pushed to push sources for the offline store, and the training sets
-- built (format described in docs/formats/quarantine.md).
-- Dialect-neutral SQL: runs unchanged on SQLite and PostgreSQL.

-- One row per pushed row (push target offline or online_and_offline). Read
-- by source_reader.h on top of the push source's batch source. id is
-- allocated as MAX(id) + 1 inside the inserting (serialized) transaction.
CREATE TABLE feature_pushed_rows (
  id BIGINT PRIMARY KEY,
  project TEXT NOT NULL,
  source TEXT NOT NULL,          -- the push source
  event_micros BIGINT NOT NULL,  -- the row's event timestamp, µs UTC
  created_micros BIGINT,         -- its created timestamp when the source has one
  row_json TEXT NOT NULL,        -- {"column": value, ...}: the source's columns
  pushed_at BIGINT NOT NULL      -- milliseconds since the Unix epoch
);
CREATE INDEX feature_pushed_rows_by_source ON feature_pushed_rows (project, source, event_micros);

-- One row per (project, digest, name): a training set stored in the
-- artifact store at feature-sets/<project>/<digest>.csv.
CREATE TABLE feature_training_sets (
  digest TEXT NOT NULL,              -- SHA-256 hex of the CSV bytes
  project TEXT NOT NULL,
  name TEXT NOT NULL,                -- dataset name (default: the service)
  service TEXT NOT NULL,             -- '' when built from a feature list
  service_version BIGINT NOT NULL,   -- 0 when built from a feature list
  repository_version BIGINT NOT NULL,
  row_count BIGINT NOT NULL,
  columns_json TEXT NOT NULL,        -- [{"name": ..., "type": ...}, ...]
  created_at BIGINT NOT NULL,        -- milliseconds since the Unix epoch
  PRIMARY KEY (project, digest, name)
);
