#include "tracking/model_registry.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "common/json.h"
#include "tracking/model_registry_rows.h"
#include "tracking/search_plan.h"
#include "tracking/tracking_store.h"
#include "tracking/tracking_validation.h"

namespace kiln::tracking {
namespace {

using registry_rows::LoadModel;
using registry_rows::LoadVersion;
using registry_rows::ModelNotFound;
using registry_rows::RequireModel;
using registry_rows::RequireVersion;
using storage::Connection;
using storage::SqlNull;
using storage::SqlValue;

Status ModelExists(const std::string& name) {
  return AlreadyExists("Registered Model (name=" + name + ") already exists.");
}

Status AliasNotFound(const std::string& alias) {
  return NotFound("Registered model alias " + alias + " not found.");
}

SqlValue OptionalText(const std::optional<std::string>& text) {
  if (!text) return SqlNull();
  return *text;
}

SqlValue TextOrNull(const std::string& text) {
  if (text.empty()) return SqlNull();
  return text;
}

// Later duplicates of a key win, as in MLflow (tags become a dict).
std::vector<RegistryTag> UniqueTags(const std::vector<RegistryTag>& tags) {
  std::map<std::string, std::string> by_key;
  for (const RegistryTag& tag : tags) by_key[tag.key] = tag.value;
  std::vector<RegistryTag> out;
  for (auto& [key, value] : by_key) out.push_back({key, value});
  return out;
}

Status ValidateTags(const std::vector<RegistryTag>& tags) {
  for (const RegistryTag& tag : tags) KILN_RETURN_IF_ERROR(ValidateRegistryTag(tag.key, tag.value));
  return Status::Ok();
}

// "base" + "/" + "path" without doubled or trailing slashes.
std::string JoinUri(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return std::string(base);
  return std::string(base) + "/" + std::string(path);
}

bool HasPrefixIgnoringCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// A local source or artifact URI as a normalized absolute path ("" when it
// is not an absolute local path).
std::string LocalPath(std::string_view uri) {
  if (HasPrefixIgnoringCase(uri, "file://localhost/")) {
    uri.remove_prefix(std::string_view("file://localhost").size());
  } else if (HasPrefixIgnoringCase(uri, "file://")) {
    uri.remove_prefix(std::string_view("file://").size());
  } else if (HasPrefixIgnoringCase(uri, "file:")) {
    uri.remove_prefix(std::string_view("file:").size());
  }
  if (uri.empty() || uri.front() != '/') return "";
  return NormalizePath(uri);
}

Status LocalSourceOutsideRun(const std::string& source) {
  return InvalidArgument("Invalid model version source: '" + source +
                         "'. To use a local path as a model version source, the run_id request parameter has to "
                         "be specified and the local path has to be contained within the artifact directory of the "
                         "run specified by the run_id.");
}

Status UpsertModelTag(Connection& connection, const std::string& name, const RegistryTag& tag) {
  auto written = connection.Execute(
      "INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?) "
      "ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
      {name, tag.key, tag.value});
  return written.ok() ? Status::Ok() : written.status();
}

Status UpsertVersionTag(Connection& connection, const std::string& name, int64_t version, const RegistryTag& tag) {
  auto written = connection.Execute(
      "INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
      {name, version, tag.key, tag.value});
  return written.ok() ? Status::Ok() : written.status();
}

Status Exec(Connection& connection, std::string_view sql, const std::vector<SqlValue>& params) {
  auto changed = connection.Execute(sql, params);
  return changed.ok() ? Status::Ok() : changed.status();
}

// The version an alias points at, or kNotFound naming the model or the alias.
Result<int64_t> AliasTarget(Connection& connection, const std::string& name, const std::string& alias) {
  KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                        connection.Query("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                                         {name, alias}));
  if (!rows.empty()) return rows[0].Int(0);
  KILN_RETURN_IF_ERROR(RequireModel(connection, name));
  return AliasNotFound(alias);
}

}  // namespace

ModelRegistry::ModelRegistry(storage::Database& database, TrackingStore& tracking, Clock& clock)
    : database_(database), tracking_(tracking), clock_(clock) {}

// --- Registered models ---

Result<RegisteredModel> ModelRegistry::CreateRegisteredModel(const std::string& name,
                                                             const std::vector<RegistryTag>& tags,
                                                             const std::optional<std::string>& description) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_RETURN_IF_ERROR(ValidateTags(tags));
  const int64_t now = clock_.NowMillis();
  RegisteredModel created;
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](Connection& connection) -> Status {
    KILN_ASSIGN_OR_RETURN(storage::Rows existing,
                          connection.Query("SELECT 1 FROM registered_models WHERE name = ?", {name}));
    if (!existing.empty()) return ModelExists(name);
    Status inserted = Exec(connection,
                          "INSERT INTO registered_models (name, creation_time, last_updated_time, description, "
                          "last_version) VALUES (?, ?, ?, ?, 0)",
                          {name, now, now, OptionalText(description)});
    if (inserted.code() == StatusCode::kAlreadyExists) return ModelExists(name);  // lost a race
    KILN_RETURN_IF_ERROR(inserted);
    for (const RegistryTag& tag : UniqueTags(tags)) KILN_RETURN_IF_ERROR(UpsertModelTag(connection, name, tag));
    KILN_ASSIGN_OR_RETURN(created, LoadModel(connection, name));
    return Status::Ok();
  }));
  return created;
}

