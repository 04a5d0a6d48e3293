// Routes of the registry's guardrails: register a run's model, promote a
// version behind checks, the alias history, promotion records, and the
// iteration statistics (/api/stats). Translation only: the work is in
// training/promotion.h and tracking::ModelRegistry.
#include <cmath>
#include <utility>

#include "server/api.h"
#include "server/api_error.h"
#include "server/json_handler.h"
#include "server/registry_json.h"
#include "tracking/tracking_store.h"
#include "training/promotion.h"

namespace kiln::server {
namespace {

Json Number(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

Json OptionalVersion(const std::optional<int64_t>& version) {
  return version ? Json(std::to_string(*version)) : Json(nullptr);
}

Json PromotionJson(const tracking::PromotionRecord& record) {
  Json checks = Json::array();
  for (const tracking::PromotionCheck& check : record.checks) {
    checks.push_back({{"name", check.name},
                      {"passed", check.passed},
                      {"detail", check.detail},
                      {"observed", Number(check.observed)},
                      {"threshold", Number(check.threshold)}});
  }
  return {{"id", record.id},
          {"name", record.model},
          {"candidate_version", std::to_string(record.candidate_version)},
          {"alias", record.alias},
          {"previous_version", OptionalVersion(record.previous_version)},
          {"accepted", record.accepted},
          {"actor", record.actor},
          {"timestamp", record.timestamp},
          {"checks", std::move(checks)}};
}

Json LeadTimeJson(const tracking::LeadTimeStats& stats) {
  return {{"count", stats.count},
          {"median_ms", stats.median_ms ? Json(*stats.median_ms) : Json(nullptr)},
          {"p90_ms", stats.p90_ms ? Json(*stats.p90_ms) : Json(nullptr)}};
}

// The services a guardrail handler needs, borrowed from ApiServices.
struct Guardrails {
  ApiServices services;
  training::RegistryContext Context() const {
    return {*services.registry, *services.tracking, *services.artifacts, *services.features};
  }
};

Result<Json> Register(Guardrails& guardrails, const JsonFields& fields, const HttpRequest& request) {
  training::RegisterRequest registration;
  KILN_ASSIGN_OR_RETURN(registration.run_id, fields.RequiredString("run_id"));
  KILN_ASSIGN_OR_RETURN(registration.name, fields.RequiredString("name"));
  KILN_ASSIGN_OR_RETURN(auto path, fields.OptionalString("artifact_path"));
  KILN_ASSIGN_OR_RETURN(auto description, fields.OptionalString("description"));
  if (path) registration.artifact_path = *path;
  if (description) registration.description = *description;
  registration.user = request.user;
  training::RegistryContext context = guardrails.Context();
  KILN_ASSIGN_OR_RETURN(tracking::ModelVersion version, training::RegisterRunModel(context, registration));
  return Json{{"model_version", ModelVersionJson(version)}};
}

Result<Json> Promote(Guardrails& guardrails, const JsonFields& fields, const HttpRequest& request) {
  training::PromotionOptions options;
  KILN_ASSIGN_OR_RETURN(options.model, fields.RequiredString("name"));
  KILN_ASSIGN_OR_RETURN(options.candidate_version, VersionField(fields, "candidate"));
  KILN_ASSIGN_OR_RETURN(auto alias, fields.OptionalString("alias"));
  KILN_ASSIGN_OR_RETURN(auto metric, fields.OptionalString("metric"));
  KILN_ASSIGN_OR_RETURN(auto tolerance, fields.OptionalDouble("tolerance"));
  KILN_ASSIGN_OR_RETURN(auto budget, fields.OptionalDouble("latency_budget_ms"));
  if (alias) options.alias = *alias;
  if (metric) options.metric = *metric;
  if (tolerance) {
    if (!(*tolerance >= 0)) return InvalidArgument("tolerance must be ≥ 0, got " + std::to_string(*tolerance));
    options.metric_tolerance = *tolerance;
  }
  if (budget) {
    if (!(*budget > 0)) return InvalidArgument("latency_budget_ms must be > 0, got " + std::to_string(*budget));
    options.latency_budget_ms = *budget;
  }
  options.actor = request.user;
  training::RegistryContext context = guardrails.Context();
  KILN_ASSIGN_OR_RETURN(training::PromotionReport report, training::PromoteVersion(context, options));
  return Json{{"accepted", report.record.accepted},
              {"summary", report.summary},
              {"promotion", PromotionJson(report.record)}};
}

Result<Json> AliasHistory(Guardrails& guardrails, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, fields.RequiredString("name"));
  KILN_ASSIGN_OR_RETURN(auto alias, fields.OptionalString("alias"));
  KILN_ASSIGN_OR_RETURN(auto limit, fields.OptionalInt64("limit"));
  KILN_ASSIGN_OR_RETURN(std::vector<tracking::AliasMove> moves,
                        guardrails.services.registry->AliasHistory(name, alias.value_or(""), limit.value_or(100)));
  Json list = Json::array();
  for (const tracking::AliasMove& move : moves) {
    list.push_back({{"id", move.id},
                    {"name", move.name},
                    {"alias", move.alias},
                    {"from_version", OptionalVersion(move.from_version)},
                    {"to_version", OptionalVersion(move.to_version)},
                    {"actor", move.actor},
                    {"timestamp", move.timestamp},
                    {"reason", move.reason}});
  }
  return Json{{"moves", std::move(list)}};
}

Result<Json> Promotions(Guardrails& guardrails, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, fields.RequiredString("name"));
  KILN_ASSIGN_OR_RETURN(auto limit, fields.OptionalInt64("limit"));
  std::optional<int64_t> version;
  if (fields.Has("version")) {
    KILN_ASSIGN_OR_RETURN(version, VersionField(fields, "version"));
  }
  KILN_ASSIGN_OR_RETURN(std::vector<tracking::PromotionRecord> records,
                        guardrails.services.registry->ListPromotions(name, version, limit.value_or(100)));
  Json list = Json::array();
  for (const tracking::PromotionRecord& record : records) list.push_back(PromotionJson(record));
  return Json{{"promotions", std::move(list)}};
}

Result<Json> Stats(Guardrails& guardrails, const JsonFields& fields, const HttpRequest&) {
  tracking::IterationStatsRequest request;
  KILN_ASSIGN_OR_RETURN(auto project, fields.OptionalString("project"));
  KILN_ASSIGN_OR_RETURN(auto weeks, fields.OptionalInt64("weeks"));
  KILN_ASSIGN_OR_RETURN(auto alias, fields.OptionalString("alias"));
  if (project && !project->empty()) {
    Result<tracking::Experiment> experiment = guardrails.services.tracking->GetExperimentByName(*project);
    if (experiment.ok()) {
      request.project_id = experiment->experiment_id;
    } else if (project->find_first_not_of("0123456789") == std::string::npos) {
      request.project_id = *project;
    } else {
      return NotFound("no project named '" + *project + "'");
    }
  }
  if (alias) request.alias = *alias;
  if (weeks) {
    if (*weeks < 1 || *weeks > 520) return InvalidArgument("weeks must be between 1 and 520, got " + std::to_string(*weeks));
    request.until_ms = SystemClock::Instance().NowMillis();
    request.since_ms = *request.until_ms - *weeks * 7 * 24 * 3600 * 1000;
  }
  KILN_ASSIGN_OR_RETURN(tracking::IterationStats stats, guardrails.services.registry->ComputeIterationStats(request));
  Json by_week = Json::array();
  for (const tracking::WeeklyIterations& week : stats.by_week) {
    by_week.push_back({{"week_start", week.week_start},
                       {"iso_week", week.iso_week},
                       {"registrations", week.registrations},
                       {"promotions", week.promotions}});
  }
  return Json{{"project_id", stats.project_id},
              {"alias", stats.alias},
              {"since_ms", stats.since_ms},
              {"until_ms", stats.until_ms},
              {"weeks", stats.weeks},
              {"registered_versions", stats.registered_versions},
              {"promoted_versions", stats.promoted_versions},
              {"iterations_per_week", stats.iterations_per_week},
              {"promotions_per_week", stats.promotions_per_week},
              {"registration_lead_time", LeadTimeJson(stats.registration_lead_time)},
              {"promotion_lead_time", LeadTimeJson(stats.promotion_lead_time)},
              {"by_week", std::move(by_week)}};
}

}  // namespace

void RegisterPromotionRoutes(Router& router, const ApiServices& services) {
  if (services.registry == nullptr || services.features == nullptr) return;
  // Owned by the router's handlers for the process's life.
  static std::vector<std::unique_ptr<Guardrails>> owners;
  owners.push_back(std::make_unique<Guardrails>(Guardrails{services}));
  Guardrails* guardrails = owners.back().get();
  auto handler = [guardrails](JsonBody<Guardrails> body) { return JsonHandler<Guardrails>(guardrails, std::move(body)); };
  router.Add({"POST", "/api/models/register", Role::kWriter, false, handler(Register)});
  router.Add({"POST", "/api/models/promote", Role::kWriter, false, handler(Promote)});
  router.Add({"GET", "/api/models/alias-history", Role::kReader, false, handler(AliasHistory)});
  router.Add({"GET", "/api/models/promotions", Role::kReader, false, handler(Promotions)});
  router.Add({"GET", "/api/stats", Role::kReader, false, handler(Stats)});
}

}  // namespace kiln::server
