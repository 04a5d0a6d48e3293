#include "features/feature_registry.h"

#include <algorithm>

#include "features/definition_json.h"
#include "features/feature_registry_diff.h"
#include "features/source_schema.h"

namespace kiln::features {
namespace {

using storage::Connection;
using storage::Rows;

// The latest stored version of a project.
struct StoredVersion {
  int64_t version = 0;
  std::string digest;
  std::string definition;
};

Result<std::optional<StoredVersion>> LoadLatest(Connection& connection, const std::string& project) {
  KILN_ASSIGN_OR_RETURN(
      Rows rows, connection.Query("SELECT version, digest, definition FROM feature_repository_versions "
                                  "WHERE project = ? ORDER BY version DESC LIMIT 1",
                                  {project}));
  if (rows.empty()) return std::optional<StoredVersion>();
  return std::optional<StoredVersion>(StoredVersion{rows[0].Int(0), rows[0].String(1), rows[0].String(2)});
}

Status NoProject(const std::string& project) {
  return NotFound("no feature repository applied for project '" + project + "' (run kiln features apply)");
}

Result<RepositoryDef> ParseStored(const std::string& project, int64_t version, const std::string& text) {
  Result<RepositoryDef> def = ParseRepositoryJson(text);
  if (!def.ok()) {
    return Internal("stored version " + std::to_string(version) + " of feature project '" + project +
                    "' is unreadable: " + def.status().message());
  }
  return def;
}

std::string FeaturesText(const std::vector<ServiceFeature>& features) {
  Json out = Json::array();
  for (const ServiceFeature& feature : features) {
    out.push_back({{"name", feature.name}, {"type", std::string(data::TypeName(feature.type))}});
  }
  return out.dump();
}

Result<std::vector<ServiceFeature>> ParseFeaturesText(const std::string& text) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_array()) return Internal("stored feature service features are not a JSON array");
  std::vector<ServiceFeature> out;
  for (const Json& item : json) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string() || !item.contains("type") ||
        !item["type"].is_string()) {
      return Internal("stored feature service feature is malformed: " + item.dump());
    }
    KILN_ASSIGN_OR_RETURN(data::Type type, data::ParseType(item["type"].get<std::string>()));
    out.push_back({item["name"].get<std::string>(), type});
  }
  return out;
}

Result<ServiceVersion> ServiceFromRow(const std::string& project, const std::string& service,
                                      const storage::Row& row) {
  ServiceVersion out;
  out.project = project;
  out.service = service;
  out.version = row.Int(0);
  KILN_ASSIGN_OR_RETURN(out.features, ParseFeaturesText(row.String(1)));
  out.repository_version = row.Int(2);
  out.created_at_millis = row.Int(3);
  return out;
}

// The plan from `latest` (nullopt: nothing applied) to `def`.
Result<ApplyPlan> MakePlan(const std::optional<StoredVersion>& latest, const RepositoryDef& def) {
  ApplyPlan plan;
  plan.project = def.project;
  plan.digest = RepositoryDigest(def);
  if (!latest) {
    plan.changes = DiffRepositories(nullptr, def);
    return plan;
  }
  plan.base_version = latest->version;
  if (latest->digest == plan.digest) return plan;
  KILN_ASSIGN_OR_RETURN(RepositoryDef before, ParseStored(def.project, latest->version, latest->definition));
  plan.changes = DiffRepositories(&before, def);
  return plan;
}

}  // namespace

std::string_view ObjectKindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kSource:
      return "source";
    case ObjectKind::kEntity:
      return "entity";
    case ObjectKind::kFeatureView:
      return "feature view";
    case ObjectKind::kFeature:
      return "feature";
    case ObjectKind::kOnDemandView:
      return "on-demand view";
    case ObjectKind::kFeatureService:
      return "feature service";
  }
  return "object";
}

std::string_view ChangeTypeName(ChangeType change) {
  switch (change) {
    case ChangeType::kAdded:
      return "added";
    case ChangeType::kChanged:
      return "changed";
    case ChangeType::kRemoved:
      return "removed";
  }
  return "changed";
}

bool ApplyPlan::breaking() const {
  return std::any_of(changes.begin(), changes.end(), [](const DefinitionChange& c) { return c.breaking; });
}

