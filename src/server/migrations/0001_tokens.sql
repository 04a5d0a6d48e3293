-- API tokens for bearer authentication (format described in docs/formats/tokens.md).
-- Dialect-neutral SQL: runs unchanged on SQLite and PostgreSQL.

CREATE TABLE api_tokens (
  token_id TEXT PRIMARY KEY,            -- 16 lower-case hex characters, shown in listings
  secret_sha256 TEXT NOT NULL UNIQUE,   -- SHA-256 hex of the whole secret; the secret itself is never stored
  role TEXT NOT NULL,                   -- 'reader' | 'writer' | 'admin'
  description TEXT NOT NULL,
  created_time BIGINT NOT NULL,         -- milliseconds since the Unix epoch
  last_used_time BIGINT,                -- NULL until first used; updated at most once a minute
  revoked_time BIGINT                   -- NULL while the token is valid
);
