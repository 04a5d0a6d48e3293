#pragma once
// The feature-store benchmarks run in-process by kiln_bench_features. Each
// reads its options from Args, runs, and returns one JSON object of figures
// (see bench/README.md, "Feature-store benchmarks"). Errors in setup exit 1
// with a message on stderr.

#include <nlohmann/json.hpp>

#include "../args.h"

namespace kiln_bench {

// Point-in-time join of flights (entity rows) against the feature views that
// bench/features/pit_join_pandas.py prepared, PointInTimeMatch + Take per
// view, CSV reading excluded; writes the matched values for comparison.
nlohmann::json PitJoin(Args& args);
// data::ReadCsv of a file: rows/s and MB/s.
nlohmann::json CsvIngest(Args& args);
// Writes the synthetic repository (bench_repository.h) to --dir.
nlohmann::json MakeRepository(Args& args);
// GetOnlineFeatures of one entity × the service's features, on 1 and 2
// threads; raw OnlineStore::ReadInto through the cache; uncached RocksDB.
nlohmann::json OnlineLookups(Args& args);
// FeatureStore::Materialize of a repository's views into RocksDB or Redis,
// and the online store's raw Write of the same records.
nlohmann::json Materialize(Args& args);

}  // namespace kiln_bench