std::string FormatPlan(const ApplyPlan& plan) {
  if (plan.changes.empty()) return "no changes";
  std::string out;
  for (const DefinitionChange& change : plan.changes) {
    const char sign = change.change == ChangeType::kAdded     ? '+'
                      : change.change == ChangeType::kRemoved ? '-'
                                                              : '~';
    if (!out.empty()) out += '\n';
    out += std::string(1, sign) + " " + std::string(ObjectKindName(change.kind)) + " " + change.name;
    if (change.breaking) out += " (breaking)";
    out += ": " + change.reason;
  }
  return out;
}

Result<ApplyPlan> FeatureRegistry::Plan(const Repository& repository) {
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(std::optional<StoredVersion> latest, LoadLatest(*connection, repository.project()));
  return MakePlan(latest, repository.def());
}

Result<ApplyResult> FeatureRegistry::Apply(const Repository& repository, const ApplyOptions& options) {
  const RepositoryDef& def = repository.def();
  const std::string definition = CanonicalRepositoryJson(def);
  const int64_t now = clock_.NowMillis();
  ApplyResult result;
  KILN_RETURN_IF_ERROR(database_.InTransaction([&](Connection& connection) -> Status {
    result = ApplyResult();
    KILN_ASSIGN_OR_RETURN(std::optional<StoredVersion> latest, LoadLatest(connection, def.project));
    const int64_t latest_version = latest ? latest->version : 0;
    if (options.expected_version && *options.expected_version != latest_version) {
      return FailedPrecondition("feature project '" + def.project + "' is at version " +
                                std::to_string(latest_version) + ", not " +
                                std::to_string(*options.expected_version) + " as planned; plan again");
    }
    KILN_ASSIGN_OR_RETURN(result.plan, MakePlan(latest, def));
    result.version = latest_version;
    if (latest && latest->digest == result.plan.digest) return Status::Ok();  // no changes

    result.version = latest_version + 1;
    result.applied = true;
    KILN_RETURN_IF_ERROR(
        connection
            .Execute("INSERT INTO feature_repository_versions (project, version, definition, digest, "
                     "created_at, applied_by) VALUES (?, ?, ?, ?, ?, ?)",
                     {def.project, result.version, definition, result.plan.digest, now, options.applied_by})
            .status());
    std::vector<const FeatureServiceDef*> services;
    for (const FeatureServiceDef& service : def.feature_services) services.push_back(&service);
    std::sort(services.begin(), services.end(),
              [](const FeatureServiceDef* a, const FeatureServiceDef* b) { return a->name < b->name; });
    for (const FeatureServiceDef* service : services) {
      std::vector<ServiceFeature> features = ResolveServiceFeatures(def, *service);
      KILN_ASSIGN_OR_RETURN(Rows last,
                            connection.Query("SELECT version, features FROM feature_service_versions "
                                             "WHERE project = ? AND service = ? "
                                             "ORDER BY version DESC LIMIT 1",
                                             {def.project, service->name}));
      if (!last.empty()) {
        KILN_ASSIGN_OR_RETURN(std::vector<ServiceFeature> previous, ParseFeaturesText(last[0].String(1)));
        if (previous == features) continue;
      }
      ServiceVersion version;
      version.project = def.project;
      version.service = service->name;
      version.version = last.empty() ? 1 : last[0].Int(0) + 1;
      version.features = std::move(features);
      version.repository_version = result.version;
      version.created_at_millis = now;
      KILN_RETURN_IF_ERROR(
          connection
              .Execute("INSERT INTO feature_service_versions (project, service, version, features, "
                       "repository_version, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       {def.project, service->name, version.version, FeaturesText(version.features),
                        result.version, now})
              .status());
      result.new_service_versions.push_back(std::move(version));
    }
    return Status::Ok();
  }));
  return result;
}

Result<RepositoryVersion> FeatureRegistry::GetVersionInfo(const std::string& project,
                                                          std::optional<int64_t> version) {
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(Rows latest, connection->Query("SELECT MAX(version) FROM feature_repository_versions "
                                                       "WHERE project = ?",
                                                       {project}));
  if (latest.empty() || latest[0].IsNull(0)) return NoProject(project);
  const int64_t wanted = version.value_or(latest[0].Int(0));
  KILN_ASSIGN_OR_RETURN(Rows rows, connection->Query("SELECT version, digest, created_at, applied_by "
                                                     "FROM feature_repository_versions "
                                                     "WHERE project = ? AND version = ?",
                                                     {project, wanted}));
  if (rows.empty()) {
    return NotFound("feature project '" + project + "' has no version " + std::to_string(wanted) +
                    " (latest is " + std::to_string(latest[0].Int(0)) + ")");
  }
  return RepositoryVersion{project, rows[0].Int(0), rows[0].String(1), rows[0].Int(2), rows[0].String(3)};
}

