#include "features/cached_online_store.h"

#include <bit>
#include <functional>
#include <shared_mutex>
#include <unordered_map>

namespace kiln::features {
namespace {

// A key looked up by its bytes and precomputed hash, so a lookup builds no
// std::string and hashes once.
struct KeyRef {
  std::string_view text;
  size_t hash;
};

size_t HashBytes(std::string_view text) { return std::hash<std::string_view>()(text); }

struct KeyHash {
  using is_transparent = void;
  size_t operator()(const std::string& key) const { return HashBytes(key); }
  size_t operator()(const KeyRef& key) const { return key.hash; }
};

struct KeyEqual {
  using is_transparent = void;
  bool operator()(const std::string& a, const std::string& b) const { return a == b; }
  bool operator()(const KeyRef& a, const std::string& b) const { return a.text == b; }
  bool operator()(const std::string& a, const KeyRef& b) const { return a == b.text; }
};

// The cache key: view, '\0', fingerprint (8 bytes), entity key — the same
// bytes as a RocksDB key, so one view's entries share a prefix.
void BuildKey(const ViewKey& view, std::string_view entity_key, std::string* key) {
  key->clear();
  key->append(view.view);
  key->push_back('\0');
  char fingerprint[8];
  for (int i = 0; i < 8; ++i) fingerprint[i] = static_cast<char>(view.fingerprint >> (56 - 8 * i));
  key->append(fingerprint, 8);
  key->append(entity_key);
}

// Approximate heap bytes an entry holds (node, key, values, long strings).
size_t Charge(const std::string& key, const std::optional<OnlineRecord>& record) {
  size_t bytes = 96 + key.capacity();
  if (record) {
    bytes += record->values.capacity() * sizeof(data::Value);
    for (const data::Value& value : record->values) {
      if (value.s.capacity() > 15) bytes += value.s.capacity();
    }
  }
  return bytes;
}

void CopyInto(const std::optional<OnlineRecord>& from, std::optional<OnlineRecord>* to) {
  if (!from) {
    to->reset();
    return;
  }
  if (!to->has_value()) to->emplace();
  OnlineRecord& record = **to;
  record.event_micros = from->event_micros;
  record.written_micros = from->written_micros;
  // Field by field, so a value without text skips std::string's
  // out-of-line assignment; capacity already in `to` is reused.
  record.values.resize(from->values.size());
  for (size_t i = 0; i < from->values.size(); ++i) {
    const data::Value& source = from->values[i];
    data::Value& target = record.values[i];
    target.type = source.type;
    target.null = source.null;
    target.i = source.i;
    target.f = source.f;
    if (source.s.empty()) {
      target.s.clear();
    } else {
      target.s = source.s;
    }
  }
}

}  // namespace

struct CachedOnlineStore::Shard {
  struct Entry {
    std::optional<OnlineRecord> record;  // nullopt: the inner store has none
    size_t charge = 0;
  };
  alignas(64) mutable std::shared_mutex mutex;
  std::unordered_map<std::string, Entry, KeyHash, KeyEqual> entries;
  size_t bytes = 0;
  uint64_t epoch = 0;       // bumped by every write or delete touching the shard
  size_t evict_cursor = 0;  // next bucket to evict from
};

struct CachedOnlineStore::Miss {
  size_t index;
  uint64_t epoch;
  size_t hash;
};

CachedOnlineStore::CachedOnlineStore(std::unique_ptr<OnlineStore> inner, const Options& options)
    : inner_(std::move(inner)),
      shard_count_(std::bit_ceil(std::max<size_t>(1, options.shards))),
      max_entries_per_shard_(std::max<size_t>(1, options.max_entries / shard_count_)),
      max_bytes_per_shard_(std::max<size_t>(1, options.max_bytes / shard_count_)),
      shards_(new Shard[shard_count_]) {}

CachedOnlineStore::~CachedOnlineStore() = default;

std::string CachedOnlineStore::Describe() const { return inner_->Describe(); }

Result<bool> CachedOnlineStore::Refresh() {
  KILN_ASSIGN_OR_RETURN(bool changed, inner_->Refresh());
  if (!changed) return false;
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    std::unique_lock lock(shard.mutex);
    shard.entries.clear();
    shard.bytes = 0;
    ++shard.epoch;  // misses in flight read the old data: they must not be remembered
  }
  return true;
}

CachedOnlineStore::Shard& CachedOnlineStore::ShardFor(size_t hash) const {
  // Fibonacci hashing: the top bits pick the shard, the map uses the rest.
  int bits = std::countr_zero(shard_count_);
  if (bits == 0) return shards_[0];
  uint64_t mixed = static_cast<uint64_t>(hash) * 0x9E3779B97F4A7C15ULL;
  return shards_[mixed >> (64 - bits)];
}

size_t CachedOnlineStore::EntryCount() const {
  size_t count = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    std::shared_lock<std::shared_mutex> lock(shards_[i].mutex);
    count += shards_[i].entries.size();
  }
  return count;
}

Status CachedOnlineStore::Read(const ViewKey& view, std::span<const data::Type> types,
                               std::span<const std::string> entity_keys,
                               std::vector<std::optional<OnlineRecord>>* out) {
  return ReadInto(view, types, entity_keys, out);
}

