#pragma once
// Point-in-time matching, exactly as Feast joins a feature view to an entity
// frame (and as pandas merge_asof(direction="backward", by=keys,
// tolerance=ttl) does): for each entity row at time t, the feature row with
// the same join keys whose event timestamp e is the latest with e ≤ t and,
// when ttl > 0, e ≥ t − ttl (both bounds inclusive). Ties on e go to the
// latest created timestamp (a null created timestamp counts as the oldest),
// then to the later row. With require_created_before_entity only rows whose
// created timestamp is known and ≤ t take part, so the pick looks back past
// later corrections; TTL then applies to the row picked. A miss is kNoRow.
// Pure function of its inputs; uses `threads` worker threads.
// Cost, after hashing the keys: O(n + m) when both frames are in time order,
// else up to O(n log m + m log m) (n entity rows, m feature rows).

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "data/frame.h"

namespace kiln::features {

struct PointInTimeOptions {
  // Join-key columns, present under these names in both frames with the
  // same types (int64, string, bool or timestamp). None: every row shares
  // one key (a view without entities).
  std::vector<std::string> join_keys;
  std::string entity_timestamp;   // timestamp column of the entity frame
  std::string event_timestamp;    // timestamp column of the feature frame
  std::string created_timestamp;  // optional timestamp column of the feature frame
  int64_t ttl_seconds = 0;        // 0: unlimited
  bool require_created_before_entity = false;
  int threads = 0;  // 0: all cores
};

// result[i] is the feature-frame row for entity row i, or kNoRow. Rows with a
// null join key or null timestamp never match. Errors name the column and
// frame: a missing column, a join key typed differently in the two frames or
// float64, a timestamp column that is not a timestamp, a negative ttl or
// threads, require_created_before_entity without a created column.
Result<std::vector<int64_t>> PointInTimeMatch(const data::Frame& entities,
                                              const data::Frame& features,
                                              const PointInTimeOptions& options);

}  // namespace kiln::features
