-- Model registry: the highest version number ever issued per registered model,
-- so a deleted version's number is never handed out again (MLflow keeps
-- deleted versions as tombstones for the same reason). Dialect-neutral SQL.

ALTER TABLE registered_models ADD COLUMN last_version BIGINT NOT NULL DEFAULT 0;

UPDATE registered_models
SET last_version = COALESCE(
  (SELECT MAX(version) FROM model_versions WHERE model_versions.name = registered_models.name), 0);

CREATE INDEX model_versions_by_run ON model_versions (run_id);
CREATE INDEX registered_model_aliases_by_version ON registered_model_aliases (name, version);