Status CachedOnlineStore::ReadInto(const ViewKey& view, std::span<const data::Type> types,
                                   std::span<const std::string> entity_keys,
                                   std::vector<std::optional<OnlineRecord>>* out) {
  thread_local std::string key;
  thread_local std::vector<Miss> misses;
  const size_t n = entity_keys.size();
  out->resize(n);
  misses.clear();
  for (size_t i = 0; i < n; ++i) {
    BuildKey(view, entity_keys[i], &key);
    size_t hash = HashBytes(key);
    Shard& shard = ShardFor(hash);
    std::shared_lock<std::shared_mutex> lock(shard.mutex);
    auto it = shard.entries.find(KeyRef{key, hash});
    if (it != shard.entries.end()) {
      CopyInto(it->second.record, &(*out)[i]);
    } else {
      misses.push_back(Miss{i, shard.epoch, hash});
    }
  }
  if (misses.empty()) return Status::Ok();

  // Misses: one Read of the inner store, then remember each answer.
  std::vector<Miss> pending(misses.begin(), misses.end());
  std::vector<std::string> miss_keys;
  miss_keys.reserve(pending.size());
  for (const Miss& miss : pending) miss_keys.push_back(entity_keys[miss.index]);
  std::vector<std::optional<OnlineRecord>> fetched;
  KILN_RETURN_IF_ERROR(inner_->Read(view, types, miss_keys, &fetched));
  for (size_t m = 0; m < pending.size(); ++m) {
    const Miss& miss = pending[m];
    BuildKey(view, miss_keys[m], &key);
    Remember(ShardFor(miss.hash), miss.epoch, key, miss.hash, fetched[m]);
    CopyInto(fetched[m], &(*out)[miss.index]);
  }
  return Status::Ok();
}

void CachedOnlineStore::Remember(Shard& shard, uint64_t epoch_at_miss, const std::string& key, size_t hash,
                                 const std::optional<OnlineRecord>& record) {
  size_t charge = Charge(key, record);
  if (charge > max_bytes_per_shard_) return;
  std::unique_lock<std::shared_mutex> lock(shard.mutex);
  // A write or delete since the miss may have made `record` stale.
  if (shard.epoch != epoch_at_miss) return;
  if (shard.entries.find(KeyRef{key, hash}) != shard.entries.end()) return;
  EvictWhileOver(shard, charge);
  shard.entries.emplace(key, Shard::Entry{record, charge});
  shard.bytes += charge;
}

void CachedOnlineStore::EvictWhileOver(Shard& shard, size_t incoming_bytes) {
  // Evicts from the next non-empty bucket after a moving cursor: cheap, and
  // in effect random among the shard's entries.
  while (!shard.entries.empty() && (shard.entries.size() + 1 > max_entries_per_shard_ ||
                                    shard.bytes + incoming_bytes > max_bytes_per_shard_)) {
    size_t buckets = shard.entries.bucket_count();
    size_t bucket = shard.evict_cursor % buckets;
    while (shard.entries.bucket_size(bucket) == 0) bucket = (bucket + 1) % buckets;
    shard.evict_cursor = bucket + 1;
    auto victim = shard.entries.find(shard.entries.begin(bucket)->first);
    shard.bytes -= victim->second.charge;
    shard.entries.erase(victim);
  }
}

Status CachedOnlineStore::Write(const ViewKey& view, std::span<const std::string> entity_keys,
                                std::span<const OnlineRecord> records) {
  std::lock_guard<std::mutex> write_lock(write_mutex_);
  Status written = inner_->Write(view, entity_keys, records);
  std::string key;
  for (size_t i = 0; i < entity_keys.size(); ++i) {
    BuildKey(view, entity_keys[i], &key);
    size_t hash = HashBytes(key);
    Shard& shard = ShardFor(hash);
    std::unique_lock<std::shared_mutex> lock(shard.mutex);
    ++shard.epoch;
    auto it = shard.entries.find(KeyRef{key, hash});
    if (it == shard.entries.end()) continue;  // not cached: the next read fetches it
    Shard::Entry& entry = it->second;
    if (!written.ok()) {
      // The inner store may hold the old or the new record: forget it.
      shard.bytes -= entry.charge;
      shard.entries.erase(it);
      continue;
    }
    if (i >= records.size()) break;
    if (entry.record && entry.record->event_micros > records[i].event_micros) continue;
    shard.bytes -= entry.charge;
    entry.record = records[i];
    entry.charge = Charge(key, entry.record);
    shard.bytes += entry.charge;
    if (shard.bytes > max_bytes_per_shard_) {
      shard.bytes -= entry.charge;
      shard.entries.erase(it);
      EvictWhileOver(shard, 0);
    }
  }
  return written;
}

Status CachedOnlineStore::DeleteView(std::string_view view) {
  std::lock_guard<std::mutex> write_lock(write_mutex_);
  Status deleted = inner_->DeleteView(view);
  std::string prefix(view);
  prefix.push_back('\0');
  for (size_t s = 0; s < shard_count_; ++s) {
    Shard& shard = shards_[s];
    std::unique_lock<std::shared_mutex> lock(shard.mutex);
    ++shard.epoch;
    for (auto it = shard.entries.begin(); it != shard.entries.end();) {
      if (it->first.starts_with(prefix)) {
        shard.bytes -= it->second.charge;
        it = shard.entries.erase(it);
      } else {
        ++it;
      }
    }
  }
  return deleted;
}

}  // namespace kiln::features
