#include "training/promotion.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "features/feature_store.h"
#include "storage/artifact_store.h"
#include "training/builtin_trainer_data.h"
#include "training/builtin_trainer_job.h"
#include "training/data_split.h"
#include "training/evaluation.h"
#include "training/model_artifact.h"
#include "training/model_folder.h"
#include "training/run_snapshot.h"
#include "training/training_service_internal.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;

std::string Format(double value, int digits = 6) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
  return buffer;
}

// The candidate's data: the run's training set and split, as the trainer saw them.
struct EvaluationData {
  data::Frame frame;
  SplitRows split;
  std::string label;
  std::string objective;
};

Result<EvaluationData> LoadEvaluationData(RegistryContext& context, const tracking::Run& run) {
  KILN_ASSIGN_OR_RETURN(Json job_json, LoadRunJson(context.artifacts, run, "snapshot/trainer-job.json"));
  KILN_ASSIGN_OR_RETURN(Json data_json, LoadRunJson(context.artifacts, run, "snapshot/data.json"));
  KILN_ASSIGN_OR_RETURN(TrainerJob job, TrainerJobFromJson(job_json));
  KILN_ASSIGN_OR_RETURN(std::string root, RunArtifactRoot(run.info));
  KILN_ASSIGN_OR_RETURN(job.data_file,
                        context.artifacts.ObjectPath(root + "/" + data_json.value("artifact_path", std::string())));
  EvaluationData data;
  KILN_ASSIGN_OR_RETURN(data.frame, ReadTrainingData(job, /*quiet=*/true));
  KILN_ASSIGN_OR_RETURN(data.split, SplitData(data.frame, job.split));
  data.label = job.label;
  data.objective = job.xgboost.objective;
  return data;
}

Result<double> MetricOn(const LoadedModel& model, const EvaluationData& data, const std::vector<int64_t>& rows,
                        const std::string& metric) {
  data::Frame subset = data.frame.Take(rows);
  KILN_ASSIGN_OR_RETURN(std::vector<float> predictions, model.Predict(subset));
  KILN_ASSIGN_OR_RETURN(std::vector<float> labels, LabelValues(subset, data.label, data.objective));
  KILN_ASSIGN_OR_RETURN(auto metrics, EvaluateMetrics(data.objective, labels, predictions));
  auto found = metrics.find(metric);
  if (found == metrics.end()) {
    return InvalidArgument("metric '" + metric + "' is not computed for objective " + data.objective);
  }
  return found->second;
}

std::optional<double> RunMetric(const tracking::Run& run, const std::string& key) {
  for (const tracking::Metric& metric : run.data.metrics) {
    if (metric.key == key) return metric.value;
  }
  return std::nullopt;
}

tracking::PromotionCheck ValidationMetricCheck(RegistryContext& context, const PromotionOptions& options,
                                               const LoadedModel& candidate, const EvaluationData& data,
                                               const std::optional<tracking::ModelVersion>& holder) {
  tracking::PromotionCheck check;
  check.name = "validation_metric";
  const std::string& metric = options.metric;
  const bool higher = HigherIsBetter(metric);
  Result<double> observed = MetricOn(candidate, data, data.split.validation, metric);
  if (!observed.ok()) {
    check.detail = observed.status().message();
    return check;
  }
  check.observed = *observed;
  if (!holder) {
    check.passed = true;
    check.detail = metric + " " + Format(*observed) + " on " + std::to_string(data.split.validation.size()) +
                   " validation rows; no version holds '" + options.alias + "' yet";
    return check;
  }
  const std::string holder_name = "v" + std::to_string(holder->version);
  double reference = NAN;
  std::string how;
  Result<std::unique_ptr<ModelFolder>> folder =
      ModelFolder::Link(context.artifacts, holder->storage_location, options.model + " " + holder_name);
  Result<LoadedModel> holder_model = folder.ok() ? LoadedModel::Load((*folder)->path(), 1) : Result<LoadedModel>(folder.status());
  Result<double> holder_metric =
      holder_model.ok() ? MetricOn(*holder_model, data, data.split.validation, metric) : Result<double>(holder_model.status());
  if (holder_metric.ok()) {
    reference = *holder_metric;
    how = "on the same " + std::to_string(data.split.validation.size()) + " validation rows";
  } else if (holder->run_id) {
    // The holder cannot score these rows (e.g. it needs features the
    // candidate's data lacks): fall back to its own recorded metric.
    Result<tracking::Run> holder_run = context.tracking.GetRun(*holder->run_id);
    std::optional<double> recorded = holder_run.ok() ? RunMetric(*holder_run, metric) : std::nullopt;
    if (!recorded) {
      check.detail = "cannot compare with " + holder_name + ": " + holder_metric.status().message();
      return check;
    }
    reference = *recorded;
    how = "(" + holder_name + "'s recorded validation metric: it cannot score the candidate's rows: " +
          holder_metric.status().message() + ")";
  } else {
    check.detail = "cannot compare with " + holder_name + ": " + holder_metric.status().message();
    return check;
  }
  check.threshold = higher ? reference - options.metric_tolerance : reference + options.metric_tolerance;
  check.passed = higher ? *observed >= check.threshold : *observed <= check.threshold;
  const double gap = higher ? reference - *observed : *observed - reference;
  check.detail = metric + " " + Format(*observed) + " vs " + holder_name + " " + Format(reference) + " " + how +
                 (check.passed ? "" : ": worse by " + Format(gap, 4) + ", tolerance " + Format(options.metric_tolerance));
  return check;
}

