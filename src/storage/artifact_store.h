#pragma once
// The content-addressed artifact store. File contents live once per SHA-256
// digest under <root>/objects/<aa>/<rest-of-digest> (read-only, fsynced,
// moved into place by rename so no torn object is ever visible); the logical
// tree (path -> digest, size, modified time, with explicit directory rows)
// lives in the metadata store (table artifact_entries, migration
// storage/0001). Contents stream in from and out to files; nothing holds a
// whole artifact in memory. Format: docs/formats/artifact-store.md.
//
// Thread safety: ArtifactStore is thread-safe, also across processes sharing
// the same database and root directory: every change to the tree and every
// removal of an object happens inside a transaction that first updates the
// single row of artifact_tree_lock, which serializes them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "storage/database.h"

namespace kiln::storage {

// One entry of the logical tree.
struct ArtifactInfo {
  std::string path;  // logical path, relative to the artifact root
  bool is_dir = false;
  int64_t size_bytes = 0;  // 0 for directories
  std::string digest;      // lower-case SHA-256 hex of the contents; "" for directories
  int64_t modified_millis = 0;
};

// What CollectGarbage removed.
struct GarbageReport {
  int64_t objects_removed = 0;
  int64_t bytes_removed = 0;
  int64_t temp_files_removed = 0;
};

// Artifact paths are relative and '/'-separated: not empty, at most
// kMaxArtifactPathBytes bytes, valid UTF-8, no leading '/', no empty, '.' or
// '..' segments, no segment over kMaxArtifactSegmentBytes, no backslashes, no
// NUL or other control characters. Errors: kInvalidArgument
// "invalid artifact path '<path>': <the rule it breaks>".
inline constexpr size_t kMaxArtifactPathBytes = 1024;
inline constexpr size_t kMaxArtifactSegmentBytes = 255;
Status ValidateArtifactPath(std::string_view path);

class ArtifactStore {
 public:
  // Version of the on-disk layout and table (docs/formats/artifact-store.md).
  static constexpr int kFormatVersion = 1;

  // `database` must outlive the store and be migrated with
  // kiln::storage::Migrations(). Directories under `root_directory` are
  // created on first use.
  ArtifactStore(Database& database, std::string root_directory, Clock& clock);
  ArtifactStore(const ArtifactStore&) = delete;
  ArtifactStore& operator=(const ArtifactStore&) = delete;

  // Stores the contents of `temp_file` at `path`, replacing a file already
  // there. Hashes the file while streaming it, fsyncs it, then renames it into
  // objects/ (or deletes it when that object already exists) and records the
  // path; falls back to copy + fsync + rename when the file is on another
  // filesystem. On success `temp_file` is gone; on failure the caller still
  // owns it. Errors: kInvalidArgument (bad path, not a regular file),
  // kFailedPrecondition (`path` is a directory, or one of its parents is a
  // file), kNotFound (no `temp_file`), kInternal (I/O).
  Result<ArtifactInfo> PutFile(std::string_view path, const std::string& temp_file);
  // Same for small in-memory content (staged through <root>/tmp).
  Result<ArtifactInfo> PutBytes(std::string_view path, std::string_view data);

  // The object file holding `path`'s contents, for streaming it out. The file
  // is read-only and must not be modified. Errors: kInvalidArgument (bad path
  // or a directory), kNotFound.
  Result<std::string> ObjectPath(std::string_view path);

  // Immediate children of `directory` ("" is the root; a trailing '/' is
  // accepted), sorted by path. A missing directory or a file lists as empty,
  // as in MLflow. Errors: kInvalidArgument for a bad path.
  Result<std::vector<ArtifactInfo>> List(std::string_view directory);

  // The entry at `path`. Errors: kInvalidArgument, kNotFound.
  Result<ArtifactInfo> Stat(std::string_view path);

  // Removes a file, or a directory with everything under it. Objects no
  // longer referenced by any entry are removed right after the commit (under
  // the tree lock, so a concurrent put of the same content cannot lose it).
  // Errors: kInvalidArgument, kNotFound.
  Status Delete(std::string_view path);

  // Sweeps objects/ for objects no entry references (left by a crash or a
  // failed commit between moving an object in and recording it) and removes
  // files older than an hour from <root>/tmp. Holds the tree lock while it
  // scans, so writers wait; run it from maintenance, not per request.
  Result<GarbageReport> CollectGarbage();

  // <root>/tmp: where PutBytes stages content. A server should stream upload
  // bodies into a directory on the same filesystem so PutFile can rename.
  std::string temp_directory() const;
  const std::string& root_directory() const { return root_; }

 private:
  std::string ObjectFile(const std::string& digest) const;
  // Removes the objects among `digests` that no entry references.
  Status RemoveUnreferenced(const std::vector<std::string>& digests);

  Database& database_;
  const std::string root_;
  Clock& clock_;
};

}  // namespace kiln::storage
