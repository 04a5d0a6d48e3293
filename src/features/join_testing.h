#pragma once
// Test helpers for the join and aggregation suites (only *_test.cc files
// include this): columns from literal lists with std::nullopt for null, and
// frames from named columns. Header-only so it stays out of kiln_features.

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/frame.h"
#include "data/timestamp.h"

namespace kiln::features::join_testing {

inline int64_t Seconds(int64_t seconds) { return seconds * data::kMicrosPerSecond; }

inline data::Column IntColumn(data::Type type, const std::vector<std::optional<int64_t>>& values) {
  data::Column column(type);
  for (const std::optional<int64_t>& value : values) {
    if (value) {
      column.AppendInt(*value);
    } else {
      column.AppendNull();
    }
  }
  return column;
}

inline data::Column Ints(const std::vector<std::optional<int64_t>>& values) {
  return IntColumn(data::Type::kInt64, values);
}

// Timestamps given in whole seconds.
inline data::Column Times(const std::vector<std::optional<int64_t>>& seconds) {
  std::vector<std::optional<int64_t>> micros;
  for (const std::optional<int64_t>& value : seconds) {
    micros.push_back(value ? std::optional<int64_t>(Seconds(*value)) : std::nullopt);
  }
  return IntColumn(data::Type::kTimestamp, micros);
}

inline data::Column Floats(const std::vector<std::optional<double>>& values) {
  data::Column column(data::Type::kFloat64);
  for (const std::optional<double>& value : values) {
    if (value) {
      column.AppendFloat(*value);
    } else {
      column.AppendNull();
    }
  }
  return column;
}

inline data::Column Strings(const std::vector<std::optional<std::string>>& values) {
  data::Column column(data::Type::kString);
  for (const std::optional<std::string>& value : values) {
    if (value) {
      column.AppendString(*value);
    } else {
      column.AppendNull();
    }
  }
  return column;
}

// REQUIRES: distinct names and equally long columns.
inline data::Frame MakeFrame(std::vector<std::pair<std::string, data::Column>> columns) {
  data::Frame frame;
  for (auto& [name, column] : columns) {
    Status status = frame.AddColumn(name, std::move(column));
    if (!status.ok()) std::abort();
  }
  return frame;
}

}  // namespace kiln::features::join_testing
