-- Serving tables: the SQL prediction log (docs/formats/prediction-log.md)
-- and outcomes, labels and business events (docs/formats/outcomes.md), both
-- format_version 1. Dialect-neutral SQL: runs unchanged on SQLite and PostgreSQL.

-- One row per logged prediction, written by the prediction log's writer
-- thread in batches. Timestamps are µs since the Unix epoch (UTC). The
-- *_json columns hold JSON objects: entity keys and request fields as sent,
-- and the features as used, {"name": number|null} in the model's order.
CREATE TABLE predictions (
  id TEXT PRIMARY KEY,                    -- "pred-…": labels refer to it
  timestamp_micros BIGINT NOT NULL,       -- when served (the as-of time in replays)
  model TEXT NOT NULL,                    -- registered model name
  version BIGINT NOT NULL,                -- registry version
  alias TEXT NOT NULL,                    -- '' when reached by version
  experiment TEXT NOT NULL,               -- '' when none
  arm TEXT NOT NULL,                      -- '' when none
  unit_id TEXT NOT NULL,                  -- '' when not given
  entity_json TEXT NOT NULL,
  request_json TEXT NOT NULL,
  features_json TEXT NOT NULL,
  features_as_of_micros BIGINT NOT NULL,  -- online store materialization point, 0 = unknown
  prediction DOUBLE PRECISION             -- NULL: NaN
);
CREATE INDEX predictions_by_model ON predictions (model, version, timestamp_micros);

-- Runs of predictions the log's bounded queue had to drop: how many, and
-- the earliest and latest timestamps among them.
CREATE TABLE prediction_log_drops (
  dropped BIGINT NOT NULL,
  first_micros BIGINT NOT NULL,
  last_micros BIGINT NOT NULL
);
CREATE INDEX prediction_log_drops_by_time ON prediction_log_drops (first_micros);

-- Ground-truth labels of logged predictions, idempotent on label_id.
CREATE TABLE prediction_labels (
  label_id TEXT PRIMARY KEY,          -- the client's idempotency key
  prediction_id TEXT NOT NULL,        -- not checked against the prediction log
  value DOUBLE PRECISION NOT NULL,
  timestamp_micros BIGINT NOT NULL,   -- when the outcome became known
  created_at BIGINT NOT NULL          -- when recorded, ms since the Unix epoch
);
CREATE INDEX prediction_labels_by_prediction ON prediction_labels (prediction_id);

-- Business events of units (a conversion, a claim), idempotent on event_id.
CREATE TABLE business_events (
  event_id TEXT PRIMARY KEY,          -- the client's idempotency key
  unit_id TEXT NOT NULL,
  name TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  timestamp_micros BIGINT NOT NULL,   -- when the event happened
  properties_json TEXT NOT NULL,      -- a JSON object, {} when none
  created_at BIGINT NOT NULL          -- when recorded, ms since the Unix epoch
);
CREATE INDEX business_events_by_unit ON business_events (unit_id, timestamp_micros);
CREATE INDEX business_events_by_name ON business_events (name, timestamp_micros);
