#pragma once
// Compiles MLflow searches (filter string, order_by list, paging) into one
// dialect-neutral SQL query per search that selects the matching keys in
// result order. The caller runs the SQL, keeps the first page_size rows, and
// returns EncodePageToken(offset + page_size) as next_page_token iff it got
// page_size + 1 rows. Stateless and thread-safe.
//
// Semantics follow MLflow's SQL store: comparisons on metrics, params, tags
// and datasets only match entities that have that key; metric comparisons
// use the latest value and never match NaN except with != ; rows missing an
// order_by key sort last in both directions (for metrics: numbers, then NaN,
// then missing). LIKE is case-sensitive with '\' as its escape character;
// ILIKE compiles to LOWER(x) LIKE LOWER(?).
//
// max_results: 0 means "not given" and takes MLflow's default; negative or
// above MLflow's limit is kInvalidArgument with MLflow's message.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/sql_value.h"

namespace kiln::tracking {

// MLflow's defaults and limits for max_results.
inline constexpr int64_t kRunSearchDefaultMaxResults = 1000;
inline constexpr int64_t kRunSearchMaxResults = 50000;
inline constexpr int64_t kExperimentSearchDefaultMaxResults = 1000;
inline constexpr int64_t kExperimentSearchMaxResults = 50000;
inline constexpr int64_t kRegisteredModelSearchDefaultMaxResults = 100;
inline constexpr int64_t kRegisteredModelSearchMaxResults = 1000;
inline constexpr int64_t kModelVersionSearchDefaultMaxResults = 10000;
inline constexpr int64_t kModelVersionSearchMaxResults = 200000;

enum class ViewType { kActiveOnly, kDeletedOnly, kAll };

// Parses MLflow's "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL" (also the enum
// numbers 1, 2, 3; case-insensitive); empty → ACTIVE_ONLY.
Result<ViewType> ParseViewType(std::string_view text);

struct SearchQuery {
  std::string sql;  // dialect-neutral, '?' placeholders
  std::vector<storage::SqlValue> params;
  int64_t offset = 0;     // decoded from page_token
  int64_t page_size = 0;  // = max_results; the SQL has LIMIT page_size+1 OFFSET offset
};

// Runs: SQL selecting one column, run_uuid, in result order. Default order:
// start_time DESC, then run_uuid.
// REQUIRES: experiment_ids non-empty (else kInvalidArgument).
Result<SearchQuery> PlanRunSearch(const std::vector<int64_t>& experiment_ids, std::string_view filter,
                                  ViewType view, int64_t max_results,
                                  const std::vector<std::string>& order_by, std::string_view page_token);

// Experiments: SQL selecting experiment_id. Filter over name, creation_time,
// last_update_time, tags.*. Default order: creation_time DESC, experiment_id.
Result<SearchQuery> PlanExperimentSearch(std::string_view filter, ViewType view, int64_t max_results,
                                         const std::vector<std::string>& order_by,
                                         std::string_view page_token);

// Registered models: SQL selecting name. Filter over name (=, !=, LIKE,
// ILIKE) and tags.*. Default order: name. Like MLflow, prompts (tag
// mlflow.prompt.is_prompt = 'true') are left out unless the filter asks for them.
Result<SearchQuery> PlanRegisteredModelSearch(std::string_view filter, int64_t max_results,
                                              const std::vector<std::string>& order_by,
                                              std::string_view page_token);

// Model versions: SQL selecting name, version. Filter over name,
// version_number, run_id (incl. IN), source_path, tags.*. Default order:
// last_updated_time DESC, name, version DESC. Skips versions in MLflow's
// internal 'Deleted_Internal' stage and prompt versions, as MLflow does.
Result<SearchQuery> PlanModelVersionSearch(std::string_view filter, int64_t max_results,
                                           const std::vector<std::string>& order_by,
                                           std::string_view page_token);

// Opaque page tokens: base64 of the JSON {"offset": N}, as MLflow writes
// them. Decoding accepts standard or URL-safe base64 with or without
// padding; "" decodes to 0. Bad tokens → kInvalidArgument "Invalid page token...".
std::string EncodePageToken(int64_t offset);
Result<int64_t> DecodePageToken(std::string_view token);

}  // namespace kiln::tracking
