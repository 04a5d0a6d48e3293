#pragma once
// The synthetic feature repository the online and materialization
// benchmarks use, and an in-process FeatureStore over a fresh data
// directory (SQLite metadata store, artifact store, tracking store), wired as
// the server wires it.
//
// The repository: project `bench`, one CSV source `activity` (customer
// int64, event_time, v0..v9 float64), entity `customer`, one feature view
// `customer_stats` with `features` float64 expressions over v0..v9 and a
// 30-day TTL, and the feature service `scoring` = customer_stats.*.

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "features/feature_store.h"

namespace kiln::storage {
class Database;
class ArtifactStore;
}  // namespace kiln::storage
namespace kiln::tracking {
class TrackingStore;
}

namespace kiln_bench {

struct SyntheticRepositoryOptions {
  int64_t rows = 10'000;      // source rows
  int64_t entities = 10'000;  // customers 0..entities-1; row r is customer r % entities
  int features = 50;
  // Event times run evenly over [end − span, end − 1 min]; end defaults to now
  // so the values are fresh against the online TTL.
  int64_t end_micros = 0;
  int64_t span_seconds = 3600;
  uint64_t seed = 42;
};

// Writes DIR/repository.yaml and DIR/activity.csv (DIR is created).
// Returns the CSV's size in bytes.
kiln::Result<int64_t> WriteSyntheticRepository(const std::string& directory,
                                               const SyntheticRepositoryOptions& options);

// A FeatureStore over a fresh data directory. Owns every object it wires;
// destroy before removing the directory. Thread-safe as FeatureStore is.
class FeatureStoreHarness {
 public:
  // online_uri: "" → RocksDB (cached) in data_dir/online; "redis://…".
  static kiln::Result<std::unique_ptr<FeatureStoreHarness>> Open(const std::string& data_dir,
                                                                 const std::string& online_uri,
                                                                 int threads);
  ~FeatureStoreHarness();

  // Loads the YAML folder, validates it against its sources, applies it.
  kiln::Status ApplyDirectory(const std::string& repository_dir);

  kiln::features::FeatureStore& store() { return *store_; }

 private:
  FeatureStoreHarness() = default;

  kiln::IdGenerator ids_{7};
  std::unique_ptr<kiln::storage::Database> database_;
  std::unique_ptr<kiln::storage::ArtifactStore> artifacts_;
  std::unique_ptr<kiln::tracking::TrackingStore> tracking_;
  std::unique_ptr<kiln::features::FeatureStore> store_;
};

// A temporary directory removed (recursively) by the destructor.
class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(const std::string& prefix);
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Prints "kiln_bench_features: WHAT: STATUS" and exits 1 unless ok.
void CheckOk(const kiln::Status& status, const std::string& what);
template <typename T>
T ValueOrExit(kiln::Result<T> result, const std::string& what) {
  CheckOk(result.status(), what);
  return std::move(result).value();
}

}  // namespace kiln_bench
