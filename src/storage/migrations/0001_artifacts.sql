-- The logical tree of the content-addressed artifact store
-- (format described in docs/formats/artifact-store.md).
-- Dialect-neutral SQL: runs unchanged on SQLite and PostgreSQL.

-- One row per file or directory. Directories are explicit rows so that
-- listing a directory is an exact match on `parent`, never a prefix search.
CREATE TABLE artifact_entries (
  path TEXT PRIMARY KEY,         -- relative, '/'-separated logical path
  parent TEXT NOT NULL,          -- path of the containing directory; '' at the root
  is_dir INTEGER NOT NULL,       -- 1 for a directory, 0 for a file
  digest TEXT,                   -- SHA-256 hex of a file's contents; NULL for directories
  size_bytes BIGINT NOT NULL,    -- a file's size; 0 for directories
  modified_time BIGINT NOT NULL  -- milliseconds since the Unix epoch
);
CREATE INDEX artifact_entries_by_parent ON artifact_entries (parent);
CREATE INDEX artifact_entries_by_digest ON artifact_entries (digest);

-- A single row every transaction that changes the tree or removes objects
-- updates first, serializing them across threads and processes.
CREATE TABLE artifact_tree_lock (
  id INTEGER PRIMARY KEY,
  generation BIGINT NOT NULL
);
INSERT INTO artifact_tree_lock (id, generation) VALUES (1, 0);