Result<RepositoryDef> FeatureRegistry::Get(const std::string& project, std::optional<int64_t> version) {
  KILN_ASSIGN_OR_RETURN(RepositoryVersion info, GetVersionInfo(project, version));
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(Rows rows, connection->Query("SELECT definition FROM feature_repository_versions "
                                                     "WHERE project = ? AND version = ?",
                                                     {project, info.version}));
  if (rows.empty()) return NoProject(project);
  return ParseStored(project, info.version, rows[0].String(0));
}

Result<std::shared_ptr<const Repository>> FeatureRegistry::GetRepository(const std::string& project,
                                                                         std::optional<int64_t> version) {
  KILN_ASSIGN_OR_RETURN(RepositoryDef def, Get(project, version));
  Result<std::shared_ptr<const Repository>> repository =
      Repository::Build(std::move(def), StoredSchemaResolver());
  if (!repository.ok()) {
    return Internal("the stored definitions of feature project '" + project +
                    "' no longer validate: " + repository.status().message());
  }
  return repository;
}

Result<std::vector<ProjectSummary>> FeatureRegistry::ListProjects() {
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(Rows rows,
                        connection->Query("SELECT v.project, v.version, v.digest, v.created_at "
                                          "FROM feature_repository_versions v "
                                          "WHERE v.version = (SELECT MAX(w.version) "
                                          "FROM feature_repository_versions w WHERE w.project = v.project) "
                                          "ORDER BY v.project"));
  std::vector<ProjectSummary> out;
  for (const storage::Row& row : rows) out.push_back({row.String(0), row.Int(1), row.String(2), row.Int(3)});
  return out;
}

Result<std::vector<RepositoryVersion>> FeatureRegistry::ListVersions(const std::string& project) {
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(Rows rows, connection->Query("SELECT version, digest, created_at, applied_by "
                                                     "FROM feature_repository_versions WHERE project = ? "
                                                     "ORDER BY version DESC",
                                                     {project}));
  if (rows.empty()) return NoProject(project);
  std::vector<RepositoryVersion> out;
  for (const storage::Row& row : rows) {
    out.push_back({project, row.Int(0), row.String(1), row.Int(2), row.String(3)});
  }
  return out;
}

Result<ServiceVersion> FeatureRegistry::GetService(const std::string& project, const std::string& service,
                                                   std::optional<int64_t> version) {
  KILN_ASSIGN_OR_RETURN(std::vector<ServiceVersion> versions, ListServiceVersions(project, service));
  if (!version) return versions.front();
  for (ServiceVersion& candidate : versions) {
    if (candidate.version == *version) return std::move(candidate);
  }
  return NotFound("feature service '" + service + "' of project '" + project + "' has no version " +
                  std::to_string(*version) + " (latest is " + std::to_string(versions.front().version) + ")");
}

Result<std::vector<ServiceVersion>> FeatureRegistry::ListServiceVersions(const std::string& project,
                                                                         const std::string& service) {
  KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
  KILN_ASSIGN_OR_RETURN(Rows rows,
                        connection->Query("SELECT version, features, repository_version, created_at "
                                          "FROM feature_service_versions "
                                          "WHERE project = ? AND service = ? ORDER BY version DESC",
                                          {project, service}));
  if (rows.empty()) {
    KILN_ASSIGN_OR_RETURN(Rows any,
                          connection->Query("SELECT 1 FROM feature_repository_versions WHERE project = ? "
                                            "LIMIT 1",
                                            {project}));
    if (any.empty()) return NoProject(project);
    return NotFound("feature project '" + project + "' has no feature service '" + service + "'");
  }
  std::vector<ServiceVersion> out;
  for (const storage::Row& row : rows) {
    KILN_ASSIGN_OR_RETURN(ServiceVersion version, ServiceFromRow(project, service, row));
    out.push_back(std::move(version));
  }
  return out;
}

}  // namespace kiln::features