Result<RegisteredModel> ModelRegistry::GetRegisteredModel(const std::string& name) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  return LoadModel(*connection, name);
}

Result<RegisteredModel> ModelRegistry::RenameRegisteredModel(const std::string& name, const std::string& new_name,
                                                             const std::string& actor) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_RETURN_IF_ERROR(ValidateModelName(new_name, "new_name"));
  const int64_t now = clock_.NowMillis();
  RegisteredModel renamed;
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireModel(connection, name));
    if (new_name != name) {
      KILN_ASSIGN_OR_RETURN(storage::Rows taken,
                            connection.Query("SELECT 1 FROM registered_models WHERE name = ?", {new_name}));
      if (!taken.empty()) return ModelExists(new_name);
      // Versions, their tags, model tags, aliases, alias history, promotions
      // and lineage follow by ON UPDATE CASCADE.
      Status updated = Exec(connection, "UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?",
                           {new_name, now, name});
      if (updated.code() == StatusCode::kAlreadyExists) return ModelExists(new_name);
      KILN_RETURN_IF_ERROR(updated);
      // Each alias now answers to the new name: one history row per alias.
      KILN_ASSIGN_OR_RETURN(storage::Rows aliases,
                            connection.Query("SELECT alias, version FROM registered_model_aliases WHERE name = ? "
                                             "ORDER BY alias",
                                             {new_name}));
      for (const storage::Row& row : aliases) {
        KILN_RETURN_IF_ERROR(AppendAliasMove(connection, {.name = new_name,
                                                          .alias = row.String(0),
                                                          .from_version = row.Int(1),
                                                          .to_version = row.Int(1),
                                                          .actor = actor,
                                                          .timestamp = now,
                                                          .reason = "renamed from '" + name + "'"}));
      }
    } else {
      KILN_RETURN_IF_ERROR(
          Exec(connection, "UPDATE registered_models SET last_updated_time = ? WHERE name = ?", {now, name}));
    }
    KILN_RETURN_IF_ERROR(
        Exec(connection, "UPDATE model_versions SET last_updated_time = ? WHERE name = ?", {now, new_name}));
    KILN_ASSIGN_OR_RETURN(renamed, LoadModel(connection, new_name));
    return Status::Ok();
  }));
  return renamed;
}

Result<RegisteredModel> ModelRegistry::UpdateRegisteredModel(const std::string& name,
                                                             const std::optional<std::string>& description) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  const int64_t now = clock_.NowMillis();
  RegisteredModel updated;
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](Connection& connection) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t changed,
                          connection.Execute("UPDATE registered_models SET description = ?, last_updated_time = ? "
                                             "WHERE name = ?",
                                             {OptionalText(description), now, name}));
    if (changed == 0) return ModelNotFound(name);
    KILN_ASSIGN_OR_RETURN(updated, LoadModel(connection, name));
    return Status::Ok();
  }));
  return updated;
}

