#pragma once
// CachedOnlineStore: an in-process read-through cache in front of another
// OnlineStore. Records are kept decoded, so a hit copies values out and
// decodes nothing; misses (NOT_FOUND included) are fetched from the inner
// store in one Read and remembered. Write goes to the inner store first and
// then updates cached entries by the same "never replace a newer event"
// rule; DeleteView drops the view's entries.
//
// Coherent when this process is the inner store's only writer (true of
// RocksDB, which is locked to one process), or when the inner store is a
// read-only RocksDB follower whose Refresh() reports new data (the cache is
// then emptied); in front of a Redis shared with other writers it would
// serve stale values, so OpenOnlineStore does not put it there.
//
// Ownership: owns the inner store. Thread safety: thread-safe; entries live
// in independent shards, each behind its own reader-writer lock, so readers
// of different shards never contend and readers of one shard share it.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "features/online_store.h"

namespace kiln::features {

class CachedOnlineStore : public OnlineStore {
 public:
  struct Options {
    size_t max_entries = 1'000'000;        // over all shards
    size_t max_bytes = size_t{256} << 20;  // approximate, over all shards
    size_t shards = 16;                    // rounded up to a power of two
  };

  CachedOnlineStore(std::unique_ptr<OnlineStore> inner, const Options& options);
  ~CachedOnlineStore() override;

  Status Write(const ViewKey& view, std::span<const std::string> entity_keys,
               std::span<const OnlineRecord> records) override;
  Status Read(const ViewKey& view, std::span<const data::Type> types,
              std::span<const std::string> entity_keys,
              std::vector<std::optional<OnlineRecord>>* out) override;
  // Hits assign into the engaged elements of *out: with `out` kept between
  // calls, a lookup that hits allocates nothing.
  Status ReadInto(const ViewKey& view, std::span<const data::Type> types,
                  std::span<const std::string> entity_keys,
                  std::vector<std::optional<OnlineRecord>>* out) override;
  Status DeleteView(std::string_view view) override;
  // Refreshes the inner store; when it brought new data (a follower caught
  // up with its writer), every entry is dropped, so the cache stays
  // coherent in front of a follower too.
  Result<bool> Refresh() override;
  // The inner store's description: the cache is not another store, and
  // materialization records (and a read-only follower of the same store in
  // kiln serve) are keyed by it.
  std::string Describe() const override;

  // Entries held now (found and not-found ones), over all shards.
  size_t EntryCount() const;

 private:
  struct Shard;
  struct Miss;

  Shard& ShardFor(size_t hash) const;
  // Inserts a fetched result unless the shard changed since the miss.
  void Remember(Shard& shard, uint64_t epoch_at_miss, const std::string& key, size_t hash,
                const std::optional<OnlineRecord>& record);
  // REQUIRES: shard.mutex held exclusively.
  void EvictWhileOver(Shard& shard, size_t incoming_bytes);

  const std::unique_ptr<OnlineStore> inner_;
  size_t shard_count_;
  size_t max_entries_per_shard_;
  size_t max_bytes_per_shard_;
  std::unique_ptr<Shard[]> shards_;
  // Writers go one at a time so the cache applies writes in the same order
  // as the inner store (equal event_micros: the last write wins in both).
  std::mutex write_mutex_;
};

}  // namespace kiln::features
