-- Feature store registry tables (format described in
-- docs/formats/feature-repository.md, "Stored form").
-- Dialect-neutral SQL: runs unchanged on SQLite and PostgreSQL.

-- One row per applied version of a project's feature repository. Versions
-- count from 1 per project; each is the canonical JSON of the validated
-- definitions (absolute paths, resolved source columns and feature types).
CREATE TABLE feature_repository_versions (
  project TEXT NOT NULL,
  version BIGINT NOT NULL,
  definition TEXT NOT NULL,   -- canonical JSON (format_version 1)
  digest TEXT NOT NULL,       -- SHA-256 hex of definition
  created_at BIGINT NOT NULL, -- milliseconds since the Unix epoch
  applied_by TEXT NOT NULL,
  PRIMARY KEY (project, version)
);

-- Versions of feature services: a new one whenever the service's resolved
-- feature list (names and types, in order) changes. Numbers count from 1 per
-- service and are never reused (rows are never deleted).
CREATE TABLE feature_service_versions (
  project TEXT NOT NULL,
  service TEXT NOT NULL,
  version BIGINT NOT NULL,
  features TEXT NOT NULL,              -- [{"name": "view.feature", "type": "float64"}, ...]
  repository_version BIGINT NOT NULL,  -- the repository version that created it
  created_at BIGINT NOT NULL,          -- milliseconds since the Unix epoch
  PRIMARY KEY (project, service, version)
);

-- One row per finished materialization of a feature view over
-- [start_micros, end_micros) (event time, µs UTC).
CREATE TABLE feature_materializations (
  project TEXT NOT NULL,
  view TEXT NOT NULL,
  start_micros BIGINT NOT NULL,
  end_micros BIGINT NOT NULL,
  rows_read BIGINT NOT NULL,
  rows_written BIGINT NOT NULL,
  rows_quarantined BIGINT NOT NULL,
  online_store TEXT NOT NULL,  -- OnlineStore::Describe()
  finished_at BIGINT NOT NULL  -- milliseconds since the Unix epoch
);
CREATE INDEX feature_materializations_by_view ON feature_materializations (project, view, end_micros);

-- Rows refused by expectations at materialization or push, with the reason.
-- id is allocated as MAX(id) + 1 inside the inserting (serialized) transaction.
CREATE TABLE feature_quarantine (
  id BIGINT PRIMARY KEY,
  project TEXT NOT NULL,
  view_or_source TEXT NOT NULL,
  origin TEXT NOT NULL CHECK (origin IN ('materialize', 'push')),
  reason TEXT NOT NULL,
  row_json TEXT NOT NULL,     -- {"column": value, ...}
  created_at BIGINT NOT NULL  -- milliseconds since the Unix epoch
);
CREATE INDEX feature_quarantine_by_object ON feature_quarantine (project, view_or_source, created_at);
