#pragma once
// Private to the model registry: reads registry rows into RegisteredModel and
// ModelVersion values on a caller-held connection (so writes can return what
// they wrote from inside their transaction), and the registry's not-found
// errors. Stateless; the connection is the caller's.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "storage/database.h"
#include "tracking/model_registry.h"

namespace kiln::tracking::registry_rows {

Status ModelNotFound(const std::string& name);
Status VersionNotFound(const std::string& name, int64_t version);

// OK when the model exists; kNotFound otherwise.
Status RequireModel(storage::Connection& connection, const std::string& name);
// OK when the version exists; kNotFound (naming the model when it is the
// model that is missing) otherwise.
Status RequireVersion(storage::Connection& connection, const std::string& name, int64_t version);

Result<RegisteredModel> LoadModel(storage::Connection& connection, const std::string& name);
Result<ModelVersion> LoadVersion(storage::Connection& connection, const std::string& name, int64_t version);
// Every version of a model with tags and aliases, keyed by version number.
Result<std::map<int64_t, ModelVersion>> LoadAllVersions(storage::Connection& connection,
                                                        const std::string& name);
// The newest version per stage, by version ascending, with tags and aliases.
Result<std::vector<ModelVersion>> LoadLatestVersions(storage::Connection& connection, const std::string& name);

}  // namespace kiln::tracking::registry_rows
