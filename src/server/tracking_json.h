#pragma once
// MLflow's JSON shapes for the tracking entities (mlflow/protos/service.proto
// as MLflow's server renders them): int64 fields as JSON numbers, metric
// values as numbers or "NaN"/"Infinity"/"-Infinity", absent optional fields
// and empty lists omitted. Also parses the nested request pieces (tags,
// metrics, params, dataset inputs), naming fields by JSON path in errors
// ("Missing value for required parameter 'metrics[2].timestamp'...").
// Shared by the tracking and registry handlers and the CLI. Stateless.

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/json_writer.h"
#include "common/status.h"
#include "tracking/tracking_store.h"

namespace kiln::server {

// --- Rendering ---

// [{"key": ..., "value": ...}, ...]
Json TagsJson(const std::vector<tracking::Tag>& tags);
Json ExperimentJson(const tracking::Experiment& experiment);
// {"key", "value", "timestamp", "step"}
Json MetricJson(const tracking::Metric& metric);
// {"key", "value", "timestamp", "step", "run_id"}
Json MetricWithRunIdJson(const tracking::MetricWithRunId& metric);
Json RunInfoJson(const tracking::RunInfo& info);
Json DatasetInputJson(const tracking::DatasetInput& input);
// {"info": {...}, "data": {"metrics", "params", "tags"}, "inputs": {"dataset_inputs"}},
// written straight to text: runs are the bulk of search-runs responses.
void WriteRun(JsonWriter& writer, const tracking::Run& run);
// The same as a tree (parsed from WriteRun's text: one renderer, one shape).
Json RunJson(const tracking::Run& run);

// --- Parsing request fields of `message` ---

// A list of {"key", "value"} objects; key required, value defaults to "".
Result<std::vector<tracking::Tag>> ParseTags(const Json& message, std::string_view field);
// A list of {"key", "value", "timestamp", "step"}; step defaults to 0.
Result<std::vector<tracking::Metric>> ParseMetrics(const Json& message, std::string_view field);
Result<std::vector<tracking::Param>> ParseParams(const Json& message, std::string_view field);
// A list of {"tags": [...], "dataset": {"name", "digest", "source_type", "source", "schema", "profile"}}.
Result<std::vector<tracking::DatasetInput>> ParseDatasetInputs(const Json& message, std::string_view field);
// An array of strings, or one string (a query parameter given once).
Result<std::vector<std::string>> ParseStringList(const Json& message, std::string_view field);

}  // namespace kiln::server
