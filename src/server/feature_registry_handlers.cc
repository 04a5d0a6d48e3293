// Routes of the feature-store definitions under /api/features: plan, apply,
// projects, repository versions, views, services and the expression
// language's functions. Translation only: the work is in
// features::FeatureRegistry and features::Repository.
#include <functional>
#include <utility>

#include "data/timestamp.h"
#include "features/definition_json.h"
#include "features/expression.h"
#include "features/feature_registry.h"
#include "features/feature_store.h"
#include "features/source_schema.h"
#include "server/api.h"
#include "server/api_error.h"
#include "server/json_handler.h"

namespace kiln::server {
namespace {

using features::FeatureStore;

// Handlers over the feature store.
Handler StoreHandler(FeatureStore* store, JsonBody<FeatureStore> body) {
  return server::JsonHandler<FeatureStore>(store, std::move(body));
}

// The posted definitions, validated against their stored columns.
Result<std::shared_ptr<const features::Repository>> PostedRepository(const JsonFields& fields) {
  const Json* definitions = fields.Get("repository");
  if (definitions == nullptr) return MissingParameter("repository");
  KILN_ASSIGN_OR_RETURN(features::RepositoryDef def, features::RepositoryFromJson(*definitions));
  return features::Repository::Build(std::move(def), features::StoredSchemaResolver());
}

Json ChangesJson(const features::ApplyPlan& plan) {
  Json changes = Json::array();
  for (const features::DefinitionChange& change : plan.changes) {
    changes.push_back({{"kind", std::string(features::ObjectKindName(change.kind))},
                       {"name", change.name},
                       {"change", std::string(features::ChangeTypeName(change.change))},
                       {"breaking", change.breaking},
                       {"reason", change.reason}});
  }
  return changes;
}

Json PlanJson(const features::ApplyPlan& plan) {
  return {{"project", plan.project},
          {"current_version", plan.base_version},
          {"digest", plan.digest},
          {"breaking", plan.breaking()},
          {"changes", ChangesJson(plan)}};
}

Json ServiceJson(const features::ServiceVersion& service) {
  Json list = Json::array();
  for (const features::ServiceFeature& feature : service.features) {
    list.push_back({{"name", feature.name}, {"type", std::string(data::TypeName(feature.type))}});
  }
  return {{"name", service.service},
          {"version", service.version},
          {"repository_version", service.repository_version},
          {"created_timestamp", service.created_at_millis},
          {"features", std::move(list)}};
}

Result<Json> Plan(FeatureStore& store, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(auto repository, PostedRepository(fields));
  KILN_ASSIGN_OR_RETURN(features::ApplyPlan plan, store.registry().Plan(*repository));
  return PlanJson(plan);
}

Result<Json> Apply(FeatureStore& store, const JsonFields& fields, const HttpRequest& request) {
  KILN_ASSIGN_OR_RETURN(auto repository, PostedRepository(fields));
  features::ApplyOptions options;
  options.applied_by = request.user;
  KILN_ASSIGN_OR_RETURN(options.expected_version, fields.OptionalInt64("expected_version"));
  KILN_ASSIGN_OR_RETURN(features::ApplyResult result, store.Apply(*repository, options));
  Json out = PlanJson(result.plan);
  out["version"] = result.version;
  out["applied"] = result.applied;
  Json services = Json::array();
  for (const features::ServiceVersion& service : result.new_service_versions) {
    services.push_back({{"name", service.service}, {"version", service.version}});
  }
  out["services"] = std::move(services);
  return out;
}

Result<Json> Projects(FeatureStore& store, const JsonFields&, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(auto projects, store.registry().ListProjects());
  Json list = Json::array();
  for (const features::ProjectSummary& project : projects) {
    list.push_back({{"name", project.project},
                    {"version", project.latest_version},
                    {"digest", project.digest},
                    {"updated_timestamp", project.updated_at_millis}});
  }
  return Json{{"projects", std::move(list)}};
}

Result<std::string> ProjectName(FeatureStore& store, const JsonFields& fields) {
  KILN_ASSIGN_OR_RETURN(auto project, fields.OptionalString("project"));
  KILN_ASSIGN_OR_RETURN(auto repository, store.Current(project.value_or("")));
  return repository->project();
}

Result<Json> GetRepository(FeatureStore& store, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string project, ProjectName(store, fields));
  KILN_ASSIGN_OR_RETURN(auto version, fields.OptionalInt64("version"));
  KILN_ASSIGN_OR_RETURN(features::RepositoryVersion info, store.registry().GetVersionInfo(project, version));
  KILN_ASSIGN_OR_RETURN(features::RepositoryDef def, store.registry().Get(project, info.version));
  return Json{{"project", info.project},
              {"version", info.version},
              {"digest", info.digest},
              {"created_timestamp", info.created_at_millis},
              {"applied_by", info.applied_by},
              {"repository", features::RepositoryToJson(def)}};
}

Json FeatureJson(const features::ResolvedFeature& feature) {
  Json out = {{"name", feature.name}, {"type", std::string(data::TypeName(feature.type))}};
  if (feature.def == nullptr) return out;
  if (feature.def->aggregation) {
    const features::AggregationDef& aggregation = *feature.def->aggregation;
    out["aggregation"] = {{"function", aggregation.function},
                          {"column", aggregation.column},
                          {"window", data::FormatDuration(aggregation.window_seconds)}};
  } else {
    out["expression"] = feature.def->expression;
  }
  if (!feature.def->description.empty()) out["description"] = feature.def->description;
  return out;
}

Result<Json> Views(FeatureStore& store, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(auto project, fields.OptionalString("project"));
  KILN_ASSIGN_OR_RETURN(auto repository, store.Current(project.value_or("")));
  Json views = Json::array();
  for (const features::ResolvedView& view : repository->views()) {
    Json list = Json::array();
    for (const features::ResolvedFeature& feature : view.features) list.push_back(FeatureJson(feature));
    views.push_back({{"name", view.def->name},
                     {"kind", "feature_view"},
                     {"entities", view.def->entities},
                     {"join_keys", view.join_keys},
                     {"source", view.def->source},
                     {"ttl", view.def->ttl_seconds == 0 ? "0" : data::FormatDuration(view.def->ttl_seconds)},
                     {"online", view.def->online},
                     {"description", view.def->description},
                     {"features", std::move(list)}});
  }
  for (const features::ResolvedOnDemandView& view : repository->on_demand_views()) {
    Json list = Json::array();
    for (const features::ResolvedFeature& feature : view.features) list.push_back(FeatureJson(feature));
    Json request = Json::object();
    for (const auto& [name, type] : view.def->request) request[name] = std::string(data::TypeName(type));
    views.push_back({{"name", view.def->name},
                     {"kind", "on_demand_view"},
                     {"request", std::move(request)},
                     {"description", view.def->description},
                     {"features", std::move(list)}});
  }
  return Json{{"project", repository->project()}, {"views", std::move(views)}};
}

Result<Json> Services(FeatureStore& store, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string project, ProjectName(store, fields));
  KILN_ASSIGN_OR_RETURN(auto name, fields.OptionalString("name"));
  KILN_ASSIGN_OR_RETURN(auto version, fields.OptionalInt64("version"));
  Json services = Json::array();
  if (name) {
    if (version) {
      KILN_ASSIGN_OR_RETURN(auto service, store.registry().GetService(project, *name, version));
      services.push_back(ServiceJson(service));
    } else {
      KILN_ASSIGN_OR_RETURN(auto versions, store.registry().ListServiceVersions(project, *name));
      for (const auto& service : versions) services.push_back(ServiceJson(service));
    }
  } else {
    KILN_ASSIGN_OR_RETURN(auto repository, store.Current(project));
    for (const features::FeatureServiceDef& def : repository->def().feature_services) {
      KILN_ASSIGN_OR_RETURN(auto service, store.registry().GetService(project, def.name));
      Json entry = ServiceJson(service);
      entry["description"] = def.description;
      services.push_back(std::move(entry));
    }
  }
  return Json{{"project", project}, {"services", std::move(services)}};
}

