// Routes of training runs under /api/training: submit a run from a spec,
// the queue, cancel, reproduce and compare, sweeps. Translation only: the
// work is in training::TrainingService, sweep.h and reproduction.h.
//
// A spec names folders and files on the server's machine (code to
// snapshot, data to read), so submitting one needs the admin role.
#include <utility>

#include "server/api.h"
#include "server/api_error.h"
#include "server/json_handler.h"
#include "training/reproduction.h"
#include "training/sweep.h"
#include "training/training_service.h"

namespace kiln::server {
namespace {

using training::TrainingService;

Handler ServiceHandler(TrainingService* service, JsonBody<TrainingService> body) {
  return JsonHandler<TrainingService>(service, std::move(body));
}

Json SubmittedJson(const training::SubmittedRun& run) {
  return {{"run_id", run.run_id},         {"project_id", run.project_id}, {"run_name", run.run_name},
          {"executor", run.executor},     {"code_digest", run.code_digest}, {"data_digest", run.data_digest}};
}

// The posted spec: YAML text ("spec") whose relative paths are resolved
// against "base_dir", then "set" assignments and an "executor" override.
Result<training::RunSpec> PostedSpec(const JsonFields& fields) {
  KILN_ASSIGN_OR_RETURN(std::string text, fields.RequiredString("spec"));
  KILN_ASSIGN_OR_RETURN(std::string base_dir, fields.RequiredString("base_dir"));
  KILN_ASSIGN_OR_RETURN(auto file_name, fields.OptionalString("spec_file"));
  if (!base_dir.starts_with("/")) return InvalidArgument("base_dir must be an absolute path, got '" + base_dir + "'");
  KILN_ASSIGN_OR_RETURN(training::RunSpec spec,
                        training::ParseRunSpec(text, file_name.value_or("spec.yaml"), base_dir));
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> assignments, fields.OptionalStringArray("set"));
  for (const std::string& assignment : assignments) KILN_RETURN_IF_ERROR(training::ApplyAssignment(spec, assignment));
  KILN_ASSIGN_OR_RETURN(auto executor, fields.OptionalString("executor"));
  if (executor) spec.executor = *executor;
  KILN_RETURN_IF_ERROR(training::ValidateRunSpec(spec));
  return spec;
}

training::SubmitOptions PostedOptions(const JsonFields& fields, const HttpRequest& request) {
  training::SubmitOptions options;
  options.user = request.user;
  if (auto file = fields.OptionalString("spec_file"); file.ok() && *file) options.spec_file = **file;
  return options;
}

Result<Json> SubmitRun(TrainingService& service, const JsonFields& fields, const HttpRequest& request) {
  KILN_ASSIGN_OR_RETURN(training::RunSpec spec, PostedSpec(fields));
  KILN_ASSIGN_OR_RETURN(training::SubmittedRun run, service.Submit(spec, PostedOptions(fields, request)));
  return Json{{"run", SubmittedJson(run)}};
}

Result<Json> ListQueue(TrainingService& service, const JsonFields&, const HttpRequest&) {
  Json runs = Json::array();
  for (const training::QueuedRun& run : service.Queue()) {
    runs.push_back({{"run_id", run.run_id},
                    {"executor", run.executor},
                    {"state", run.running ? "running" : "queued"},
                    {"position", run.position},
                    {"rounds_done", run.rounds_done},
                    {"rounds_total", run.rounds_total}});
  }
  return Json{{"runs", std::move(runs)}};
}

Result<Json> CancelRun(TrainingService& service, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, fields.RequiredString("run_id"));
  KILN_RETURN_IF_ERROR(service.Cancel(run_id));
  return Json::object();
}

Result<Json> ReproduceRun(TrainingService& service, const JsonFields& fields, const HttpRequest& request) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, fields.RequiredString("run_id"));
  training::SubmitOptions options;
  options.user = request.user;
  options.reproduce_run_id = run_id;
  KILN_ASSIGN_OR_RETURN(training::SubmittedRun run, service.Submit(training::RunSpec{}, options));
  return Json{{"run", SubmittedJson(run)}};
}

