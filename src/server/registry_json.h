#pragma once
// JSON for the model registry API, shaped as MLflow's model_registry.proto
// renders in protobuf JSON: versions are strings ("3"), timestamps are
// integers in milliseconds, status is "READY". Shared by the HTTP handlers
// and the CLI. Stateless and thread-safe.

#include <string_view>
#include <vector>

#include "common/json.h"
#include "tracking/model_registry.h"

namespace kiln::server {

// {"name", "creation_timestamp", "last_updated_timestamp", "description",
//  "latest_versions": [ModelVersion...], "tags": [{"key","value"}...],
//  "aliases": [{"alias","version"}...]}
Json RegisteredModelJson(const tracking::RegisteredModel& model);

// {"name", "version", "creation_timestamp", "last_updated_timestamp",
//  "current_stage", "description", "source", "status", "tags", "aliases",
//  and when set "user_id", "run_id", "run_link", "status_message"}
Json ModelVersionJson(const tracking::ModelVersion& version);

// Request parsing shared by the front doors.

// A version number sent as a string ("3", as MLflow clients do) or a JSON
// integer. Errors: kInvalidArgument naming the field ("" is missing).
Result<int64_t> VersionField(const JsonFields& fields, std::string_view name);
// An optional list of strings given as a JSON array or, from a query string,
// a single string.
Result<std::vector<std::string>> StringListField(const JsonFields& fields, std::string_view name);
// [{"key": "...", "value": "..."}...]; a missing value is "".
Result<std::vector<tracking::RegistryTag>> RegistryTagsField(const JsonFields& fields, std::string_view name);

}  // namespace kiln::server
