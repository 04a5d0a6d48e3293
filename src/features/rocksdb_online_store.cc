#include "features/rocksdb_online_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <filesystem>
#include <system_error>
#include <unordered_map>

#include <unistd.h>

namespace kiln::features {
namespace {

// The one place a rocksdb::Status becomes a kiln::Status.
Status FromRocksDb(const rocksdb::Status& status, const std::string& directory, std::string_view action) {
  if (status.ok()) return Status::Ok();
  std::string message =
      "online store rocksdb:" + directory + ": cannot " + std::string(action) + ": " + status.ToString();
  if (status.IsNotFound()) return NotFound(std::move(message));
  if (status.IsInvalidArgument()) return InvalidArgument(std::move(message));
  if (status.IsNotSupported()) return FailedPrecondition(std::move(message));
  if (status.IsBusy() || status.IsTimedOut() || status.IsTryAgain() || status.IsIOError()) {
    return Unavailable(std::move(message));
  }
  if (status.IsNoSpace()) return ResourceExhausted(std::move(message));
  return Internal(std::move(message));
}

// RocksDB reports a held LOCK file as an IOError naming it: "While lock file:
// <dir>/LOCK: Resource temporarily unavailable" (another process) or "lock
// hold by current process …: <dir>/LOCK: No locks available".
bool IsLockError(const rocksdb::Status& status) {
  return status.IsIOError() && status.ToString().find("/LOCK") != std::string::npos;
}

std::string ViewPrefix(std::string_view view) {
  std::string prefix(view);
  prefix.push_back('\0');
  return prefix;
}

}  // namespace

std::string RocksDbOnlineStore::RecordKey(const ViewKey& view, std::string_view entity_key) {
  std::string key;
  key.reserve(view.view.size() + 9 + entity_key.size());
  key.append(view.view);
  key.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((view.fingerprint >> shift) & 0xff));
  }
  key.append(entity_key);
  return key;
}

Result<std::unique_ptr<RocksDbOnlineStore>> RocksDbOnlineStore::Open(const std::string& directory,
                                                                     const Options& options) {
  std::error_code error;
  if (options.follower && !std::filesystem::exists(directory + "/CURRENT", error)) {
    return FailedPrecondition("no online store at " + directory + ": materialize features first");
  }
  if (!options.follower) std::filesystem::create_directories(directory, error);
  if (error) {
    return Unavailable("cannot create the online store directory " + directory + ": " + error.message());
  }

  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.IncreaseParallelism(2);
  db_options.max_open_files = 512;
  db_options.keep_log_file_num = 3;
  // Point reads: whole-key bloom filters (on disk and in the memtable), a
  // hash index inside each data block, and an LRU block cache.
  rocksdb::BlockBasedTableOptions table;
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  table.data_block_hash_table_util_ratio = 0.75;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_mb << 20);
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  db_options.memtable_prefix_bloom_size_ratio = 0.02;
  db_options.memtable_whole_key_filtering = true;

  rocksdb::DB* raw = nullptr;
  std::string secondary;
  rocksdb::Status status;
  if (options.follower) {
    // A secondary keeps its own info log; one private folder per process.
    db_options.max_open_files = -1;  // required by secondary instances
    db_options.create_if_missing = false;
    static std::atomic<uint64_t> counter{0};
    secondary = (std::filesystem::temp_directory_path() /
                 ("kiln-online-follower-" + std::to_string(::getpid()) + "-" + std::to_string(++counter)))
                    .string();
    status = rocksdb::DB::OpenAsSecondary(db_options, directory, secondary, &raw);
  } else {
    status = rocksdb::DB::Open(db_options, directory, &raw);
  }
  if (!status.ok()) {
    if (IsLockError(status)) {
      return FailedPrecondition("cannot open the online store at " + directory +
                                ": it is locked by another kiln process (is a server running? "
                                "use --server)");
    }
    return FromRocksDb(status, directory, "open the database");
  }
  auto store = std::unique_ptr<RocksDbOnlineStore>(
      new RocksDbOnlineStore(directory, options, std::unique_ptr<rocksdb::DB>(raw)));
  store->secondary_directory_ = std::move(secondary);
  return store;
}

Result<bool> RocksDbOnlineStore::Refresh() {
  if (!options_.follower) return false;
  const rocksdb::SequenceNumber before = db_->GetLatestSequenceNumber();
  rocksdb::Status status = db_->TryCatchUpWithPrimary();
  if (!status.ok()) return FromRocksDb(status, directory_, "catch up with the primary");
  return db_->GetLatestSequenceNumber() != before;
}