Status ModelRegistry::DeleteRegisteredModel(const std::string& name) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  return database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireModel(connection, name));
    // Children first: the foreign keys do not cascade deletes.
    KILN_RETURN_IF_ERROR(Exec(connection,
                             "DELETE FROM model_promotion_checks WHERE promotion_id IN "
                             "(SELECT id FROM model_promotions WHERE name = ?)",
                             {name}));
    KILN_RETURN_IF_ERROR(Exec(connection, "DELETE FROM model_promotions WHERE name = ?", {name}));
    KILN_RETURN_IF_ERROR(Exec(connection, "DELETE FROM registered_model_alias_history WHERE name = ?", {name}));
    KILN_RETURN_IF_ERROR(Exec(connection, "DELETE FROM model_version_lineage WHERE name = ?", {name}));
    KILN_RETURN_IF_ERROR(Exec(connection, "DELETE FROM model_version_tags WHERE name = ?", {name}));
    KILN_RETURN_IF_ERROR(Exec(connection, "DELETE FROM registered_model_aliases WHERE name = ?", {name}));
    KILN_RETURN_IF_ERROR(Exec(connection, "DELETE FROM model_versions WHERE name = ?", {name}));
    KILN_RETURN_IF_ERROR(Exec(connection, "DELETE FROM registered_model_tags WHERE name = ?", {name}));
    return Exec(connection, "DELETE FROM registered_models WHERE name = ?", {name});
  });
}

Result<RegisteredModelPage> ModelRegistry::SearchRegisteredModels(std::string_view filter, int64_t max_results,
                                                                  const std::vector<std::string>& order_by,
                                                                  std::string_view page_token) {
  KILN_ASSIGN_OR_RETURN(SearchQuery query, PlanRegisteredModelSearch(filter, max_results, order_by, page_token));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(query.sql, query.params));
  RegisteredModelPage page;
  const size_t keep = std::min(rows.size(), static_cast<size_t>(query.page_size));
  for (size_t i = 0; i < keep; ++i) {
    auto model = LoadModel(*connection, rows[i].String(0));
    if (model.status().code() == StatusCode::kNotFound) continue;  // deleted meanwhile
    if (!model.ok()) return model.status();
    page.models.push_back(std::move(*model));
  }
  if (rows.size() > static_cast<size_t>(query.page_size)) {
    page.next_page_token = EncodePageToken(query.offset + query.page_size);
  }
  return page;
}

Result<std::vector<ModelVersion>> ModelRegistry::GetLatestVersions(const std::string& name,
                                                                   const std::vector<std::string>& stages) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  std::set<std::string> wanted;
  for (const std::string& stage : stages) {
    KILN_ASSIGN_OR_RETURN(std::string canonical, CanonicalStage(stage));
    wanted.insert(canonical);
  }
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_RETURN_IF_ERROR(RequireModel(*connection, name));
  KILN_ASSIGN_OR_RETURN(std::vector<ModelVersion> latest, registry_rows::LoadLatestVersions(*connection, name));
  if (wanted.empty()) return latest;
  std::vector<ModelVersion> selected;
  for (ModelVersion& version : latest) {
    if (wanted.count(version.current_stage) > 0) selected.push_back(std::move(version));
  }
  return selected;
}

Status ModelRegistry::SetRegisteredModelTag(const std::string& name, const std::string& key,
                                            const std::string& value) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_RETURN_IF_ERROR(ValidateRegistryTag(key, value));
  return database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireModel(connection, name));
    return UpsertModelTag(connection, name, {key, value});
  });
}

Status ModelRegistry::DeleteRegisteredModelTag(const std::string& name, const std::string& key) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_RETURN_IF_ERROR(ValidateKey("key", key));
  return database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireModel(connection, name));
    return Exec(connection, "DELETE FROM registered_model_tags WHERE name = ? AND key = ?", {name, key});
  });
}

// --- Model versions ---

Result<std::string> ModelRegistry::RunArtifactUri(const std::string& run_id) {
  KILN_ASSIGN_OR_RETURN(tracking::Run run, tracking_.GetRun(run_id));
  return run.info.artifact_uri;
}