Result<Json> Reproduction(TrainingService& service, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, fields.RequiredString("run_id"));
  KILN_ASSIGN_OR_RETURN(training::ReproductionReport report,
                        training::CompareReproduction(service.tracking(), service.artifacts(), run_id));
  return training::ReproductionReportToJson(report);
}

Result<std::vector<training::SweepDimension>> Dimensions(const JsonFields& fields, std::string_view name) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> texts, fields.OptionalStringArray(name));
  std::vector<training::SweepDimension> dimensions;
  for (const std::string& text : texts) {
    KILN_ASSIGN_OR_RETURN(training::SweepDimension dimension, training::ParseSweepDimension(text));
    dimensions.push_back(std::move(dimension));
  }
  return dimensions;
}

Result<Json> LaunchSweep(TrainingService& service, const JsonFields& fields, const HttpRequest& request) {
  KILN_ASSIGN_OR_RETURN(training::RunSpec spec, PostedSpec(fields));
  training::SweepRequest sweep;
  KILN_ASSIGN_OR_RETURN(sweep.grid, Dimensions(fields, "grid"));
  KILN_ASSIGN_OR_RETURN(sweep.space, Dimensions(fields, "space"));
  KILN_ASSIGN_OR_RETURN(auto trials, fields.OptionalInt64("random"));
  KILN_ASSIGN_OR_RETURN(auto seed, fields.OptionalInt64("seed"));
  KILN_ASSIGN_OR_RETURN(auto metric, fields.OptionalString("metric"));
  KILN_ASSIGN_OR_RETURN(auto goal, fields.OptionalString("goal"));
  if (trials) sweep.random_trials = static_cast<int>(*trials);
  if (seed) sweep.seed = static_cast<uint64_t>(*seed);
  if (metric) {
    sweep.metric = *metric;
  } else if (spec.trainer == training::TrainerKind::kXGBoost && !spec.xgboost.objective.starts_with("binary:")) {
    sweep.metric = "rmse";
  }
  if (goal) {
    if (*goal != "maximize" && *goal != "minimize") {
      return InvalidArgument("goal: expected 'maximize' or 'minimize', got '" + *goal + "'");
    }
    sweep.maximize = *goal == "maximize";
  }
  KILN_ASSIGN_OR_RETURN(training::SweepLaunch launch,
                        training::LaunchSweep(service, spec, sweep, PostedOptions(fields, request)));
  Json children = Json::array();
  for (const training::SubmittedRun& child : launch.children) children.push_back(SubmittedJson(child));
  return Json{{"parent_run_id", launch.parent_run_id}, {"runs", std::move(children)}};
}

Result<Json> SweepSummary(TrainingService& service, const JsonFields& fields, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string parent, fields.RequiredString("parent_run_id"));
  KILN_ASSIGN_OR_RETURN(training::SweepSummary summary, training::SummarizeSweep(service.tracking(), parent));
  return training::SweepSummaryToJson(summary);
}

}  // namespace

void RegisterTrainingRoutes(Router& router, const ApiServices& services) {
  TrainingService* service = services.training;
  if (service == nullptr) return;
  const std::string prefix = "/api/training";
  router.Add({"POST", prefix + "/runs", Role::kAdmin, false, ServiceHandler(service, SubmitRun)});
  router.Add({"GET", prefix + "/queue", Role::kReader, false, ServiceHandler(service, ListQueue)});
  router.Add({"POST", prefix + "/runs/cancel", Role::kWriter, false, ServiceHandler(service, CancelRun)});
  router.Add({"POST", prefix + "/runs/reproduce", Role::kWriter, false, ServiceHandler(service, ReproduceRun)});
  router.Add({"GET", prefix + "/runs/reproduction", Role::kReader, false, ServiceHandler(service, Reproduction)});
  router.Add({"POST", prefix + "/sweeps", Role::kAdmin, false, ServiceHandler(service, LaunchSweep)});
  router.Add({"GET", prefix + "/sweeps/summary", Role::kReader, false, ServiceHandler(service, SweepSummary)});
}

}  // namespace kiln::server
