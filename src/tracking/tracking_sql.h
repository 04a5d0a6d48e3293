#pragma once
// SQL helpers private to the tracking store's .cc files: IN-list queries over
// many keys, and the NaN encoding of metric values. Stateless, thread-safe.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace kiln::tracking {

// "?, ?, ?" for `count` placeholders.
std::string Placeholders(size_t count);

// Runs `before + "(?, ..., ?)" + after` with `leading` bound first and then
// the keys, in chunks of at most 512 keys. Each chunk is padded with `pad`
// (a value no row has) to a power of two, so a connection prepares only a
// few distinct statements however many keys come in. Calls `on_row` per row.
Status QueryInChunks(storage::Connection& connection, std::string_view before, std::string_view after,
                     const std::vector<storage::SqlValue>& leading, const std::vector<storage::SqlValue>& keys,
                     const storage::SqlValue& pad, const std::function<void(const storage::Row&)>& on_row);

// Metric values as stored: NaN becomes (0, is_nan = 1) because SQLite turns
// NaN into NULL; +-Infinity are stored as themselves.
struct StoredMetricValue {
  double value = 0;
  int64_t is_nan = 0;
};
StoredMetricValue EncodeMetricValue(double value);
double DecodeMetricValue(double stored, int64_t is_nan);

}  // namespace kiln::tracking