Result<ModelRegistry::ResolvedSource> ModelRegistry::ResolveSource(const NewModelVersion& request) {
  const std::string& source = request.source;
  ResolvedSource resolved;
  if (!request.run_id.empty()) resolved.run_id = request.run_id;

  if (HasPrefixIgnoringCase(source, "runs:")) {
    // runs:/<run_id>/<path inside the run's artifacts>
    KILN_RETURN_IF_ERROR(ValidateSourceHasNoRelativePaths(source));
    std::string_view rest = std::string_view(source).substr(std::string_view("runs:").size());
    while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    size_t slash = rest.find('/');
    std::string run_id(rest.substr(0, slash));
    std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (run_id.empty()) {
      return InvalidArgument("Invalid model version source: '" + source + "'. Expected runs:/<run_id>/<path>.");
    }
    if (resolved.run_id && *resolved.run_id != run_id) {
      return InvalidArgument("Invalid model version source: '" + source + "' names run " + run_id +
                             " but run_id is " + *resolved.run_id + ".");
    }
    KILN_ASSIGN_OR_RETURN(std::string artifact_uri, RunArtifactUri(run_id));
    resolved.storage_location = JoinUri(artifact_uri, path);
    resolved.run_id = run_id;
    return resolved;
  }

  if (HasPrefixIgnoringCase(source, "models:")) {
    KILN_ASSIGN_OR_RETURN(ModelVersion from, Resolve(source));
    resolved.storage_location = from.storage_location;
    if (!resolved.run_id) resolved.run_id = from.run_id;
    if (!request.run_id.empty()) KILN_RETURN_IF_ERROR(RunArtifactUri(request.run_id).status());
    return resolved;
  }

  if (IsLocalSource(source)) {
    // Only inside the artifact directory of the run it came from (MLflow).
    if (!resolved.run_id) return LocalSourceOutsideRun(source);
    KILN_ASSIGN_OR_RETURN(std::string artifact_uri, RunArtifactUri(*resolved.run_id));
    std::string source_path = LocalPath(source);
    std::string run_path = LocalPath(artifact_uri);
    bool inside = !source_path.empty() && !run_path.empty() &&
                  (source_path == run_path || source_path.rfind(JoinUri(run_path, "") + "/", 0) == 0);
    if (!inside) return LocalSourceOutsideRun(source);
    resolved.storage_location = source;
    return resolved;
  }

  KILN_RETURN_IF_ERROR(ValidateSourceHasNoRelativePaths(source));
  if (resolved.run_id) KILN_RETURN_IF_ERROR(RunArtifactUri(*resolved.run_id).status());
  resolved.storage_location = source;
  return resolved;
}

Result<ModelVersion> ModelRegistry::CreateModelVersion(const NewModelVersion& request) {
  KILN_RETURN_IF_ERROR(ValidateModelName(request.name));
  if (request.source.empty()) return MissingParameter("source");
  KILN_RETURN_IF_ERROR(ValidateTags(request.tags));
  // Outside the transaction: the tracking store takes its own connection.
  KILN_ASSIGN_OR_RETURN(ResolvedSource resolved, ResolveSource(request));
  const int64_t now = clock_.NowMillis();
  ModelVersion created;
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](Connection& connection) -> Status {
    // Bumping the counter first also locks the model row (PostgreSQL), so
    // concurrent registrations of one model number their versions in turn.
    KILN_ASSIGN_OR_RETURN(int64_t changed,
                          connection.Execute("UPDATE registered_models SET last_version = last_version + 1, "
                                             "last_updated_time = ? WHERE name = ?",
                                             {now, request.name}));
    if (changed == 0) return ModelNotFound(request.name);
    KILN_ASSIGN_OR_RETURN(storage::Rows rows,
                          connection.Query("SELECT last_version FROM registered_models WHERE name = ?",
                                           {request.name}));
    const int64_t version = rows.at(0).Int(0);
    KILN_RETURN_IF_ERROR(Exec(connection,
                             "INSERT INTO model_versions (name, version, creation_time, last_updated_time, "
                             "description, user_id, current_stage, source, run_id, run_link, status, "
                             "status_message, storage_location) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'READY', "
                             "NULL, ?)",
                             {request.name, version, now, now, OptionalText(request.description),
                              TextOrNull(request.user_id), std::string(kStageNone), request.source,
                              OptionalText(resolved.run_id), TextOrNull(request.run_link),
                              resolved.storage_location}));
    for (const RegistryTag& tag : UniqueTags(request.tags)) {
      KILN_RETURN_IF_ERROR(UpsertVersionTag(connection, request.name, version, tag));
    }
    if (resolved.run_id) {
      // The run's project and start, for iteration statistics.
      KILN_ASSIGN_OR_RETURN(storage::Rows run,
                            connection.Query("SELECT experiment_id, start_time FROM runs WHERE run_uuid = ?",
                                             {*resolved.run_id}));
      if (!run.empty()) {  // else deleted for good meanwhile: no lineage
        KILN_RETURN_IF_ERROR(Exec(connection,
                                 "INSERT INTO model_version_lineage (name, version, run_id, experiment_id, "
                                 "run_start_time, registered_time) VALUES (?, ?, ?, ?, ?, ?)",
                                 {request.name, version, *resolved.run_id, run[0].Int(0), run[0].Int(1), now}));
      }
    }
    KILN_ASSIGN_OR_RETURN(created, LoadVersion(connection, request.name, version));
    return Status::Ok();
  }));
  return created;
}

