#pragma once
// Materialization: source rows of a feature view over an interval → the
// latest feature values per entity → expectations → the online store. The
// latest row per entity is picked by PointInTimeMatch (entity frame of the
// distinct keys at t = end − 1 µs, no TTL) and windowed aggregations by
// AggregateAsOf at the same t, so an online record equals the training-set
// row of that entity at the end of the interval: aggregation windows are
// anchored at the end of the materialized interval.
//
// Materializer borrows the database, online store and clock (they must
// outlive it); it keeps no state between calls and is thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "data/frame.h"
#include "features/feature_store.h"
#include "features/online_store.h"
#include "features/repository.h"

namespace kiln::storage {
class Database;
}

namespace kiln::features {

// The records of one view computed from a batch of source rows.
struct ViewRecords {
  // One row per distinct entity: the join-key columns, then
  // "event_timestamp" (the newest row's event time), then one column per
  // feature of the view named after it, in the view's feature order.
  data::Frame frame;
  std::vector<std::string> entity_keys;  // EncodeEntityKey of each row's keys
  std::vector<int64_t> event_micros;
  size_t first_feature_column = 0;  // index of the first feature column
  int64_t rows_without_key = 0;     // source rows with a null join key or time
};

// Computes the latest record per entity of `view` as of `as_of_micros` from
// `rows` (the view source's rows; columns may be added to it). Aggregation
// features are computed only when `with_aggregations`; otherwise the view
// must have none. REQUIRES: view.source is set.
Result<ViewRecords> ComputeViewRecords(const ResolvedView& view, data::Frame& rows,
                                       int64_t as_of_micros, bool with_aggregations, int threads);

// A row feature's values over `rows` (its expression, int64 results widened
// when the feature is declared float64).
Result<data::Column> EvaluateRowFeature(const ResolvedFeature& feature, const data::Frame& rows);

// The online-store address and feature types of a view. The project is part
// of the address, so equal view names in two projects never share records.
ViewKey OnlineViewKey(const std::string& project, const ResolvedView& view);
std::vector<data::Type> ViewFeatureTypes(const ResolvedView& view);

struct MaterializeOptions {
  int threads = 0;
  bool quiet = true;
  size_t batch_size = 10'000;  // records per online-store write
};

class Materializer {
 public:
  Materializer(storage::Database& database, OnlineStore& online, Clock& clock);

  // Materializes `view` over [start, end) (an unset start is the beginning
  // of the source), quarantines the records failing expectations, and
  // records the interval in feature_materializations.
  // Error: "materialize 'v': start … is not before end …".
  Result<MaterializeViewResult> Run(const Repository& repository, const ResolvedView& view,
                                    std::optional<int64_t> start_micros, int64_t end_micros,
                                    const MaterializeOptions& options);

  // The end of the latest recorded materialization of `view` into this
  // online store (another store starts from the beginning), if any.
  Result<std::optional<int64_t>> LastEnd(const std::string& project, const std::string& view);

 private:
  storage::Database& database_;
  OnlineStore& online_;
  Clock& clock_;
};

}  // namespace kiln::features
