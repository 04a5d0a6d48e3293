#pragma once
// Input validation for the tracking store, with MLflow's rules and messages
// (mlflow/utils/validation.py). Each check names the offending request field
// by its JSON path ("key", "params[3].value") so a user can find it.
// Stateless and thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tracking/tracking_store.h"

namespace kiln::tracking {

// POSIX normpath: collapses "//", "." and "a/.." ("" becomes ".").
std::string NormalizePath(std::string_view path);

// Number of Unicode code points in UTF-8 text (what MLflow's len() counts).
size_t CharacterCount(std::string_view text);

// Metric, param and tag keys: non-empty; only alphanumerics, '_', '-', '.',
// ' ', ':' and '/'; must not change under NormalizePath (no "..", no leading
// or doubled '/'); at most kMaxEntityKeyLength characters.
Status ValidateKey(std::string_view path, std::string_view key);
// "'<path>' exceeds the maximum length of <limit> characters".
Status ValidateLength(std::string_view path, std::string_view value, size_t limit);

Status ValidateMetric(std::string_view path_prefix, const Metric& metric);
Status ValidateParam(std::string_view path_prefix, const Param& param);
Status ValidateRunTag(std::string_view path_prefix, const RunTag& tag);
Status ValidateExperimentTag(const ExperimentTag& tag);
Status ValidateExperimentName(std::string_view name);
Status ValidateArtifactLocation(std::string_view location);
Status ValidateDatasetInput(std::string_view path_prefix, const DatasetInput& input);

// "A batch logging request can contain at most <limit> <what>. Got <count> ..."
Status ValidateBatchLimit(std::string_view what, size_t limit, size_t count);

// Appends a field to a JSON path: ("", "key") -> "key", ("tags[1]", "key") -> "tags[1].key".
std::string FieldPath(std::string_view prefix, std::string_view field);

// The experiment id as the integer it is stored as. An id that is not a
// decimal integer cannot exist: kNotFound "No Experiment with id=... exists".
Result<int64_t> ParseExperimentId(std::string_view experiment_id);
Status ExperimentNotFound(std::string_view experiment_id);
Status RunNotFound(std::string_view run_id);

}  // namespace kiln::tracking
