#pragma once
// Windowed aggregations per entity, computed point-in-time correctly: the
// value at time t uses exactly the events with the same join keys and event
// time in (t − window, t] (start exclusive, end inclusive). One routine
// serves training sets (t = each entity row's timestamp) and materialization
// (t = the end of the materialized interval), so offline and online agree.
// Nulls in the aggregated column are skipped, and so is NaN (as in pandas):
// count(column) counts present values, count without a column counts
// events; sum/mean/min/max/last are null without a present value, stddev
// (sample, n − 1) with fewer than two; last is the value of the latest
// present event (time ties go to the later row). Events or entity rows with
// a null key or timestamp match nothing. Pure; uses `threads` worker
// threads. Cost O((n + m) log) for the sorts, then amortized O(1) per entity
// row and aggregation; sums are folded without subtraction, so they do not
// drift as windows slide.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/frame.h"

namespace kiln::features {

enum class AggregationFunction { kCount, kSum, kMean, kMin, kMax, kStddev, kLast };

// "count", "sum", "mean" (alias "avg"), "min", "max", "stddev" (sample,
// n − 1, as pandas), "last". Error lists the valid names.
Result<AggregationFunction> ParseAggregationFunction(std::string_view name);
std::string_view AggregationFunctionName(AggregationFunction function);
// count → int64; sum, mean, stddev → float64; min, max, last → input type
// (min/max need a numeric or timestamp input). Error for a bad combination.
Result<data::Type> AggregationResultType(AggregationFunction function, data::Type input);

struct WindowAggregation {
  std::string output;   // result column name
  AggregationFunction function = AggregationFunction::kCount;
  std::string column;   // value column of the events frame; "" = count events
  int64_t window_seconds = 0;
};

struct AggregateOptions {
  std::vector<std::string> join_keys;  // in both frames
  std::string entity_timestamp;        // in the entity frame
  std::string event_timestamp;         // in the events frame
  int threads = 0;
};

// One output column per aggregation, one row per entity row, in entity
// order. Empty windows: count 0, everything else null.
Result<data::Frame> AggregateAsOf(const data::Frame& entities, const data::Frame& events,
                                  const std::vector<WindowAggregation>& aggregations,
                                  const AggregateOptions& options);

}  // namespace kiln::features