Result<ModelVersion> ModelRegistry::GetModelVersion(const std::string& name, int64_t version) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  return LoadVersion(*connection, name, version);
}

Result<ModelVersion> ModelRegistry::UpdateModelVersion(const std::string& name, int64_t version,
                                                       const std::optional<std::string>& description) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  const int64_t now = clock_.NowMillis();
  ModelVersion updated;
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireVersion(connection, name, version));
    KILN_RETURN_IF_ERROR(Exec(connection,
                             "UPDATE model_versions SET description = ?, last_updated_time = ? "
                             "WHERE name = ? AND version = ?",
                             {OptionalText(description), now, name, version}));
    KILN_ASSIGN_OR_RETURN(updated, LoadVersion(connection, name, version));
    return Status::Ok();
  }));
  return updated;
}

Result<ModelVersion> ModelRegistry::TransitionModelVersionStage(const std::string& name, int64_t version,
                                                                const std::string& stage,
                                                                bool archive_existing_versions) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_ASSIGN_OR_RETURN(std::string canonical, CanonicalStage(stage));
  if (archive_existing_versions && canonical != kStageStaging && canonical != kStageProduction) {
    return InvalidArgument("Model version transition cannot archive existing model versions because '" + stage +
                           "' is not an Active stage. Valid stages are ['Staging', 'Production']");
  }
  const int64_t now = clock_.NowMillis();
  ModelVersion moved;
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireVersion(connection, name, version));
    if (archive_existing_versions) {
      KILN_RETURN_IF_ERROR(Exec(connection,
                               "UPDATE model_versions SET current_stage = ?, last_updated_time = ? "
                               "WHERE name = ? AND version <> ? AND current_stage = ?",
                               {std::string(kStageArchived), now, name, version, canonical}));
    }
    KILN_RETURN_IF_ERROR(Exec(connection,
                             "UPDATE model_versions SET current_stage = ?, last_updated_time = ? "
                             "WHERE name = ? AND version = ?",
                             {canonical, now, name, version}));
    KILN_RETURN_IF_ERROR(
        Exec(connection, "UPDATE registered_models SET last_updated_time = ? WHERE name = ?", {now, name}));
    KILN_ASSIGN_OR_RETURN(moved, LoadVersion(connection, name, version));
    return Status::Ok();
  }));
  return moved;
}

Status ModelRegistry::DeleteModelVersion(const std::string& name, int64_t version, const std::string& actor) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  const int64_t now = clock_.NowMillis();
  return database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireVersion(connection, name, version));
    KILN_ASSIGN_OR_RETURN(storage::Rows aliases,
                          connection.Query("SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ? "
                                           "ORDER BY alias",
                                           {name, version}));
    for (const storage::Row& row : aliases) {
      KILN_RETURN_IF_ERROR(MoveAlias(connection, name, row.String(0), std::nullopt, actor, "version deleted", now));
    }
    KILN_RETURN_IF_ERROR(
        Exec(connection, "DELETE FROM model_version_tags WHERE name = ? AND version = ?", {name, version}));
    KILN_RETURN_IF_ERROR(
        Exec(connection, "DELETE FROM model_versions WHERE name = ? AND version = ?", {name, version}));
    return Exec(connection, "UPDATE registered_models SET last_updated_time = ? WHERE name = ?", {now, name});
  });
}

Result<ModelVersionPage> ModelRegistry::SearchModelVersions(std::string_view filter, int64_t max_results,
                                                            const std::vector<std::string>& order_by,
                                                            std::string_view page_token) {
  KILN_ASSIGN_OR_RETURN(SearchQuery query, PlanModelVersionSearch(filter, max_results, order_by, page_token));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(storage::Rows rows, connection->Query(query.sql, query.params));
  ModelVersionPage page;
  const size_t keep = std::min(rows.size(), static_cast<size_t>(query.page_size));
  // One load per model on the page rather than per version.
  std::map<std::string, std::map<int64_t, ModelVersion>> by_model;
  for (size_t i = 0; i < keep; ++i) {
    std::string name = rows[i].String(0);
    auto model = by_model.find(name);
    if (model == by_model.end()) {
      KILN_ASSIGN_OR_RETURN(auto versions, registry_rows::LoadAllVersions(*connection, name));
      model = by_model.emplace(name, std::move(versions)).first;
    }
    auto version = model->second.find(rows[i].Int(1));
    if (version != model->second.end()) page.versions.push_back(version->second);  // else deleted meanwhile
  }
  if (rows.size() > static_cast<size_t>(query.page_size)) {
    page.next_page_token = EncodePageToken(query.offset + query.page_size);
  }
  return page;
}

