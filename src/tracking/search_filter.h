#pragma once
// MLflow's search grammar: filter strings ("metrics.acc > 0.9 AND
// params.model = 'xgb'") and order_by clauses ("metrics.acc DESC"), parsed
// and validated per searched entity exactly where MLflow is strict, into a
// small AST that search_plan compiles to SQL.
//
// Grammar (keywords are case-insensitive):
//   filter     := [ term { AND term } ]            -- no OR, no parentheses
//   term       := identifier comparator value
//   identifier := [ prefix "." ] key               -- no prefix = attribute
//   key        := word { "." word } | `quoted` | "quoted"
//   comparator := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
//                 | IS NULL | IS NOT NULL          -- parsed; no entity allows IS
//   value      := 'string' | "string" | number | ( 'string' { , 'string' } )
// Inside a quoted string a doubled quote stands for one quote; backslashes
// are kept as written (in LIKE patterns they escape % and _).
//
// Every error is kInvalidArgument: "Invalid filter '<text>' at position <N>:
// <what was expected>", N a 0-based character offset. Stateless, thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kiln::tracking {

// What is being searched; decides which identifiers and comparators exist.
enum class SearchEntity { kRuns, kExperiments, kRegisteredModels, kModelVersions };

// The left-hand side's kind (MLflow's "entity type").
enum class FilterKind { kAttribute, kMetric, kParam, kTag, kDataset };

enum class Comparator {
  kEqual,
  kNotEqual,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kLike,
  kILike,
  kIn,
  kNotIn,
  kIsNull,
  kIsNotNull,
};

// "=", "!=", "LIKE", "NOT IN", ...
std::string_view ComparatorText(Comparator comparator);

struct FilterValue {
  enum class Type { kNone, kString, kNumber, kList };
  Type type = Type::kNone;
  std::string text;                // kString: the unquoted content; kNumber: as written
  double number = 0;               // kNumber
  std::optional<int64_t> integer;  // kNumber written as an integer that fits int64
  std::vector<std::string> list;   // kList: the unquoted strings, in order
};

// One comparison. For attributes `key` is the canonical column-level name
// ("start_time" for "created", "run_name" for "Run name", "version_number").
struct FilterTerm {
  FilterKind kind = FilterKind::kAttribute;
  std::string key;
  Comparator comparator = Comparator::kEqual;
  FilterValue value;
  size_t position = 0;  // where the term starts in the filter string
};

// One order_by clause, e.g. {kMetric, "acc", false} for "metrics.acc DESC".
// Registered-model keys are canonical: "timestamp" becomes "last_updated_timestamp".
struct OrderTerm {
  FilterKind kind = FilterKind::kAttribute;
  std::string key;
  bool ascending = true;
};

// Parses and validates `filter` for `entity`. Empty or blank → no terms.
Result<std::vector<FilterTerm>> ParseSearchFilter(std::string_view filter, SearchEntity entity);

// Parses one order_by clause: identifier [ASC|DESC]. Errors read
// "Invalid order_by clause '<text>' at position <N>: ...".
Result<OrderTerm> ParseOrderBy(std::string_view clause, SearchEntity entity);

}  // namespace kiln::tracking
