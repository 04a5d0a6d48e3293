#pragma once
// The prediction log: every prediction is appended asynchronously through a
// bounded in-memory queue drained by one writer thread into a
// PredictionStore. Serving never waits on the store: when the queue is full
// the record is dropped, and the drop is counted (stats(), /metrics) AND
// written into the log itself as a drop marker, so a reader of the log knows
// how many predictions between which times are missing. Close() (SIGTERM)
// drains the queue before returning.
//
// Stores (docs/formats/prediction-log.md, format_version 1):
// - file (the embedded default): append-only JSON-lines segments under
//   <data_dir>/predictions/, rotated by size, fsync'd on Flush;
// - SQL: the `predictions` table (and `prediction_log_drops`) of the
//   metadata database — PostgreSQL in shared deployments (SQLite works too).
// Both can be read back with a query (model, version, time range, sample).
//
// Thread safety: Append is safe from any number of threads and never blocks
// on I/O (one short critical section). Stores are used by one writer thread
// plus any number of readers.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "serving/prediction_record.h"

namespace kiln::storage {
class Database;
}

namespace kiln::serving {

// A run of predictions the queue had to drop.
struct DropMarker {
  int64_t count = 0;
  int64_t first_micros = 0;  // timestamps of the first and last dropped record
  int64_t last_micros = 0;
};

struct PredictionQuery {
  std::string model;               // "" = every model
  std::optional<int64_t> version;  // unset = every version
  std::optional<int64_t> start_micros;  // timestamp >= start
  std::optional<int64_t> end_micros;    // timestamp < end
  // 0: every matching record, oldest first. > 0: a uniform random sample of
  // that many (reservoir sampling seeded by `seed`; all of them when fewer match).
  int64_t sample = 0;
  uint64_t seed = 1;
};

struct PredictionReadResult {
  std::vector<PredictionRecord> records;
  int64_t matched = 0;         // records matching the query (before sampling)
  std::vector<DropMarker> drops;  // drop markers inside the query's time range
  // (implementer's addition) Lines a reader skipped rather than failed on: a
  // torn last line of a file segment (a crash mid-write), one warning each,
  // naming the file.
  int64_t skipped_lines = 0;
  std::vector<std::string> warnings;
};

// (implementer's addition) A uniform sample of `size` items from a stream
// of unknown length (Algorithm R) drawn with its own SplitMix64 generator,
// so a seed picks the same items on every platform. Both stores sample
// with it. Not thread-safe.
class ReservoirSampler {
 public:
  ReservoirSampler(int64_t size, uint64_t seed) : size_(size), state_(seed) {}
  // For the next item of the stream: the reservoir slot it takes (replacing
  // the item there), or -1 when it is not kept.
  int64_t Offer();
  int64_t seen() const { return seen_; }

 private:
  uint64_t Next();
  int64_t size_;
  int64_t seen_ = 0;
  uint64_t state_;
};

class PredictionStore {
 public:
  virtual ~PredictionStore() = default;
  // Appends records (one writer thread). Errors: kUnavailable / kInternal
  // with the path or database error.
  virtual Status Write(std::span<const PredictionRecord> records) = 0;
  virtual Status WriteDrop(const DropMarker& drop) = 0;
  // Makes everything written so far durable (fsync / commit).
  virtual Status Flush() = 0;
  virtual Result<PredictionReadResult> Read(const PredictionQuery& query) = 0;
  // "file /data/predictions" or "table predictions (postgresql)": for logs and /metrics.
  virtual std::string Describe() const = 0;
};

// Opens (creating) <directory> for the file store; segments are
// predictions-<first timestamp>-<seq>.jsonl, a new one past segment_bytes.
Result<std::unique_ptr<PredictionStore>> OpenFilePredictionStore(const std::string& directory,
                                                                 int64_t segment_bytes = 64ll << 20);
// The SQL store on `database` (migrations already applied by the caller:
// serving::Migrations()). `database` must outlive the store.
Result<std::unique_ptr<PredictionStore>> OpenSqlPredictionStore(storage::Database& database);

struct PredictionLogOptions {
  size_t capacity = 100'000;  // queued records before drops start
  size_t batch = 2'000;       // records per store write
  // The writer flushes at least this often while records arrive.
  int flush_interval_ms = 200;
  // Once woken, the writer waits up to this long for a batch to fill
  // (0: writes whatever is queued at once).
  int linger_ms = 10;
};

struct PredictionLogStats {
  int64_t appended = 0;     // accepted into the queue
  int64_t written = 0;      // handed to the store successfully
  int64_t dropped = 0;      // refused because the queue was full
  int64_t write_errors = 0; // records lost because the store failed
  int64_t queue_depth = 0;
  int64_t capacity = 0;
};

class PredictionLog {
 public:
  // Starts the writer thread. The log owns the store.
  PredictionLog(std::unique_ptr<PredictionStore> store, PredictionLogOptions options = {});
  ~PredictionLog();  // Close()

  // Queues a record; false (and a counted drop) when the queue is full or
  // the log is closed.
  bool Append(PredictionRecord record);
  // Blocks until everything appended before the call is written and flushed.
  Status Drain();
  // Drains, writes pending drop markers, flushes and stops the writer. Idempotent.
  Status Close();

  PredictionLogStats stats() const;
  PredictionStore& store() { return *store_; }

 private:
  // (private members are the implementer's choice)
  void WriterLoop();
  // True when a waiting Drain's records and drops have been handed to the
  // store but not yet flushed. REQUIRES: mutex_ held.
  bool FlushRequested() const;
  // Remembers a store error for Drain/Close and logs it to stderr (at most
  // once a minute). REQUIRES: mutex_ held.
  void NoteError(const Status& status, const std::string& what);

  std::unique_ptr<PredictionStore> store_;
  PredictionLogOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable work_;      // the writer waits here for records, drops, drains, Close
  std::condition_variable progress_;  // Drain waits here for flushes
  std::deque<PredictionRecord> queue_;
  DropMarker pending_drops_;  // the current run of drops (count 0: none)
  int64_t appended_ = 0;
  int64_t written_ = 0;
  int64_t dropped_ = 0;
  int64_t write_errors_ = 0;
  // Progress, counted in accepted records and in drops that went into
  // markers: handed to the store (written or lost), and covered by a flush.
  int64_t processed_ = 0, flushed_through_ = 0;
  int64_t drops_marked_ = 0, drops_processed_ = 0, drops_flushed_through_ = 0;
  int64_t drain_waiters_ = 0, drain_target_ = 0, drain_drops_target_ = 0;
  bool closed_ = false;       // Append refuses; the writer finishes the queue and stops
  bool writer_done_ = false;
  Status error_;              // the latest store error since Drain/Close last returned
  std::optional<std::chrono::steady_clock::time_point> last_error_logged_;
  std::mutex close_mutex_;    // serializes Close
  std::thread writer_;
};

}  // namespace kiln::serving
