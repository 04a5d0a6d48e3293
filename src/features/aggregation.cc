#include "features/aggregation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <tuple>

#include "data/timestamp.h"
#include "features/entity_key_index.h"
#include "features/join_columns.h"
#include "features/key_buckets.h"
#include "features/parallel_for.h"
#include "features/sliding_window.h"

namespace kiln::features {
namespace {

constexpr size_t kTasksPerThread = 8;

struct FunctionName {
  AggregationFunction function;
  std::string_view name;
};
constexpr FunctionName kFunctionNames[] = {
    {AggregationFunction::kCount, "count"}, {AggregationFunction::kSum, "sum"},
    {AggregationFunction::kMean, "mean"},   {AggregationFunction::kMin, "min"},
    {AggregationFunction::kMax, "max"},     {AggregationFunction::kStddev, "stddev"},
    {AggregationFunction::kLast, "last"},
};

// One aggregation resolved against the frames.
struct Target {
  AggregationFunction function = AggregationFunction::kCount;
  const data::Column* input = nullptr;  // null: count events
  size_t window = 0;                    // index into the distinct windows
  data::Column* output = nullptr;
};

// One key's events and a run of its entity rows, both in time order; lo and
// hi bound each entity row's window as event positions [lo, hi).
struct Slice {
  const uint32_t* event_rows = nullptr;
  size_t num_events = 0;
  const uint32_t* entity_rows = nullptr;
  size_t num_entities = 0;
  const uint32_t* lo = nullptr;
  const uint32_t* hi = nullptr;
};

template <typename Monoid>
struct MonoidBuffers {
  std::vector<typename Monoid::State> items;
  std::vector<typename Monoid::State> suffix;
};

// Per-thread buffers, reused across keys.
struct Scratch {
  std::tuple<MonoidBuffers<SumMonoid>, MonoidBuffers<MomentsMonoid>,
             MonoidBuffers<ExtremeMonoid<double, false>>, MonoidBuffers<ExtremeMonoid<double, true>>,
             MonoidBuffers<ExtremeMonoid<int64_t, false>>,
             MonoidBuffers<ExtremeMonoid<int64_t, true>>>
      monoids;
  std::vector<uint32_t> prefix_counts;
  std::vector<int64_t> latest_present;
  std::vector<std::vector<uint32_t>> lo;
  std::vector<std::vector<uint32_t>> hi;
};

// A value counts unless null; a NaN counts as null, as in pandas.
bool Present(const data::Column& column, uint32_t row) {
  if (column.IsNull(row)) return false;
  return column.type() != data::Type::kFloat64 || !std::isnan(column.floats()[row]);
}

double AsDouble(const data::Column& column, uint32_t row) {
  return column.type() == data::Type::kFloat64 ? column.floats()[row]
                                               : static_cast<double>(column.ints()[row]);
}

// Folds Monoid over every window of the slice, lifting each present value
// with value_of(row) and handing finish(entity row, fold) the result.
template <typename Monoid, typename ValueOf, typename Finish>
void Fold(const Target& target, const Slice& slice, Scratch& scratch, ValueOf value_of,
          Finish finish) {
  auto& buffers = std::get<MonoidBuffers<Monoid>>(scratch.monoids);
  buffers.items.resize(slice.num_events);
  const size_t first = slice.lo[0];
  const size_t last = slice.hi[slice.num_entities - 1];
  for (size_t i = first; i < last; ++i) {
    const uint32_t row = slice.event_rows[i];
    buffers.items[i] = Present(*target.input, row) ? Monoid::Lift(value_of(row))
                                                   : typename Monoid::State{};
  }
  SlideWindows<Monoid>(buffers.items.data(), slice.num_events, slice.lo, slice.hi,
                       slice.num_entities, buffers.suffix,
                       [&](size_t i, const typename Monoid::State& state) {
                         finish(slice.entity_rows[i], state);
                       });
}

template <bool kMax>
void FoldExtreme(const Target& target, const Slice& slice, Scratch& scratch) {
  const data::Column& input = *target.input;
  data::Column& out = *target.output;
  if (input.type() == data::Type::kFloat64) {
    Fold<ExtremeMonoid<double, kMax>>(
        target, slice, scratch, [&](uint32_t row) { return input.floats()[row]; },
        [&](uint32_t row, const auto& state) {
          if (!state.present) return;
          out.mutable_floats()[row] = state.value;
          out.mutable_validity()[row] = 1;
        });
  } else {
    Fold<ExtremeMonoid<int64_t, kMax>>(
        target, slice, scratch, [&](uint32_t row) { return input.ints()[row]; },
        [&](uint32_t row, const auto& state) {
          if (!state.present) return;
          out.mutable_ints()[row] = state.value;
          out.mutable_validity()[row] = 1;
        });
  }
}

void CountEvents(const Target& target, const Slice& slice, Scratch& scratch) {
  std::vector<int64_t>& out = target.output->mutable_ints();
  if (target.input == nullptr) {
    for (size_t i = 0; i < slice.num_entities; ++i) {
      out[slice.entity_rows[i]] = slice.hi[i] - slice.lo[i];
    }
    return;
  }
  std::vector<uint32_t>& prefix = scratch.prefix_counts;
  prefix.resize(slice.num_events + 1);
  prefix[0] = 0;
  for (size_t i = 0; i < slice.num_events; ++i) {
    prefix[i + 1] = prefix[i] + (Present(*target.input, slice.event_rows[i]) ? 1 : 0);
  }
  for (size_t i = 0; i < slice.num_entities; ++i) {
    out[slice.entity_rows[i]] = prefix[slice.hi[i]] - prefix[slice.lo[i]];
  }
}

// The value of the latest event in the window with a present value (ties
// in time go to the later row, which sorts later).
void Last(const Target& target, const Slice& slice, Scratch& scratch) {
  const data::Column& input = *target.input;
  data::Column& out = *target.output;
  std::vector<int64_t>& latest = scratch.latest_present;
  latest.resize(slice.num_events);
  int64_t previous = -1;
  for (size_t i = 0; i < slice.num_events; ++i) {
    if (Present(input, slice.event_rows[i])) previous = static_cast<int64_t>(i);
    latest[i] = previous;
  }
  for (size_t i = 0; i < slice.num_entities; ++i) {
    if (slice.hi[i] == 0) continue;
    const int64_t position = latest[slice.hi[i] - 1];
    if (position < static_cast<int64_t>(slice.lo[i])) continue;
    const uint32_t from = slice.event_rows[position];
    const uint32_t to = slice.entity_rows[i];
    switch (input.type()) {
      case data::Type::kFloat64:
        out.mutable_floats()[to] = input.floats()[from];
        break;
      case data::Type::kString:
        out.mutable_strings()[to] = input.strings()[from];
        break;
      default:
        out.mutable_ints()[to] = input.ints()[from];
        break;
    }
    out.mutable_validity()[to] = 1;
  }
}

void Aggregate(const Target& target, const Slice& slice, Scratch& scratch) {
  data::Column& out = *target.output;
  auto set = [&out](uint32_t row, double value) {
    out.mutable_floats()[row] = value;
    out.mutable_validity()[row] = 1;
  };
  const data::Column* input = target.input;
  auto as_double = [input](uint32_t row) { return AsDouble(*input, row); };
  switch (target.function) {
    case AggregationFunction::kCount:
      CountEvents(target, slice, scratch);
      return;
    case AggregationFunction::kLast:
      Last(target, slice, scratch);
      return;
    case AggregationFunction::kSum:
      Fold<SumMonoid>(target, slice, scratch, as_double, [&](uint32_t row, const auto& state) {
        if (state.count > 0) set(row, state.sum);
      });
      return;
    case AggregationFunction::kMean:
      Fold<SumMonoid>(target, slice, scratch, as_double, [&](uint32_t row, const auto& state) {
        if (state.count > 0) set(row, state.sum / static_cast<double>(state.count));
      });
      return;
    case AggregationFunction::kStddev:
      Fold<MomentsMonoid>(target, slice, scratch, as_double, [&](uint32_t row, const auto& state) {
        if (state.count < 2) return;
        set(row, std::sqrt(state.squared_deviations / static_cast<double>(state.count - 1)));
      });
      return;
    case AggregationFunction::kMin:
      FoldExtreme<false>(target, slice, scratch);
      return;
    case AggregationFunction::kMax:
      FoldExtreme<true>(target, slice, scratch);
      return;
  }
}

// Event positions [lo, hi) of the window (time − window, time] for each
// entity time, by two pointers over the key's sorted event times.
void WindowBounds(const int64_t* event_times, size_t num_events, const int64_t* entity_times,
                  size_t num_entities, int64_t window_micros, std::vector<uint32_t>& lo,
                  std::vector<uint32_t>& hi) {
  lo.resize(num_entities);
  hi.resize(num_entities);
  auto start_of = [window_micros](int64_t time) {
    return time < std::numeric_limits<int64_t>::min() + window_micros
               ? std::numeric_limits<int64_t>::min()
               : time - window_micros;
  };
  const int64_t* end = event_times + num_events;
  size_t low = std::upper_bound(event_times, end, start_of(entity_times[0])) - event_times;
  size_t high = std::upper_bound(event_times, end, entity_times[0]) - event_times;
  for (size_t i = 0; i < num_entities; ++i) {
    const int64_t start = start_of(entity_times[i]);
    while (high < num_events && event_times[high] <= entity_times[i]) ++high;
    while (low < num_events && event_times[low] <= start) ++low;
    lo[i] = static_cast<uint32_t>(low);
    hi[i] = static_cast<uint32_t>(high);
  }
}

// Checks one aggregation and returns its output type.
Result<data::Type> CheckAggregation(const WindowAggregation& aggregation,
                                    const data::Frame& events) {
  const std::string context = "aggregation '" + aggregation.output + "': ";
  if (aggregation.window_seconds <= 0) {
    return InvalidArgument(context + "window must be positive, got " +
                           std::to_string(aggregation.window_seconds) + "s");
  }
  if (aggregation.column.empty()) {
    if (aggregation.function == AggregationFunction::kCount) return data::Type::kInt64;
    return InvalidArgument(context + std::string(AggregationFunctionName(aggregation.function)) +
                           " needs a value column (only count may omit it)");
  }
  const data::Column* column = events.Find(aggregation.column);
  if (column == nullptr) {
    return InvalidArgument(context + "'" + aggregation.column +
                           "' is not a column of the events frame (columns: " +
                           ColumnList(events) + ")");
  }
  Result<data::Type> type = AggregationResultType(aggregation.function, column->type());
  if (!type.ok()) return InvalidArgument(context + type.status().message());
  return type;
}

}  // namespace

Result<AggregationFunction> ParseAggregationFunction(std::string_view name) {
  if (name == "avg") return AggregationFunction::kMean;
  for (const FunctionName& entry : kFunctionNames) {
    if (entry.name == name) return entry.function;
  }
  return InvalidArgument("unknown aggregation function '" + std::string(name) +
                         "' (expected one of count, sum, mean, avg, min, max, stddev, last)");
}

std::string_view AggregationFunctionName(AggregationFunction function) {
  for (const FunctionName& entry : kFunctionNames) {
    if (entry.function == function) return entry.name;
  }
  return "unknown";
}

Result<data::Type> AggregationResultType(AggregationFunction function, data::Type input) {
  const std::string name(AggregationFunctionName(function));
  switch (function) {
    case AggregationFunction::kCount:
      return data::Type::kInt64;
    case AggregationFunction::kSum:
    case AggregationFunction::kMean:
    case AggregationFunction::kStddev:
      if (!data::IsNumeric(input)) {
        return InvalidArgument(name + " needs an int64 or float64 column, not " +
                               std::string(data::TypeName(input)));
      }
      return data::Type::kFloat64;
    case AggregationFunction::kMin:
    case AggregationFunction::kMax:
      if (!data::IsNumeric(input) && input != data::Type::kTimestamp) {
        return InvalidArgument(name + " needs an int64, float64 or timestamp column, not " +
                               std::string(data::TypeName(input)));
      }
      return input;
    case AggregationFunction::kLast:
      return input;
  }
  return Internal("unhandled aggregation function");
}

Result<data::Frame> AggregateAsOf(const data::Frame& entities, const data::Frame& events,
                                  const std::vector<WindowAggregation>& aggregations,
                                  const AggregateOptions& options) {
  if (options.threads < 0) {
    return InvalidArgument("threads must not be negative, got " +
                           std::to_string(options.threads));
  }
  KILN_ASSIGN_OR_RETURN(const data::Column* entity_time,
                        TimestampColumn(entities, options.entity_timestamp, "entity timestamp",
                                        "entity frame"));
  KILN_ASSIGN_OR_RETURN(const data::Column* event_time,
                        TimestampColumn(events, options.event_timestamp, "event timestamp",
                                        "events frame"));
  const size_t rows = entities.num_rows();
  std::set<std::string> outputs;
  std::vector<int64_t> windows;  // distinct, in µs
  std::vector<Target> targets;
  std::vector<data::Column> columns;
  columns.reserve(aggregations.size());
  for (const WindowAggregation& aggregation : aggregations) {
    if (aggregation.output.empty()) {
      return InvalidArgument("an aggregation has an empty output name");
    }
    if (!outputs.insert(aggregation.output).second) {
      return InvalidArgument("two aggregations are named '" + aggregation.output + "'");
    }
    KILN_ASSIGN_OR_RETURN(data::Type type, CheckAggregation(aggregation, events));
    const int64_t window =
        aggregation.window_seconds > std::numeric_limits<int64_t>::max() / data::kMicrosPerSecond
            ? std::numeric_limits<int64_t>::max()
            : aggregation.window_seconds * data::kMicrosPerSecond;
    Target target;
    target.function = aggregation.function;
    target.input = aggregation.column.empty() ? nullptr : events.Find(aggregation.column);
    target.window = static_cast<size_t>(std::find(windows.begin(), windows.end(), window) -
                                        windows.begin());
    if (target.window == windows.size()) windows.push_back(window);
    targets.push_back(target);

    // Empty windows: count 0, everything else null.
    data::Column column(type);
    const bool is_count = aggregation.function == AggregationFunction::kCount;
    column.mutable_validity().assign(rows, is_count ? 1 : 0);
    if (type == data::Type::kFloat64) {
      column.mutable_floats().assign(rows, 0.0);
    } else if (type == data::Type::kString) {
      column.mutable_strings().assign(rows, std::string());
    } else {
      column.mutable_ints().assign(rows, 0);
    }
    columns.push_back(std::move(column));
  }
  for (size_t i = 0; i < targets.size(); ++i) targets[i].output = &columns[i];

  KILN_ASSIGN_OR_RETURN(EntityKeyIndex index,
                        EntityKeyIndex::Build(events, options.join_keys, "events frame"));
  KILN_ASSIGN_OR_RETURN(std::vector<int32_t> entity_keys,
                        index.Lookup(entities, "entity frame", options.threads));
  const int workers = ResolveThreads(options.threads);
  KeyBuckets event_buckets = BucketByKey(index.row_keys(), index.num_keys(), *event_time, workers);
  SortEachBucket(event_buckets, nullptr, workers);
  KeyBuckets entity_buckets = BucketByKey(entity_keys, index.num_keys(), *entity_time, workers);
  SortEachBucket(entity_buckets, nullptr, workers);

  const std::vector<KeyTask> tasks = PlanKeyTasks(
      event_buckets, entity_buckets, static_cast<size_t>(workers) * kTasksPerThread);
  std::vector<Scratch> scratch(static_cast<size_t>(workers));
  ParallelFor(tasks.size(), workers, [&](size_t t, int worker) {
    const KeyTask& task = tasks[t];
    Scratch& buffers = scratch[static_cast<size_t>(worker)];
    buffers.lo.resize(windows.size());
    buffers.hi.resize(windows.size());
    for (size_t key = task.key_begin; key < task.key_end; ++key) {
      const size_t begin = std::max(task.probe_begin, entity_buckets.begin(key));
      const size_t end = std::min(task.probe_end, entity_buckets.end(key));
      const size_t event_begin = event_buckets.begin(key);
      const size_t num_events = event_buckets.end(key) - event_begin;
      if (begin >= end || num_events == 0) continue;
      for (size_t w = 0; w < windows.size(); ++w) {
        WindowBounds(event_buckets.times.data() + event_begin, num_events,
                     entity_buckets.times.data() + begin, end - begin, windows[w], buffers.lo[w],
                     buffers.hi[w]);
      }
      for (const Target& target : targets) {
        Slice slice;
        slice.event_rows = event_buckets.rows.data() + event_begin;
        slice.num_events = num_events;
        slice.entity_rows = entity_buckets.rows.data() + begin;
        slice.num_entities = end - begin;
        slice.lo = buffers.lo[target.window].data();
        slice.hi = buffers.hi[target.window].data();
        Aggregate(target, slice, buffers);
      }
    }
  });

  data::Frame out;
  for (size_t i = 0; i < aggregations.size(); ++i) {
    KILN_RETURN_IF_ERROR(out.AddColumn(aggregations[i].output, std::move(columns[i])));
  }
  return out;
}

}  // namespace kiln::features
