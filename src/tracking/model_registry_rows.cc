#include "tracking/model_registry_rows.h"

namespace kiln::tracking::registry_rows {
namespace {

using storage::Connection;
using storage::Row;
using storage::SqlValue;

constexpr const char* kVersionColumns =
    "v.name, v.version, v.creation_time, v.last_updated_time, v.description, v.user_id, v.current_stage, "
    "v.source, v.run_id, v.run_link, v.status, v.status_message, v.storage_location";

std::optional<std::string> OptionalText(const Row& row, size_t i) {
  if (row.IsNull(i)) return std::nullopt;
  return row.String(i);
}

ModelVersion VersionFromRow(const Row& row) {
  ModelVersion version;
  version.name = row.String(0);
  version.version = row.Int(1);
  version.creation_timestamp = row.Int(2);
  version.last_updated_timestamp = row.Int(3);
  version.description = OptionalText(row, 4);
  version.user_id = OptionalText(row, 5);
  version.current_stage = row.String(6);
  version.source = row.String(7);
  version.run_id = OptionalText(row, 8);
  version.run_link = OptionalText(row, 9);
  version.status = row.String(10);
  version.status_message = OptionalText(row, 11);
  version.storage_location = row.IsNull(12) ? version.source : row.String(12);
  return version;
}

Result<std::vector<RegisteredModelAlias>> LoadAliases(Connection& connection, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection.Query("SELECT alias, version FROM registered_model_aliases WHERE name = ? "
                                         "ORDER BY alias",
                                         {name}));
  std::vector<RegisteredModelAlias> aliases;
  aliases.reserve(rows.size());
  for (const Row& row : rows) aliases.push_back({row.String(0), row.Int(1)});
  return aliases;
}

void AttachAliases(const std::vector<RegisteredModelAlias>& aliases, ModelVersion& version) {
  version.aliases.clear();
  for (const RegisteredModelAlias& alias : aliases) {
    if (alias.version == version.version) version.aliases.push_back(alias.alias);
  }
}

Status AttachTags(Connection& connection, ModelVersion& version) {
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection.Query("SELECT key, value FROM model_version_tags WHERE name = ? AND version = ? "
                                         "ORDER BY key",
                                         {version.name, version.version}));
  version.tags.clear();
  for (const Row& row : rows) version.tags.push_back({row.String(0), row.String(1)});
  return Status::Ok();
}

}  // namespace

Status ModelNotFound(const std::string& name) {
  return NotFound("Registered Model with name=" + name + " not found");
}

Status VersionNotFound(const std::string& name, int64_t version) {
  return NotFound("Model Version (name=" + name + ", version=" + std::to_string(version) + ") not found");
}

Status RequireModel(Connection& connection, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection.Query("SELECT 1 FROM registered_models WHERE name = ?", {name}));
  if (rows.empty()) return ModelNotFound(name);
  return Status::Ok();
}

Status RequireVersion(Connection& connection, const std::string& name, int64_t version) {
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection.Query("SELECT 1 FROM model_versions WHERE name = ? AND version = ?",
                                         {name, version}));
  if (!rows.empty()) return Status::Ok();
  KILN_RETURN_IF_ERROR(RequireModel(connection, name));
  return VersionNotFound(name, version);
}

Result<ModelVersion> LoadVersion(Connection& connection, const std::string& name, int64_t version) {
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection.Query(std::string("SELECT ") + kVersionColumns +
                                             " FROM model_versions v WHERE v.name = ? AND v.version = ?",
                                         {name, version}));
  if (rows.empty()) {
    KILN_RETURN_IF_ERROR(RequireModel(connection, name));
    return VersionNotFound(name, version);
  }
  ModelVersion loaded = VersionFromRow(rows[0]);
  KILN_RETURN_IF_ERROR(AttachTags(connection, loaded));
  KILN_ASSIGN_OR_RETURN(storage::Rows alias_rows,
                        connection.Query("SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ? "
                                         "ORDER BY alias",
                                         {name, version}));
  for (const Row& row : alias_rows) loaded.aliases.push_back(row.String(0));
  return loaded;
}

Result<std::map<int64_t, ModelVersion>> LoadAllVersions(Connection& connection, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection.Query(std::string("SELECT ") + kVersionColumns +
                                             " FROM model_versions v WHERE v.name = ? ORDER BY v.version",
                                         {name}));
  std::map<int64_t, ModelVersion> versions;
  for (const Row& row : rows) {
    ModelVersion version = VersionFromRow(row);
    versions.emplace(version.version, std::move(version));
  }
  if (versions.empty()) return versions;
  KILN_ASSIGN_OR_RETURN(storage::Rows tag_rows,
                        connection.Query("SELECT version, key, value FROM model_version_tags WHERE name = ? "
                                         "ORDER BY version, key",
                                         {name}));
  for (const Row& row : tag_rows) {
    auto it = versions.find(row.Int(0));
    if (it != versions.end()) it->second.tags.push_back({row.String(1), row.String(2)});
  }
  KILN_ASSIGN_OR_RETURN(std::vector<RegisteredModelAlias> aliases, LoadAliases(connection, name));
  for (auto& [number, version] : versions) AttachAliases(aliases, version);
  return versions;
}

Result<std::vector<ModelVersion>> LoadLatestVersions(Connection& connection, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(
      storage::Rows rows,
      connection.Query(std::string("SELECT ") + kVersionColumns +
                           " FROM model_versions v WHERE v.name = ? AND v.version = "
                           "(SELECT MAX(w.version) FROM model_versions w "
                           "WHERE w.name = v.name AND w.current_stage = v.current_stage) "
                           "ORDER BY v.version",
                       {name}));
  std::vector<ModelVersion> latest;
  latest.reserve(rows.size());
  for (const Row& row : rows) latest.push_back(VersionFromRow(row));
  if (latest.empty()) return latest;
  KILN_ASSIGN_OR_RETURN(std::vector<RegisteredModelAlias> aliases, LoadAliases(connection, name));
  for (ModelVersion& version : latest) {
    KILN_RETURN_IF_ERROR(AttachTags(connection, version));
    AttachAliases(aliases, version);
  }
  return latest;
}

Result<RegisteredModel> LoadModel(Connection& connection, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection.Query("SELECT name, creation_time, last_updated_time, description "
                                         "FROM registered_models WHERE name = ?",
                                         {name}));
  if (rows.empty()) return ModelNotFound(name);
  RegisteredModel model;
  model.name = rows[0].String(0);
  model.creation_timestamp = rows[0].Int(1);
  model.last_updated_timestamp = rows[0].Int(2);
  model.description = OptionalText(rows[0], 3);
  KILN_ASSIGN_OR_RETURN(storage::Rows tag_rows,
                        connection.Query("SELECT key, value FROM registered_model_tags WHERE name = ? ORDER BY key",
                                         {name}));
  for (const Row& row : tag_rows) model.tags.push_back({row.String(0), row.String(1)});
  KILN_ASSIGN_OR_RETURN(model.aliases, LoadAliases(connection, name));
  KILN_ASSIGN_OR_RETURN(model.latest_versions, LoadLatestVersions(connection, name));
  return model;
}

}  // namespace kiln::tracking::registry_rows