tracking::PromotionCheck HoldoutCheck(const LoadedModel& candidate, const EvaluationData& data) {
  tracking::PromotionCheck check;
  check.name = "holdout_predictions";
  const bool has_holdout = !data.split.holdout.empty();
  const std::vector<int64_t>& rows = has_holdout ? data.split.holdout : data.split.validation;
  const std::string which = has_holdout ? "holdout" : "validation (no holdout split)";
  Result<std::vector<float>> predictions = candidate.Predict(data.frame.Take(rows));
  if (!predictions.ok()) {
    check.detail = predictions.status().message();
    return check;
  }
  const std::string& objective = data.objective;
  const bool probability = objective == "binary:logistic" || objective == "reg:logistic";
  const bool non_negative = objective.rfind("count:", 0) == 0 || objective == "reg:gamma" || objective == "reg:tweedie";
  int64_t nan = 0, out_of_range = 0;
  for (float p : *predictions) {
    if (!std::isfinite(p)) {
      ++nan;
    } else if ((probability && (p < 0.0f || p > 1.0f)) || (non_negative && p < 0.0f)) {
      ++out_of_range;
    }
  }
  check.observed = static_cast<double>(nan + out_of_range);
  check.threshold = 0;
  check.passed = nan + out_of_range == 0 && !predictions->empty();
  const std::string range = probability ? "[0, 1]" : non_negative ? "[0, ∞)" : "finite values";
  check.detail = std::to_string(predictions->size()) + " " + which + " rows: " + std::to_string(nan) +
                 " NaN/infinite, " + std::to_string(out_of_range) + " outside " + range;
  if (predictions->empty()) check.detail = "no " + which + " rows to predict";
  return check;
}

tracking::PromotionCheck OnlineFeaturesCheck(RegistryContext& context, const LoadedModel& candidate) {
  tracking::PromotionCheck check;
  check.name = "online_features";
  const ModelOrigin& origin = candidate.signature().origin;
  if (origin.feature_service.empty()) {
    check.passed = true;
    check.detail = "trained from a file, not a feature service: nothing to serve online";
    return check;
  }
  Result<features::OnlineReadiness> readiness =
      context.features.CheckOnlineReadiness(origin.feature_project, origin.feature_service, origin.feature_service_version);
  if (!readiness.ok()) {
    check.detail = readiness.status().message();
    return check;
  }
  check.passed = readiness->ready;
  check.observed = static_cast<double>(readiness->problems.size());
  check.threshold = 0;
  if (readiness->ready) {
    check.detail = "feature service " + origin.feature_service + " v" + std::to_string(origin.feature_service_version) +
                   " is materialized in " + readiness->online_store;
  } else {
    for (const std::string& problem : readiness->problems) check.detail += (check.detail.empty() ? "" : "; ") + problem;
  }
  return check;
}

tracking::PromotionCheck LatencyCheck(const PromotionOptions& options, const LoadedModel& candidate,
                                      const EvaluationData& data) {
  tracking::PromotionCheck check;
  check.name = "latency";
  std::vector<int64_t> rows = data.split.validation;
  if (rows.size() > static_cast<size_t>(options.latency_rows)) rows.resize(static_cast<size_t>(options.latency_rows));
  std::vector<std::string> features;
  for (const SignatureColumn& column : candidate.signature().features) features.push_back(column.name);
  Result<std::vector<float>> matrix = FeatureMatrix(data.frame, features, &rows, "the model");
  if (!matrix.ok() || rows.empty()) {
    check.detail = matrix.ok() ? "no validation rows to time" : matrix.status().message();
    return check;
  }
  const size_t width = features.size();
  // Warm up (first calls configure the booster), then time each row.
  for (size_t i = 0; i < std::min<size_t>(rows.size(), 50); ++i) (void)candidate.PredictRow(&(*matrix)[i * width], width);
  std::vector<double> micros;
  micros.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    auto start = std::chrono::steady_clock::now();
    Result<float> prediction = candidate.PredictRow(&(*matrix)[i * width], width);
    auto end = std::chrono::steady_clock::now();
    if (!prediction.ok()) {
      check.detail = prediction.status().message();
      return check;
    }
    micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  std::sort(micros.begin(), micros.end());
  const double p50 = micros[micros.size() / 2] / 1000.0;
  const double p99 = micros[std::min(micros.size() - 1, micros.size() * 99 / 100)] / 1000.0;
  check.observed = p99;
  check.threshold = options.latency_budget_ms;
  check.passed = p99 <= options.latency_budget_ms;
  check.detail = "single-row prediction p99 " + Format(p99, 3) + " ms (p50 " + Format(p50, 3) + " ms) over " +
                 std::to_string(micros.size()) + " rows; budget " + Format(options.latency_budget_ms, 3) + " ms";
  return check;
}

}  // namespace

