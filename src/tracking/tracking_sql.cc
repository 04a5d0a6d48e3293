#include "tracking/tracking_sql.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::tracking {
namespace {

constexpr size_t kMaxKeysPerQuery = 512;

size_t PaddedSize(size_t count) {
  size_t size = 1;
  while (size < count) size *= 2;
  return size;
}

}  // namespace

std::string Placeholders(size_t count) {
  std::string out;
  out.reserve(count * 3);
  for (size_t i = 0; i < count; ++i) out += i == 0 ? "?" : ", ?";
  return out;
}

Status QueryInChunks(storage::Connection& connection, std::string_view before, std::string_view after,
                     const std::vector<storage::SqlValue>& leading, const std::vector<storage::SqlValue>& keys,
                     const storage::SqlValue& pad, const std::function<void(const storage::Row&)>& on_row) {
  for (size_t start = 0; start < keys.size(); start += kMaxKeysPerQuery) {
    size_t count = std::min(kMaxKeysPerQuery, keys.size() - start);
    size_t padded = PaddedSize(count);
    std::vector<storage::SqlValue> params = leading;
    params.reserve(leading.size() + padded);
    params.insert(params.end(), keys.begin() + start, keys.begin() + start + count);
    params.resize(leading.size() + padded, pad);
    std::string sql;
    sql.reserve(before.size() + after.size() + padded * 3 + 2);
    sql.append(before).append("(").append(Placeholders(padded)).append(")").append(after);
    KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection.Query(sql, params));
    for (const storage::Row& row : rows) on_row(row);
  }
  return Status::Ok();
}

StoredMetricValue EncodeMetricValue(double value) {
  if (std::isnan(value)) return {0.0, 1};
  return {value, 0};
}

double DecodeMetricValue(double stored, int64_t is_nan) {
  return is_nan != 0 ? std::numeric_limits<double>::quiet_NaN() : stored;
}

}  // namespace kiln::tracking