Result<std::string> ModelRegistry::GetModelVersionDownloadUri(const std::string& name, int64_t version) {
  KILN_ASSIGN_OR_RETURN(ModelVersion found, GetModelVersion(name, version));
  return found.storage_location;
}

Status ModelRegistry::SetModelVersionTag(const std::string& name, int64_t version, const std::string& key,
                                         const std::string& value) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_RETURN_IF_ERROR(ValidateRegistryTag(key, value));
  return database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireVersion(connection, name, version));
    return UpsertVersionTag(connection, name, version, {key, value});
  });
}

Status ModelRegistry::DeleteModelVersionTag(const std::string& name, int64_t version, const std::string& key) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_RETURN_IF_ERROR(ValidateKey("key", key));
  return database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireVersion(connection, name, version));
    return Exec(connection, "DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?",
               {name, version, key});
  });
}

// --- Aliases ---

Status ModelRegistry::SetRegisteredModelAlias(const std::string& name, const std::string& alias, int64_t version,
                                              const std::string& actor, const std::string& reason) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_RETURN_IF_ERROR(ValidateAliasName(alias));
  const int64_t now = clock_.NowMillis();
  return database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireVersion(connection, name, version));
    return MoveAlias(connection, name, alias, version, actor, reason, now);
  });
}

Status ModelRegistry::DeleteRegisteredModelAlias(const std::string& name, const std::string& alias,
                                                 const std::string& actor, const std::string& reason) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_RETURN_IF_ERROR(ValidateAliasName(alias));
  const int64_t now = clock_.NowMillis();
  return database_.InTransaction([&](Connection& connection) -> Status {
    KILN_RETURN_IF_ERROR(RequireModel(connection, name));
    return MoveAlias(connection, name, alias, std::nullopt, actor, reason, now);
  });
}

Result<ModelVersion> ModelRegistry::GetModelVersionByAlias(const std::string& name, const std::string& alias) {
  KILN_RETURN_IF_ERROR(ValidateModelName(name));
  KILN_RETURN_IF_ERROR(ValidateAliasName(alias));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(int64_t version, AliasTarget(*connection, name, alias));
  return LoadVersion(*connection, name, version);
}

Result<ModelVersion> ModelRegistry::Resolve(std::string_view model_uri) {
  KILN_ASSIGN_OR_RETURN(ModelUri uri, ParseModelUri(model_uri));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  switch (uri.kind) {
    case ModelUri::Kind::kVersion:
      return LoadVersion(*connection, uri.name, uri.version);
    case ModelUri::Kind::kAlias: {
      KILN_ASSIGN_OR_RETURN(int64_t version, AliasTarget(*connection, uri.name, uri.alias));
      return LoadVersion(*connection, uri.name, version);
    }
    case ModelUri::Kind::kLatest:
    case ModelUri::Kind::kStage: {
      KILN_RETURN_IF_ERROR(RequireModel(*connection, uri.name));
      bool latest = uri.kind == ModelUri::Kind::kLatest;
      KILN_ASSIGN_OR_RETURN(
          storage::Rows rows,
          latest ? connection->Query("SELECT MAX(version) FROM model_versions WHERE name = ?", {uri.name})
                 : connection->Query("SELECT MAX(version) FROM model_versions WHERE name = ? AND current_stage = ?",
                                     {uri.name, uri.stage}));
      if (rows.empty() || rows[0].IsNull(0)) {
        if (latest) return NotFound("Registered Model with name=" + uri.name + " has no versions");
        return NotFound("Registered Model with name=" + uri.name + " has no version in stage " + uri.stage);
      }
      return LoadVersion(*connection, uri.name, rows[0].Int(0));
    }
  }
  return Internal("unhandled model URI kind");
}

}  // namespace kiln::tracking