Result<tracking::ModelVersion> RegisterRunModel(RegistryContext& context, const RegisterRequest& request) {
  if (request.name.empty()) return InvalidArgument("a model name is required (--name)");
  KILN_ASSIGN_OR_RETURN(tracking::Run run, context.tracking.GetRun(request.run_id));
  KILN_ASSIGN_OR_RETURN(std::string root, RunArtifactRoot(run.info));
  const std::string path = root + "/" + request.artifact_path;
  Result<std::unique_ptr<ModelFolder>> folder =
      ModelFolder::Link(context.artifacts, std::string(kArtifactScheme) + path, "run " + request.run_id);
  if (!folder.ok()) {
    if (folder.status().code() != StatusCode::kFailedPrecondition) return folder.status();
    return FailedPrecondition("run " + request.run_id + " has no " + request.artifact_path +
                              "/kiln-model.json: only finished runs of the built-in trainer (or runs that log one) "
                              "can be registered");
  }
  KILN_RETURN_IF_ERROR(LoadedModel::Load((*folder)->path(), 1).status());
  Result<tracking::RegisteredModel> existing = context.registry.GetRegisteredModel(request.name);
  if (!existing.ok()) {
    if (existing.status().code() != StatusCode::kNotFound) return existing.status();
    KILN_RETURN_IF_ERROR(context.registry.CreateRegisteredModel(request.name, {}, std::nullopt).status());
  }
  tracking::NewModelVersion version;
  version.name = request.name;
  version.source = "runs:/" + request.run_id + "/" + request.artifact_path;
  version.run_id = request.run_id;
  version.user_id = request.user;
  if (!request.description.empty()) version.description = request.description;
  return context.registry.CreateModelVersion(version);
}

Result<PromotionReport> PromoteVersion(RegistryContext& context, const PromotionOptions& options_in) {
  PromotionOptions options = options_in;
  KILN_ASSIGN_OR_RETURN(tracking::ModelVersion candidate_version,
                        context.registry.GetModelVersion(options.model, options.candidate_version));
  if (!candidate_version.run_id) {
    return FailedPrecondition(options.model + " v" + std::to_string(options.candidate_version) +
                              " was not registered from a run; its validation data is unknown");
  }
  std::optional<tracking::ModelVersion> holder;
  Result<tracking::ModelVersion> current = context.registry.GetModelVersionByAlias(options.model, options.alias);
  if (current.ok()) {
    holder = *current;
  } else if (current.status().code() != StatusCode::kNotFound) {
    return current.status();
  }
  if (holder && holder->version == options.candidate_version) {
    return FailedPrecondition("'" + options.alias + "' already points at " + options.model + " v" +
                              std::to_string(options.candidate_version));
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<ModelFolder> folder,
                        ModelFolder::Link(context.artifacts, candidate_version.storage_location,
                                          options.model + " v" + std::to_string(options.candidate_version)));
  KILN_ASSIGN_OR_RETURN(LoadedModel candidate, LoadedModel::Load(folder->path(), 1));
  const std::string& objective = candidate.signature().objective;
  if (options.metric.empty()) options.metric = objective.rfind("binary:", 0) == 0 ? "auc" : "rmse";
  // A metric the check cannot compute is a mistake in the request, not a
  // failed check to record.
  KILN_ASSIGN_OR_RETURN(ObjectiveKind kind, ClassifyObjective(objective));
  const std::vector<std::string> metrics = kind == ObjectiveKind::kBinary
                                               ? std::vector<std::string>{"auc", "logloss", "error"}
                                               : std::vector<std::string>{"rmse", "mae"};
  if (std::find(metrics.begin(), metrics.end(), options.metric) == metrics.end()) {
    std::string known;
    for (const std::string& name : metrics) known += (known.empty() ? "" : ", ") + name;
    return InvalidArgument("metric '" + options.metric + "' is not computed for objective " + objective + " (use " +
                           known + ")");
  }
  KILN_ASSIGN_OR_RETURN(tracking::Run run, context.tracking.GetRun(*candidate_version.run_id));
  KILN_ASSIGN_OR_RETURN(EvaluationData data, LoadEvaluationData(context, run));

  tracking::NewPromotion promotion;
  promotion.model = options.model;
  promotion.candidate_version = options.candidate_version;
  promotion.alias = options.alias;
  promotion.actor = options.actor;
  promotion.expected_previous_version = holder ? holder->version : 0;
  promotion.checks.push_back(ValidationMetricCheck(context, options, candidate, data, holder));
  promotion.checks.push_back(HoldoutCheck(candidate, data));
  promotion.checks.push_back(OnlineFeaturesCheck(context, candidate));
  promotion.checks.push_back(LatencyCheck(options, candidate, data));
  KILN_ASSIGN_OR_RETURN(tracking::PromotionRecord record, context.registry.RecordPromotion(promotion));
  PromotionReport report;
  report.summary = tracking::DescribePromotion(record);
  report.record = std::move(record);
  return report;
}

}  // namespace kiln::training