Result<Json> Functions(FeatureStore&, const JsonFields&, const HttpRequest&) {
  Json list = Json::array();
  for (const features::FunctionInfo& function : features::ExpressionFunctions()) {
    list.push_back({{"name", function.name},
                    {"signature", function.signature},
                    {"description", function.description}});
  }
  return Json{{"functions", std::move(list)}};
}

}  // namespace

void RegisterFeatureRegistryRoutes(Router& router, const ApiServices& services) {
  FeatureStore* store = services.features;
  if (store == nullptr) return;
  const std::string prefix = "/api/features";
  router.Add({"POST", prefix + "/plan", Role::kReader, false, StoreHandler(store, Plan)});
  router.Add({"POST", prefix + "/apply", Role::kWriter, false, StoreHandler(store, Apply)});
  router.Add({"GET", prefix + "/projects", Role::kReader, false, StoreHandler(store, Projects)});
  router.Add({"GET", prefix + "/repository", Role::kReader, false, StoreHandler(store, GetRepository)});
  router.Add({"GET", prefix + "/views", Role::kReader, false, StoreHandler(store, Views)});
  router.Add({"GET", prefix + "/services", Role::kReader, false, StoreHandler(store, Services)});
  router.Add({"GET", prefix + "/functions", Role::kReader, false, StoreHandler(store, Functions)});
}

}  // namespace kiln::server
