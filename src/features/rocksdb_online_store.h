#pragma once
// RocksDbOnlineStore: the embedded online store, one RocksDB database in a
// directory (by default <data-dir>/online), tuned for point reads (bloom
// filters, hashed data-block index, a block cache). The database is locked to
// one process: a second open fails with "cannot open the online store at …:
// it is locked by another kiln process (is a server running? use --server)".
// Layout: docs/formats/online-store.md.
//
// Ownership: owns the rocksdb::DB (closed by the destructor).
// Thread safety: thread-safe. Reads run in parallel; Write and DeleteView
// serialize on one mutex, which makes the read-compare-write of the "never
// replace a newer event" rule atomic (no other process can write the DB).

#include <memory>
#include <mutex>
#include <string>

#include "features/online_store.h"

namespace rocksdb {
class DB;
}

namespace kiln::features {

class RocksDbOnlineStore : public OnlineStore {
 public:
  struct Options {
    size_t block_cache_mb = 64;
    // false: a write survives a process crash (WAL) but the last writes may
    // be lost on a power failure; materialization can be re-run.
    bool sync_writes = false;
    // Open as a RocksDB secondary instance: read-only, no lock, so it can
    // run beside the process that owns the database; Refresh() catches up
    // with that process's writes. The database must exist.
    bool follower = false;
  };

  // Creates `directory` (and its parents) when missing.
  static Result<std::unique_ptr<RocksDbOnlineStore>> Open(const std::string& directory,
                                                          const Options& options);
  ~RocksDbOnlineStore() override;
  RocksDbOnlineStore(const RocksDbOnlineStore&) = delete;
  RocksDbOnlineStore& operator=(const RocksDbOnlineStore&) = delete;

  Status Write(const ViewKey& view, std::span<const std::string> entity_keys,
               std::span<const OnlineRecord> records) override;
  Status Read(const ViewKey& view, std::span<const data::Type> types,
              std::span<const std::string> entity_keys,
              std::vector<std::optional<OnlineRecord>>* out) override;
  Status DeleteView(std::string_view view) override;
  Result<bool> Refresh() override;
  // The same name for a follower: it is the same store (materialization
  // records are keyed by it).
  std::string Describe() const override { return "rocksdb:" + directory_; }

  // The database key of one record: view, '\0', fingerprint (8 bytes,
  // big-endian), encoded entity key.
  static std::string RecordKey(const ViewKey& view, std::string_view entity_key);

 private:
  RocksDbOnlineStore(std::string directory, const Options& options, std::unique_ptr<rocksdb::DB> db);

  const std::string directory_;
  std::string secondary_directory_;  // follower: RocksDB's private info-log folder, removed on close
  const Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::mutex write_mutex_;
};

}  // namespace kiln::features
