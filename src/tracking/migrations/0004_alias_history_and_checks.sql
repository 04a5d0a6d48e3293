-- Model registry guardrails (issue 4): the history of alias moves, promotion
-- records with their checks, and the run each registered version came from
-- (for iteration statistics). Format: docs/formats/model-registry.md.
-- Dialect-neutral SQL: runs unchanged on SQLite and PostgreSQL.
--
-- This module has no migration 0002 (numbers need only increase); a store at
-- schema 3 applies this file next.
--
-- Every table hangs off registered_models by name with ON UPDATE CASCADE, so
-- a rename carries the rows to the new name; deleting a model deletes them.
-- ids are allocated as MAX(id) + 1 inside the inserting (serialized)
-- transaction, so they increase in commit order.

-- One row per move of an alias: set (from_version NULL), moved, deleted
-- (to_version NULL), or carried over by a rename (from_version = to_version).
CREATE TABLE registered_model_alias_history (
  id BIGINT PRIMARY KEY,
  name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE,
  alias TEXT NOT NULL,
  from_version BIGINT,        -- NULL: the alias did not exist before
  to_version BIGINT,          -- NULL: the alias was deleted
  actor TEXT,                 -- who moved it, when known
  timestamp_ms BIGINT NOT NULL,
  reason TEXT                 -- e.g. 'promotion', 'mlflow api', 'version deleted'
);
CREATE INDEX registered_model_alias_history_by_alias ON registered_model_alias_history (name, alias, id);
CREATE INDEX registered_model_alias_history_by_target
  ON registered_model_alias_history (alias, name, to_version, timestamp_ms);

-- One row per promotion attempt (accepted or refused).
CREATE TABLE model_promotions (
  id BIGINT PRIMARY KEY,
  name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE,
  candidate_version BIGINT NOT NULL,
  alias TEXT NOT NULL,
  previous_version BIGINT,    -- where the alias pointed when the promotion was recorded; NULL: nowhere
  accepted INTEGER NOT NULL,  -- 1: every check passed (the alias now points at the candidate)
  actor TEXT NOT NULL,        -- '' when unknown
  timestamp_ms BIGINT NOT NULL
);
CREATE INDEX model_promotions_by_version ON model_promotions (name, candidate_version, id);

-- The checks of a promotion, in the order they were given.
CREATE TABLE model_promotion_checks (
  promotion_id BIGINT NOT NULL REFERENCES model_promotions(id),
  ordinal INTEGER NOT NULL,
  check_name TEXT NOT NULL,
  passed INTEGER NOT NULL,
  detail TEXT NOT NULL,
  observed DOUBLE PRECISION,   -- NULL: not applicable (NaN in the API)
  threshold DOUBLE PRECISION,  -- NULL: not applicable (NaN in the API)
  PRIMARY KEY (promotion_id, ordinal)
);

-- The run behind each version registered from a run, captured at
-- registration. Kept when the version is deleted, so lead times and
-- iteration counts do not change after the fact.
CREATE TABLE model_version_lineage (
  name TEXT NOT NULL REFERENCES registered_models(name) ON UPDATE CASCADE,
  version BIGINT NOT NULL,
  run_id TEXT NOT NULL,
  experiment_id BIGINT NOT NULL,   -- the run's project
  run_start_time BIGINT NOT NULL,  -- runs.start_time at registration
  registered_time BIGINT NOT NULL, -- model_versions.creation_time
  PRIMARY KEY (name, version)
);
CREATE INDEX model_version_lineage_by_time ON model_version_lineage (registered_time);

INSERT INTO model_version_lineage (name, version, run_id, experiment_id, run_start_time, registered_time)
SELECT v.name, v.version, v.run_id, r.experiment_id, r.start_time, v.creation_time
FROM model_versions v JOIN runs r ON r.run_uuid = v.run_id;
