#include "features/key_buckets.h"

#include <algorithm>
#include <numeric>

#include "features/entity_key_index.h"
#include "features/parallel_for.h"

namespace kiln::features {
namespace {

constexpr size_t kMinRowsPerChunk = 1 << 16;
constexpr size_t kMinTaskWork = 256;

struct SortScratch {
  std::vector<uint32_t> order;
  std::vector<uint32_t> rows;
  std::vector<int64_t> times;
  std::vector<int64_t> tiebreak;
};

void SortBucket(KeyBuckets& buckets, std::vector<int64_t>* tiebreak_column, size_t key,
                SortScratch& scratch) {
  const size_t begin = buckets.begin(key);
  const size_t size = buckets.end(key) - begin;
  int64_t* times = buckets.times.data() + begin;
  uint32_t* rows = buckets.rows.data() + begin;
  int64_t* tiebreak = tiebreak_column == nullptr ? nullptr : tiebreak_column->data() + begin;
  auto less = [&](size_t a, size_t b) {
    if (times[a] != times[b]) return times[a] < times[b];
    if (tiebreak != nullptr && tiebreak[a] != tiebreak[b]) return tiebreak[a] < tiebreak[b];
    return rows[a] < rows[b];
  };
  bool sorted = true;
  for (size_t i = 1; i < size && sorted; ++i) sorted = !less(i, i - 1);
  if (sorted) return;

  scratch.order.resize(size);
  std::iota(scratch.order.begin(), scratch.order.end(), 0u);
  std::sort(scratch.order.begin(), scratch.order.end(), less);
  scratch.times.assign(times, times + size);
  scratch.rows.assign(rows, rows + size);
  if (tiebreak != nullptr) scratch.tiebreak.assign(tiebreak, tiebreak + size);
  for (size_t i = 0; i < size; ++i) {
    const uint32_t from = scratch.order[i];
    times[i] = scratch.times[from];
    rows[i] = scratch.rows[from];
    if (tiebreak != nullptr) tiebreak[i] = scratch.tiebreak[from];
  }
}

}  // namespace

KeyBuckets BucketByKey(std::span<const int32_t> keys, size_t num_keys, const data::Column& time,
                       int threads) {
  const size_t rows = keys.size();
  const size_t chunks = std::max<size_t>(
      1, std::min<size_t>(static_cast<size_t>(ResolveThreads(threads)), rows / kMinRowsPerChunk));
  const size_t chunk_rows = (rows + chunks - 1) / chunks;
  const int64_t* times = time.ints().data();
  const uint8_t* valid = time.validity().data();

  // counts[chunk * num_keys + key]: first a histogram, then write positions.
  std::vector<uint32_t> counts(chunks * num_keys, 0);
  ParallelFor(chunks, static_cast<int>(chunks), [&](size_t chunk, int) {
    uint32_t* histogram = counts.data() + chunk * num_keys;
    const size_t end = std::min(rows, (chunk + 1) * chunk_rows);
    for (size_t row = chunk * chunk_rows; row < end; ++row) {
      const int32_t key = keys[row];
      if (key != kNoKey && valid[row] != 0) ++histogram[key];
    }
  });

  KeyBuckets buckets;
  buckets.offsets.resize(num_keys + 1);
  uint32_t total = 0;
  for (size_t key = 0; key < num_keys; ++key) {
    buckets.offsets[key] = total;
    for (size_t chunk = 0; chunk < chunks; ++chunk) {
      uint32_t& count = counts[chunk * num_keys + key];
      const uint32_t position = total;
      total += count;
      count = position;
    }
  }
  buckets.offsets[num_keys] = total;
  buckets.rows.resize(total);
  buckets.times.resize(total);

  ParallelFor(chunks, static_cast<int>(chunks), [&](size_t chunk, int) {
    uint32_t* position = counts.data() + chunk * num_keys;
    const size_t end = std::min(rows, (chunk + 1) * chunk_rows);
    uint32_t* out_rows = buckets.rows.data();
    int64_t* out_times = buckets.times.data();
    for (size_t row = chunk * chunk_rows; row < end; ++row) {
      const int32_t key = keys[row];
      if (key == kNoKey || valid[row] == 0) continue;
      const uint32_t at = position[key]++;
      out_rows[at] = static_cast<uint32_t>(row);
      out_times[at] = times[row];
    }
  });
  return buckets;
}

void SortEachBucket(KeyBuckets& buckets, std::vector<int64_t>* tiebreak, int threads) {
  const size_t num_keys = buckets.offsets.size() - 1;
  const int workers = ResolveThreads(threads);
  std::vector<SortScratch> scratch(static_cast<size_t>(workers));
  // Tasks of contiguous keys, so a million tiny keys do not mean a million tasks.
  const size_t tasks = std::min(num_keys, static_cast<size_t>(workers) * 16);
  ParallelFor(tasks, workers, [&](size_t task, int worker) {
    const size_t key_end = num_keys * (task + 1) / tasks;
    for (size_t key = num_keys * task / tasks; key < key_end; ++key) {
      SortBucket(buckets, tiebreak, key, scratch[static_cast<size_t>(worker)]);
    }
  });
}

std::vector<KeyTask> PlanKeyTasks(const KeyBuckets& build, const KeyBuckets& probe, size_t tasks) {
  const size_t num_keys = build.offsets.size() - 1;
  const size_t total = build.rows.size() + probe.rows.size();
  // Tiny tasks cost more to hand out than to run.
  const size_t target = std::max<size_t>(kMinTaskWork, total / std::max<size_t>(1, tasks));
  std::vector<KeyTask> plan;
  size_t begin = 0;
  size_t work = 0;
  auto flush = [&](size_t end) {
    if (begin < end) plan.push_back({begin, end, probe.begin(begin), probe.begin(end)});
    begin = end;
    work = 0;
  };
  for (size_t key = 0; key < num_keys; ++key) {
    const size_t probe_rows = probe.end(key) - probe.begin(key);
    const size_t key_work = (build.end(key) - build.begin(key)) + probe_rows;
    if (key_work > 2 * target && probe_rows > 1) {
      flush(key);
      const size_t pieces = std::min(probe_rows, (key_work + target - 1) / target);
      for (size_t piece = 0; piece < pieces; ++piece) {
        plan.push_back({key, key + 1, probe.begin(key) + probe_rows * piece / pieces,
                        probe.begin(key) + probe_rows * (piece + 1) / pieces});
      }
      begin = key + 1;
      continue;
    }
    work += key_work;
    if (work >= target) flush(key + 1);
  }
  flush(num_keys);
  return plan;
}

}  // namespace kiln::features
