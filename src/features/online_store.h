#pragma once
// OnlineStore: the latest feature values per entity, for serving. Embedded
// RocksDB in the data directory by default (rocksdb_online_store.h), Redis
// for shared deployments (redis_online_store.h), optionally fronted by an
// in-process cache (cached_online_store.h). Implementations are thread-safe.
// Key and value encodings: docs/formats/online-store.md (format_version 1).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/value.h"

namespace kiln::features {

// Version of the key and value encodings below (docs/formats/online-store.md).
inline constexpr int kOnlineStoreFormatVersion = 1;

// One feature view's values for one entity.
struct OnlineRecord {
  int64_t event_micros = 0;         // event time of the newest row it reflects
  int64_t written_micros = 0;       // when it was written
  std::vector<data::Value> values;  // in the view's feature order
};

// Identifies where a view's records live: the view name plus a fingerprint
// of its feature names and types, so a changed definition never reads
// records written for another one (it reads NOT_FOUND until materialized).
struct ViewKey {
  std::string view;
  uint64_t fingerprint = 0;
};

class OnlineStore {
 public:
  virtual ~OnlineStore() = default;

  // Upserts, one record per entity key (EncodeEntityKey). A record never
  // replaces a stored one with a newer event_micros, so a late backfill
  // cannot clobber a fresher push (an equal event_micros does replace).
  // REQUIRES: keys.size() == records.size().
  virtual Status Write(const ViewKey& view, std::span<const std::string> entity_keys,
                       std::span<const OnlineRecord> records) = 0;
  // out->at(i) is the record of keys[i] or nullopt. `types` are the view's
  // feature types in order (the decoder needs them).
  virtual Status Read(const ViewKey& view, std::span<const data::Type> types,
                      std::span<const std::string> entity_keys,
                      std::vector<std::optional<OnlineRecord>>* out) = 0;
  // Read for the serving hot path: the same result, but the storage already
  // in *out is reused (a found record is assigned into an engaged element),
  // so a caller that keeps `out` between calls allocates nothing in steady
  // state on a store that supports it (CachedOnlineStore). The default
  // calls Read.
  virtual Status ReadInto(const ViewKey& view, std::span<const data::Type> types,
                          std::span<const std::string> entity_keys,
                          std::vector<std::optional<OnlineRecord>>* out) {
    return Read(view, types, entity_keys, out);
  }
  // Removes every record of the view (all fingerprints).
  virtual Status DeleteView(std::string_view view) = 0;
  // Catches up with writes another process made (a RocksDB follower opened
  // by the prediction server next to a running `kiln server`); a no-op for
  // stores that always read the latest data. True when new data arrived.
  // Thread-safe with reads.
  virtual Result<bool> Refresh() { return false; }
  // "rocksdb:/path" or "redis://127.0.0.1:6379/0".
  virtual std::string Describe() const = 0;
};

// "" or "rocksdb" → RocksDB under data_dir/online; "rocksdb:/abs/path";
// "redis://host:port[/db]". RocksDB is fronted by a CachedOnlineStore (it is
// locked to this process, so the cache is coherent); Redis is not (other
// replicas write it). Errors: "cannot open the online store at …: it is
// locked by another kiln process (is a server running? use --server)",
// "cannot reach Redis at 127.0.0.1:6390: Connection refused", "unknown
// online store 'mongo://x' (use rocksdb or redis://host:port)".
Result<std::unique_ptr<OnlineStore>> OpenOnlineStore(const std::string& uri, const std::string& data_dir);

// Deterministic binary encoding of an entity key's values (join-key order).
// -0.0 is written as +0.0 and every NaN as one quiet NaN, so equal keys
// always encode equally.
std::string EncodeEntityKey(std::span<const data::Value> key_values);
// Record encoding shared by every backend.
std::string EncodeOnlineRecord(const OnlineRecord& record);
// Error (INTERNAL) on a truncated record, a value count or type that differs
// from `types`, or an unknown format version.
Result<OnlineRecord> DecodeOnlineRecord(std::string_view bytes, std::span<const data::Type> types);
// The event_micros of an encoded record without decoding its values;
// nullopt when `bytes` is not a format_version 1 record.
std::optional<int64_t> EncodedRecordEventMicros(std::string_view bytes);
// Fingerprint of feature names and types (stable across processes).
uint64_t ViewFingerprint(std::span<const std::string> names, std::span<const data::Type> types);
// The fingerprint as 16 lower-case hex digits (used in Redis keys).
std::string FingerprintHex(uint64_t fingerprint);

}  // namespace kiln::features
