#pragma once
// Expectations: the per-feature checks run on every batch that reaches the
// online or offline store (materialization and push) — type, range
// (min/max), allowed values and the maximum null fraction of the batch — and
// the quarantine table where failing rows are kept with their reason.
// Format of the table: docs/formats/quarantine.md.
// Stateless functions; safe from any thread.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/frame.h"
#include "features/definitions.h"

namespace kiln::storage {
class Connection;
class Database;
}  // namespace kiln::storage

namespace kiln::features {

// One feature's values over a batch, with the definition holding its
// expectations. Both pointers are borrowed.
struct CheckedFeature {
  const FeatureDef* def = nullptr;
  const data::Column* values = nullptr;
  std::string label;  // the name reasons show; def->name when empty
};

// The outcome of checking a batch.
struct ExpectationReport {
  // One entry per row: "" when the row passes, else every reason it fails,
  // joined by "; ", e.g. "feature 'delay_mean_1d' = 2900 above max 1000".
  std::vector<std::string> reasons;
  int64_t failed_rows = 0;
};

// Checks each feature's values against its expectations. Null values pass
// the type, range and allowed-values checks; they fail only when the
// feature's null fraction over the batch exceeds max_null_fraction, and then
// every row where it is null fails. NaN fails a range check.
// REQUIRES: every values column has num_rows entries.
ExpectationReport CheckExpectations(std::span<const CheckedFeature> features, size_t num_rows);

// The row of `frame` as a JSON object {"column": value, …}: numbers and
// booleans as JSON, NaN and ±infinity as "NaN", "Infinity", "-Infinity",
// timestamps as ISO 8601 strings, nulls as null.
std::string RowToJson(const data::Frame& frame, size_t row);

// A row to keep in quarantine.
struct QuarantineEntry {
  std::string reason;
  std::string row_json;
};

// Appends `entries` to feature_quarantine, all with the same project,
// object (a view or a source), origin ("materialize" or "push") and time.
Status InsertQuarantine(storage::Connection& connection, const std::string& project,
                        const std::string& object, std::string_view origin,
                        std::span<const QuarantineEntry> entries, int64_t created_millis);

}  // namespace kiln::features