RocksDbOnlineStore::RocksDbOnlineStore(std::string directory, const Options& options,
                                       std::unique_ptr<rocksdb::DB> db)
    : directory_(std::move(directory)), options_(options), db_(std::move(db)) {}

RocksDbOnlineStore::~RocksDbOnlineStore() {
  if (db_) {
    // Close flushes nothing by itself; the WAL already holds every write.
    // A failure here has no caller to report to; the next Open recovers.
    db_->Close().PermitUncheckedError();
  }
  if (!secondary_directory_.empty()) {
    std::error_code error;
    std::filesystem::remove_all(secondary_directory_, error);
  }
}

Status RocksDbOnlineStore::Write(const ViewKey& view, std::span<const std::string> entity_keys,
                                 std::span<const OnlineRecord> records) {
  if (options_.follower) return FailedPrecondition("the online store at " + directory_ + " is open read-only here");
  if (entity_keys.size() != records.size()) {
    return InvalidArgument("online store write of " + std::to_string(records.size()) + " records with " +
                           std::to_string(entity_keys.size()) + " entity keys");
  }
  if (records.empty()) return Status::Ok();
  const size_t n = records.size();
  std::vector<std::string> keys;
  keys.reserve(n);
  for (const std::string& entity_key : entity_keys) keys.push_back(RecordKey(view, entity_key));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());

  std::lock_guard<std::mutex> lock(write_mutex_);
  std::vector<rocksdb::PinnableSlice> existing(n);
  std::vector<rocksdb::Status> statuses(n);
  db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), n, slices.data(), existing.data(),
                statuses.data());

  // The newest event per key, stored or earlier in this batch.
  std::unordered_map<std::string_view, int64_t> batch_events;
  rocksdb::WriteBatch batch;
  std::string value;
  for (size_t i = 0; i < n; ++i) {
    std::optional<int64_t> newest;
    if (statuses[i].ok()) {
      newest = EncodedRecordEventMicros(existing[i].ToStringView());
    } else if (!statuses[i].IsNotFound()) {
      return FromRocksDb(statuses[i], directory_, "read before writing");
    }
    auto seen = batch_events.find(keys[i]);
    if (seen != batch_events.end()) newest = seen->second;
    if (newest && *newest > records[i].event_micros) continue;
    batch_events[keys[i]] = records[i].event_micros;
    value = EncodeOnlineRecord(records[i]);
    KILN_RETURN_IF_ERROR(FromRocksDb(batch.Put(slices[i], value), directory_, "write"));
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  return FromRocksDb(db_->Write(write_options, &batch), directory_, "write");
}

Status RocksDbOnlineStore::Read(const ViewKey& view, std::span<const data::Type> types,
                                std::span<const std::string> entity_keys,
                                std::vector<std::optional<OnlineRecord>>* out) {
  const size_t n = entity_keys.size();
  out->assign(n, std::nullopt);
  if (n == 0) return Status::Ok();
  std::vector<std::string> keys;
  keys.reserve(n);
  for (const std::string& entity_key : entity_keys) keys.push_back(RecordKey(view, entity_key));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(n);
  std::vector<rocksdb::Status> statuses(n);
  if (n == 1) {  // a plain Get skips MultiGet's batching set-up
    statuses[0] = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), slices[0], &values[0]);
  } else {
    db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), n, slices.data(), values.data(),
                  statuses.data());
  }
  for (size_t i = 0; i < n; ++i) {
    if (statuses[i].IsNotFound()) continue;
    KILN_RETURN_IF_ERROR(FromRocksDb(statuses[i], directory_, "read"));
    Result<OnlineRecord> record = DecodeOnlineRecord(values[i].ToStringView(), types);
    if (!record.ok()) {
      return Internal("online store rocksdb:" + directory_ + ", view '" + view.view +
                      "': " + record.status().message());
    }
    (*out)[i] = std::move(record).value();
  }
  return Status::Ok();
}

Status RocksDbOnlineStore::DeleteView(std::string_view view) {
  if (options_.follower) return FailedPrecondition("the online store at " + directory_ + " is open read-only here");
  std::string begin = ViewPrefix(view);
  std::string end(view);
  end.push_back('\1');
  std::lock_guard<std::mutex> lock(write_mutex_);
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  return FromRocksDb(db_->DeleteRange(write_options, db_->DefaultColumnFamily(), begin, end), directory_,
                     "delete view '" + std::string(view) + "'");
}

}  // namespace kiln::features
