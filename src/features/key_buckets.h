#pragma once
// KeyBuckets: the rows of a frame grouped by dense key id (from an
// EntityKeyIndex) with a stable, parallel counting sort, each row carried
// with its timestamp, so per-key kernels read contiguous memory. Plain data;
// thread-compatible.

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "data/column.h"

namespace kiln::features {

struct KeyBuckets {
  // The rows of key k are rows[offsets[k] .. offsets[k + 1]), ascending;
  // times[i] is the timestamp of rows[i].
  std::vector<uint32_t> offsets;
  std::vector<uint32_t> rows;
  std::vector<int64_t> times;

  size_t begin(size_t key) const { return offsets[key]; }
  size_t end(size_t key) const { return offsets[key + 1]; }
};

// Groups the rows whose key is not kNoKey and whose time is not null.
// REQUIRES: keys.size() == time.size() < 2^31; every key < num_keys; time
// stores ints (timestamp or int64).
KeyBuckets BucketByKey(std::span<const int32_t> keys, size_t num_keys, const data::Column& time,
                       int threads);

// Sorts each key's rows by (time, tiebreak, row), where `tiebreak` (may be
// null) runs beside rows and is permuted along. Keys already in order cost
// one pass. REQUIRES: tiebreak, if given, has one entry per bucketed row.
void SortEachBucket(KeyBuckets& buckets, std::vector<int64_t>* tiebreak, int threads);

// A unit of parallel work: the keys [key_begin, key_end), restricted to the
// probe rows (entity rows) at bucket positions [probe_begin, probe_end). A
// key with much work is split over several tasks by its probe rows.
struct KeyTask {
  size_t key_begin = 0;
  size_t key_end = 0;
  size_t probe_begin = 0;
  size_t probe_end = 0;
};

// About `tasks` tasks of roughly equal work (rows of both bucket sets) that
// together cover every key and every probe row once.
// REQUIRES: both have the same number of keys.
std::vector<KeyTask> PlanKeyTasks(const KeyBuckets& build, const KeyBuckets& probe, size_t tasks);

}  // namespace kiln::features
