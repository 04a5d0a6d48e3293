-- Tracking and model registry tables (format described in docs/formats/metadata-store.md).
-- Dialect-neutral SQL: runs unchanged on SQLite and PostgreSQL.

CREATE TABLE experiments (
  experiment_id BIGINT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  artifact_location TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL,
  creation_time BIGINT NOT NULL,
  last_update_time BIGINT NOT NULL
);

CREATE TABLE experiment_tags (
  experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (experiment_id, key)
);

CREATE TABLE runs (
  run_uuid TEXT PRIMARY KEY,
  experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),
  run_name TEXT NOT NULL,
  user_id TEXT NOT NULL,
  status TEXT NOT NULL,
  start_time BIGINT NOT NULL,
  end_time BIGINT,
  lifecycle_stage TEXT NOT NULL,
  artifact_uri TEXT NOT NULL,
  deleted_time BIGINT
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time);

CREATE TABLE params (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_uuid, key)
);
CREATE INDEX params_by_key ON params (key, value);

CREATE TABLE tags (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_uuid, key)
);
CREATE INDEX tags_by_key ON tags (key, value);

-- Every logged point. NaN is stored as value 0 with is_nan = 1 (SQLite turns
-- NaN into NULL); +-Infinity are stored as themselves.
CREATE TABLE metrics (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid),
  key TEXT NOT NULL,
  step BIGINT NOT NULL,
  timestamp_ms BIGINT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  is_nan INTEGER NOT NULL,
  PRIMARY KEY (run_uuid, key, step, timestamp_ms, value, is_nan)
);

-- The latest point per (run, key) by MLflow's rule: greatest (step, timestamp, value).
CREATE TABLE latest_metrics (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid),
  key TEXT NOT NULL,
  step BIGINT NOT NULL,
  timestamp_ms BIGINT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  is_nan INTEGER NOT NULL,
  PRIMARY KEY (run_uuid, key)
);
CREATE INDEX latest_metrics_by_key ON latest_metrics (key, value);

CREATE TABLE datasets (
  dataset_uuid TEXT PRIMARY KEY,
  experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),
  name TEXT NOT NULL,
  digest TEXT NOT NULL,
  source_type TEXT NOT NULL,
  source TEXT NOT NULL,
  schema TEXT,
  profile TEXT,
  UNIQUE (experiment_id, name, digest)
);

CREATE TABLE inputs (
  input_uuid TEXT PRIMARY KEY,
  source_type TEXT NOT NULL,
  source_id TEXT NOT NULL,
  destination_type TEXT NOT NULL,
  destination_id TEXT NOT NULL,
  UNIQUE (source_type, source_id, destination_type, destination_id)
);
CREATE INDEX inputs_by_destination ON inputs (destination_id);

CREATE TABLE input_tags (
  input_uuid TEXT NOT NULL REFERENCES inputs(input_uuid),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (input_uuid, key)
);

CREATE TABLE registered_models (
  name TEXT PRIMARY KEY,
  creation_time BIGINT NOT NULL,
  last_updated_time BIGINT NOT NULL,
  description TEXT
);

CREATE TABLE registered_model_tags (
  name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (name, key)
);

CREATE TABLE model_versions (
  name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE,
  version BIGINT NOT NULL,
  creation_time BIGINT NOT NULL,
  last_updated_time BIGINT NOT NULL,
  description TEXT,
  user_id TEXT,
  current_stage TEXT NOT NULL,
  source TEXT NOT NULL,
  run_id TEXT,
  run_link TEXT,
  status TEXT NOT NULL,
  status_message TEXT,
  storage_location TEXT,
  PRIMARY KEY (name, version)
);

CREATE TABLE model_version_tags (
  name TEXT NOT NULL,
  version BIGINT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (name, version, key),
  FOREIGN KEY (name, version) REFERENCES model_versions(name, version) ON UPDATE CASCADE
);

CREATE TABLE registered_model_aliases (
  name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE,
  alias TEXT NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (name, alias)
);

INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', 0, 0);
