#include "features/point_in_time_join.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "data/timestamp.h"
#include "features/entity_key_index.h"
#include "features/join_columns.h"
#include "features/key_buckets.h"
#include "features/parallel_for.h"

namespace kiln::features {
namespace {

constexpr int64_t kNullCreated = std::numeric_limits<int64_t>::min();
constexpr size_t kTasksPerThread = 8;
constexpr size_t kMinRowsPerChunk = 1 << 14;
constexpr size_t kProbeBlockRows = 1024;
constexpr uint32_t kNoCursor = std::numeric_limits<uint32_t>::max();

// Feature rows grouped by key, each key's rows sorted by (event timestamp,
// created timestamp, row); `created` runs beside buckets.rows (a null
// created timestamp sorts as the oldest) and is empty without the column.
struct SortedFeatures {
  KeyBuckets buckets;
  std::vector<int64_t> created;
};

// Per-thread buffers, reused across keys so the kernels allocate rarely.
struct Scratch {
  std::vector<uint32_t> order;
  std::vector<uint32_t> other_order;
  std::vector<int32_t> fenwick;
};

SortedFeatures GroupFeatures(std::span<const int32_t> keys, size_t num_keys,
                             const data::Column& event, const data::Column* created, int threads) {
  SortedFeatures features;
  features.buckets = BucketByKey(keys, num_keys, event, threads);
  if (created != nullptr) {
    const size_t size = features.buckets.rows.size();
    features.created.resize(size);
    for (size_t i = 0; i < size; ++i) {
      const uint32_t row = features.buckets.rows[i];
      features.created[i] = created->IsNull(row) ? kNullCreated : created->ints()[row];
    }
  }
  SortEachBucket(features.buckets, created == nullptr ? nullptr : &features.created, threads);
  return features;
}

// The earliest event timestamp still inside the TTL for an entity at `time`.
int64_t TtlLowerBound(int64_t time, int64_t ttl_micros) {
  if (ttl_micros <= 0) return std::numeric_limits<int64_t>::min();
  if (time < std::numeric_limits<int64_t>::min() + ttl_micros) {
    return std::numeric_limits<int64_t>::min();
  }
  return time - ttl_micros;
}

// The number of leading times ≤ `time` in the sorted `times`: std::upper_bound
// without branches, which pays off when the probes are in random order.
size_t CountAtOrBefore(const int64_t* times, size_t size, int64_t time) {
  if (size == 0) return 0;
  const int64_t* base = times;
  size_t length = size;
  while (length > 1) {
    const size_t half = length / 2;
    base = base[half] <= time ? base + half : base;
    length -= half;
  }
  return static_cast<size_t>(base - times) + (*base <= time ? 1 : 0);
}

// True when the non-null times never decrease.
bool NonDecreasing(const data::Column& time) {
  const int64_t* times = time.ints().data();
  const uint8_t* valid = time.validity().data();
  int64_t previous = std::numeric_limits<int64_t>::min();
  for (size_t row = 0; row < time.size(); ++row) {
    if (valid[row] == 0) continue;
    if (times[row] < previous) return false;
    previous = times[row];
  }
  return true;
}

// Latest event ≤ entity time for every entity row of a time-ordered entity
// frame, in row order, so the result is written sequentially. A cursor per
// key holds the answer for the key's previous row; the next answer is a few
// steps on. REQUIRES: the entity times are non-decreasing (NonDecreasing).
void MatchInRowOrder(const SortedFeatures& features, const EntityKeyIndex::Probe& probe,
                     const data::Column& entity_time, int64_t ttl_micros, int workers,
                     int64_t* result) {
  const KeyBuckets& buckets = features.buckets;
  const size_t rows = probe.num_rows();
  const size_t num_keys = buckets.offsets.size() - 1;
  // Each chunk has its own cursors, so it should have more rows than keys.
  const size_t chunks = std::clamp<size_t>(rows / std::max(num_keys, kMinRowsPerChunk), 1,
                                           static_cast<size_t>(workers) * kTasksPerThread);
  const int64_t* times = entity_time.ints().data();
  const uint8_t* valid = entity_time.validity().data();
  ParallelFor(chunks, workers, [&](size_t chunk, int) {
    std::vector<uint32_t> cursors(num_keys, kNoCursor);  // per key: events ≤ previous time
    int32_t keys[kProbeBlockRows];
    const size_t chunk_end = rows * (chunk + 1) / chunks;
    for (size_t block = rows * chunk / chunks; block < chunk_end; block += kProbeBlockRows) {
      const size_t block_end = std::min(chunk_end, block + kProbeBlockRows);
      probe.KeysOf(block, block_end, keys);
      for (size_t row = block; row < block_end; ++row) {
        const int32_t key = keys[row - block];
        if (key == kNoKey || valid[row] == 0) continue;
        const size_t begin = buckets.begin(static_cast<size_t>(key));
        const size_t size = buckets.end(static_cast<size_t>(key)) - begin;
        const int64_t* event = buckets.times.data() + begin;
        const int64_t time = times[row];
        uint32_t& cursor = cursors[static_cast<size_t>(key)];
        size_t next;
        if (cursor != kNoCursor) {
          next = cursor;
          for (int step = 0; step < 8 && next < size && event[next] <= time; ++step) ++next;
          if (next < size && event[next] <= time) {  // a long gap: search the rest
            next += CountAtOrBefore(event + next, size - next, time);
          }
        } else {
          next = CountAtOrBefore(event, size, time);
        }
        cursor = static_cast<uint32_t>(next);
        if (next > 0 && event[next - 1] >= TtlLowerBound(time, ttl_micros)) {
          result[row] = buckets.rows[begin + next - 1];
        }
      }
    }
  });
}

// Latest event ≤ entity time for a key's entity rows, grouped by key: a
// merge when they are in time order, else a binary search per row.
void MatchLatest(const SortedFeatures& features, const KeyBuckets& entities, size_t key,
                 size_t probe_begin, size_t probe_end, int64_t ttl_micros, int64_t* result) {
  const size_t feature_begin = features.buckets.begin(key);
  const size_t size = features.buckets.end(key) - feature_begin;
  if (size == 0) return;
  const int64_t* event = features.buckets.times.data() + feature_begin;
  const uint32_t* feature_rows = features.buckets.rows.data() + feature_begin;
  const int64_t* times = entities.times.data();
  const uint32_t* entity_rows = entities.rows.data();
  const bool entities_sorted = std::is_sorted(times + probe_begin, times + probe_end);
  size_t next =
      entities_sorted && probe_begin < probe_end ? CountAtOrBefore(event, size, times[probe_begin]) : 0;
  for (size_t i = probe_begin; i < probe_end; ++i) {
    const int64_t time = times[i];
    if (entities_sorted) {
      while (next < size && event[next] <= time) ++next;
    } else {
      next = CountAtOrBefore(event, size, time);
    }
    if (next > 0 && event[next - 1] >= TtlLowerBound(time, ttl_micros)) {
      result[entity_rows[i]] = feature_rows[next - 1];
    }
  }
}

// Latest (event, created, row) among rows with event ≤ t and created ≤ t:
// sweep entities in time order, inserting feature rows as their created
// timestamp passes, and ask a Fenwick tree for the largest inserted
// position below the event bound.
void MatchCreatedBefore(const SortedFeatures& features, const KeyBuckets& entities, size_t key,
                        size_t probe_begin, size_t probe_end, int64_t ttl_micros,
                        Scratch& scratch, int64_t* result) {
  const size_t feature_begin = features.buckets.begin(key);
  const size_t size = features.buckets.end(key) - feature_begin;
  if (size == 0 || probe_begin == probe_end) return;
  const int64_t* event = features.buckets.times.data() + feature_begin;
  const int64_t* created = features.created.data() + feature_begin;
  const uint32_t* feature_rows = features.buckets.rows.data() + feature_begin;
  const int64_t* times = entities.times.data();

  std::vector<uint32_t>& by_created = scratch.other_order;
  by_created.resize(size);
  std::iota(by_created.begin(), by_created.end(), 0u);
  std::sort(by_created.begin(), by_created.end(),
            [&](uint32_t a, uint32_t b) { return created[a] < created[b]; });
  std::vector<uint32_t>& by_time = scratch.order;
  by_time.resize(probe_end - probe_begin);
  std::iota(by_time.begin(), by_time.end(), static_cast<uint32_t>(probe_begin));
  if (!std::is_sorted(times + probe_begin, times + probe_end)) {
    std::sort(by_time.begin(), by_time.end(),
              [&](uint32_t a, uint32_t b) { return times[a] < times[b]; });
  }
  std::vector<int32_t>& fenwick = scratch.fenwick;
  fenwick.assign(size + 1, -1);

  size_t inserted = 0;
  size_t event_bound = 0;
  for (const uint32_t i : by_time) {
    const int64_t time = times[i];
    for (; inserted < size && created[by_created[inserted]] <= time; ++inserted) {
      const auto position = static_cast<int32_t>(by_created[inserted]);
      for (size_t node = position + 1; node <= size; node += node & (~node + 1)) {
        fenwick[node] = std::max(fenwick[node], position);
      }
    }
    while (event_bound < size && event[event_bound] <= time) ++event_bound;
    int32_t best = -1;
    for (size_t node = event_bound; node > 0; node -= node & (~node + 1)) {
      best = std::max(best, fenwick[node]);
    }
    if (best >= 0 && event[best] >= TtlLowerBound(time, ttl_micros)) {
      result[entities.rows[i]] = feature_rows[best];
    }
  }
}

}  // namespace

Result<std::vector<int64_t>> PointInTimeMatch(const data::Frame& entities,
                                              const data::Frame& features,
                                              const PointInTimeOptions& options) {
  if (options.ttl_seconds < 0) {
    return InvalidArgument("ttl must not be negative, got " + std::to_string(options.ttl_seconds) +
                           "s");
  }
  if (options.threads < 0) {
    return InvalidArgument("threads must not be negative, got " +
                           std::to_string(options.threads));
  }
  KILN_ASSIGN_OR_RETURN(const data::Column* entity_time,
                        TimestampColumn(entities, options.entity_timestamp, "entity timestamp",
                                        "entity frame"));
  KILN_ASSIGN_OR_RETURN(const data::Column* event_time,
                        TimestampColumn(features, options.event_timestamp, "event timestamp",
                                        "feature frame"));
  const data::Column* created_time = nullptr;
  if (!options.created_timestamp.empty()) {
    KILN_ASSIGN_OR_RETURN(created_time,
                          TimestampColumn(features, options.created_timestamp,
                                          "created timestamp", "feature frame"));
  } else if (options.require_created_before_entity) {
    return InvalidArgument(
        "require_created_before_entity needs a created timestamp column in the feature frame");
  }

  KILN_ASSIGN_OR_RETURN(EntityKeyIndex index,
                        EntityKeyIndex::Build(features, options.join_keys, "feature frame"));
  KILN_ASSIGN_OR_RETURN(EntityKeyIndex::Probe probe, index.Bind(entities, "entity frame"));
  const size_t num_keys = index.num_keys();
  std::span<const int32_t> feature_keys = index.row_keys();
  std::vector<int32_t> eligible_keys;
  if (options.require_created_before_entity) {
    // A row whose creation time is unknown cannot be shown to precede anything.
    eligible_keys.assign(feature_keys.begin(), feature_keys.end());
    for (size_t row = 0; row < eligible_keys.size(); ++row) {
      if (created_time->IsNull(row)) eligible_keys[row] = kNoKey;
    }
    feature_keys = eligible_keys;
  }

  const int workers = ResolveThreads(options.threads);
  const SortedFeatures sorted =
      GroupFeatures(feature_keys, num_keys, *event_time, created_time, workers);
  const int64_t ttl_micros =
      options.ttl_seconds > std::numeric_limits<int64_t>::max() / data::kMicrosPerSecond
          ? 0
          : options.ttl_seconds * data::kMicrosPerSecond;
  std::vector<int64_t> result(entities.num_rows(), data::kNoRow);
  // Entity frames in time order (the common case) are matched in row
  // order; others are first grouped by key, which keeps each key's feature
  // rows in cache while its entity rows are matched.
  if (!options.require_created_before_entity && NonDecreasing(*entity_time)) {
    MatchInRowOrder(sorted, probe, *entity_time, ttl_micros, workers, result.data());
    return result;
  }
  std::vector<int32_t> entity_keys(entities.num_rows());
  ParallelFor((entity_keys.size() + kMinRowsPerChunk - 1) / kMinRowsPerChunk, workers,
              [&](size_t chunk, int) {
                const size_t begin = chunk * kMinRowsPerChunk;
                const size_t end = std::min(entity_keys.size(), begin + kMinRowsPerChunk);
                probe.KeysOf(begin, end, entity_keys.data() + begin);
              });
  const KeyBuckets entity_buckets = BucketByKey(entity_keys, num_keys, *entity_time, workers);
  const std::vector<KeyTask> tasks = PlanKeyTasks(
      sorted.buckets, entity_buckets, static_cast<size_t>(workers) * kTasksPerThread);
  std::vector<Scratch> scratch(static_cast<size_t>(workers));
  ParallelFor(tasks.size(), workers, [&](size_t t, int worker) {
    const KeyTask& task = tasks[t];
    for (size_t key = task.key_begin; key < task.key_end; ++key) {
      const size_t begin = std::max(task.probe_begin, entity_buckets.begin(key));
      const size_t end = std::min(task.probe_end, entity_buckets.end(key));
      if (begin >= end) continue;
      if (options.require_created_before_entity) {
        // The created-before rule sweeps each key's entity rows in time order.
        MatchCreatedBefore(sorted, entity_buckets, key, begin, end, ttl_micros,
                           scratch[static_cast<size_t>(worker)], result.data());
      } else {
        MatchLatest(sorted, entity_buckets, key, begin, end, ttl_micros, result.data());
      }
    }
  });
  return result;
}

}  // namespace kiln::features
