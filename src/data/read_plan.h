#pragma once
// Internal to the data module: what the CSV and JSON-lines readers share —
// turning the source's column names plus ReadOptions into the list of
// output columns (projection, declared and timestamp types), and the type
// lattice of inference (int64 → float64 → string; bool; null). Stateless.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "data/csv.h"

namespace kiln::data {

struct PlannedColumn {
  std::string name;
  size_t source = 0;             // index among the source's columns
  std::optional<Type> declared;  // kTimestamp for timestamp_columns
};

struct ReadPlan {
  std::vector<PlannedColumn> columns;  // output order
  std::vector<int> slot_of_source;     // source index → output index, -1 when dropped
};

// Errors name `source`: "flights.csv: no column 'x' (columns: a, b)".
Result<ReadPlan> PlanColumns(const std::vector<std::string>& source_names, const ReadOptions& options,
                             const std::string& source);

// Kinds of values seen in a column, or-ed together while reading.
enum SeenKind : uint8_t {
  kSeenNull = 1,         // empty field / JSON null / missing key
  kSeenEmptyQuoted = 2,  // CSV "": null unless the column is a string
  kSeenBool = 4,
  kSeenInt = 8,
  kSeenFloat = 16,
  kSeenString = 32,
};

// The narrowest type holding every kind seen: only ints → int64; ints and
// floats → float64; only bools → bool; anything mixed with a string, or
// bools mixed with numbers → string; nothing but nulls → float64 (a quoted
// empty field makes it string).
Type InferType(uint8_t seen);

// Classifies CSV text (not empty): kSeenInt, kSeenFloat, kSeenBool or kSeenString.
uint8_t ClassifyText(std::string_view text);

}  // namespace kiln::data
