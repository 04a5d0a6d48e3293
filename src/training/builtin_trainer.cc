#include "training/builtin_trainer.h"

#include <cstdio>
#include <fstream>

#include <cmath>
#include <filesystem>

#include "common/progress.h"
#include "training/baseline_profile.h"
#include "training/builtin_trainer_data.h"
#include "training/builtin_trainer_outputs.h"
#include "training/evaluation.h"
#include "training/xgboost_api.h"

namespace kiln::training {
namespace {

// The rows of one split as XGBoost sees them.
struct SplitMatrix {
  std::vector<int64_t> rows;
  std::vector<float> features;  // row-major
  std::vector<float> labels;
  DMatrix matrix;
};

Result<SplitMatrix> MakeSplit(const data::Frame& frame, const TrainerJob& job,
                              const std::vector<float>& labels, std::vector<int64_t> rows,
                              const std::vector<std::string>& feature_types) {
  SplitMatrix split;
  split.rows = std::move(rows);
  KILN_ASSIGN_OR_RETURN(split.features,
                        FeatureMatrix(frame, job.features, &split.rows, "the built-in trainer"));
  split.labels = TakeValues(labels, split.rows);
  if (split.rows.empty()) return split;
  KILN_ASSIGN_OR_RETURN(
      split.matrix, DMatrix::FromDense(split.features, split.rows.size(), job.features.size(), job.threads));
  KILN_RETURN_IF_ERROR(split.matrix.SetLabels(split.labels));
  KILN_RETURN_IF_ERROR(split.matrix.SetFeatureInfo(job.features, feature_types));
  return split;
}

std::vector<std::string> EvalMetrics(const XGBoostSpec& spec) {
  auto it = spec.params.find("eval_metric");
  if (it == spec.params.end()) return DefaultEvalMetrics(spec.objective);
  std::vector<std::string> metrics;
  size_t start = 0;
  while (start <= it->second.size()) {
    size_t end = std::min(it->second.find(',', start), it->second.size());
    std::string metric = it->second.substr(start, end - start);
    metric.erase(0, metric.find_first_not_of(' '));
    metric.erase(metric.find_last_not_of(' ') + 1);
    if (!metric.empty()) metrics.push_back(metric);
    start = end + 1;
  }
  return metrics;
}

// Parameters: the job's own first, then tree_method=hist unless given, then
// objective, seed and nthread from the job (these win), then eval metrics.
Status Configure(Booster& booster, const TrainerJob& job, const std::vector<std::string>& metrics) {
  for (const auto& [name, value] : job.xgboost.params) {
    if (name != "eval_metric") KILN_RETURN_IF_ERROR(booster.SetParam(name, value));
  }
  if (!job.xgboost.params.contains("tree_method"))
    KILN_RETURN_IF_ERROR(booster.SetParam("tree_method", "hist"));
  KILN_RETURN_IF_ERROR(booster.SetParam("objective", job.xgboost.objective));
  KILN_RETURN_IF_ERROR(booster.SetParam("seed", std::to_string(job.xgboost.seed)));
  KILN_RETURN_IF_ERROR(booster.SetParam("nthread", std::to_string(job.threads)));
  for (const std::string& metric : metrics) KILN_RETURN_IF_ERROR(booster.SetParam("eval_metric", metric));
  return Status::Ok();
}

struct BoostHistory {
  std::vector<std::vector<EvalValue>> rounds;  // XGBoost's evaluation of each round
  int best_iteration = 0;
  std::string stop_metric;  // "valid.logloss"
};

// Boosts up to num_boost_round rounds, stopping as XGBoost's EarlyStopping
// callback does: on the last metric of the validation set, after
// early_stopping_rounds rounds without a strict improvement.
// "DONE TOTAL\n" into `path` (replaced atomically), for whoever watches the run.
void WriteRoundProgress(const std::string& path, int done, int total) {
  if (path.empty()) return;
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << done << " " << total << "\n";
    if (!out) return;  // progress is best effort
  }
  std::rename(temp.c_str(), path.c_str());
}

Result<BoostHistory> Boost(Booster& booster, const TrainerJob& job, const SplitMatrix& train,
                           const SplitMatrix& valid, bool quiet, const std::string& progress_file) {
  BoostHistory history;
  const int patience = job.xgboost.early_stopping_rounds;
  double best_score = 0;
  Progress progress("xgboost " + job.xgboost.objective, job.xgboost.num_boost_round, "rounds", quiet);
  for (int round = 0; round < job.xgboost.num_boost_round; ++round) {
    KILN_RETURN_IF_ERROR(booster.UpdateOneIter(round, train.matrix));
    KILN_ASSIGN_OR_RETURN(std::string line,
                          booster.EvalOneIter(round, {{"train", &train.matrix}, {"valid", &valid.matrix}}));
    KILN_ASSIGN_OR_RETURN(std::vector<EvalValue> values, ParseEvalLine(line));
    history.rounds.push_back(values);
    progress.Set(round + 1);
    WriteRoundProgress(progress_file, round + 1, job.xgboost.num_boost_round);
    if (patience == 0) {
      history.best_iteration = round;
      continue;
    }
    const EvalValue* stop = nullptr;
    for (const EvalValue& value : values) {
      if (value.set == "valid") stop = &value;
    }
    if (stop == nullptr) return Internal("XGBoost reported no validation metric: '" + line + "'");
    history.stop_metric = "valid." + stop->metric;
    const bool improved = HigherIsBetter(stop->metric) ? stop->value > best_score : stop->value < best_score;
    if (round == 0 || improved) {
      best_score = stop->value;
      history.best_iteration = round;
    } else if (round - history.best_iteration >= patience) {
      break;
    }
  }
  progress.Finish();
  return history;
}

// Trees in a saved model (0 for a linear booster).
Result<int> CountTrees(const Booster& model) {
  KILN_ASSIGN_OR_RETURN(std::string text, model.SaveModel("json"));
  Json json = Json::parse(text, nullptr, false);
  const Json* booster = json.is_discarded() ? nullptr : &json["learner"]["gradient_booster"];
  if (booster == nullptr || !booster->is_object()) return 0;
  const Json& gbtree = booster->contains("gbtree") ? (*booster)["gbtree"] : *booster;
  if (!gbtree.contains("model")) return 0;
  const Json& param = gbtree["model"]["gbtree_model_param"];
  return param.is_object() ? std::stoi(param.value("num_trees", "0")) : 0;
}

// SHAP contributions of the validation rows, or of an evenly spaced sample
// of at most kShapMaxRows of them (TreeSHAP costs far more than prediction).
constexpr size_t kShapMaxRows = 500;  // TreeSHAP dominated training time on flights at 2,000 rows

Result<std::vector<float>> ShapContributions(const Booster& model, const SplitMatrix& valid, size_t width,
                                             int threads, size_t* rows_used) {
  const size_t rows = valid.rows.size();
  if (rows <= kShapMaxRows) {
    *rows_used = rows;
    return model.Predict(valid.matrix, Booster::PredictionType::kContributions);
  }
  const size_t step = (rows + kShapMaxRows - 1) / kShapMaxRows;
  std::vector<float> sample;
  for (size_t row = 0; row < rows; row += step) {
    sample.insert(sample.end(), valid.features.begin() + row * width,
                  valid.features.begin() + (row + 1) * width);
  }
  *rows_used = sample.size() / width;
  KILN_ASSIGN_OR_RETURN(DMatrix matrix, DMatrix::FromDense(sample, *rows_used, width, threads));
  return model.Predict(matrix, Booster::PredictionType::kContributions);
}

ProfiledColumn Profiled(std::string name, std::string role, std::string type, const std::vector<float>& train,
                        const std::vector<float>& valid, size_t offset = 0, size_t stride = 1) {
  return ProfiledColumn{std::move(name), std::move(role), std::move(type),
                        StridedValues{train.data() + offset, train.size() / stride, stride},
                        StridedValues{valid.data() + offset, valid.size() / stride, stride}};
}

}  // namespace

Result<TrainerSummary> RunBuiltinTrainer(const TrainerJob& job, const std::string& out_dir, bool quiet,
                                         const std::string& progress_file) {
  KILN_RETURN_IF_ERROR(ValidateTrainerJob(job));
  KILN_ASSIGN_OR_RETURN(data::Frame frame, ReadTrainingData(job, quiet));
  KILN_ASSIGN_OR_RETURN(std::vector<float> labels, LabelValues(frame, job.label, job.xgboost.objective));
  KILN_ASSIGN_OR_RETURN(SplitRows rows, SplitData(frame, job.split));
  if (rows.train.empty() || rows.validation.empty()) {
    return InvalidArgument(job.data_file + ": the split leaves " + std::to_string(rows.train.size()) +
                           " train and " + std::to_string(rows.validation.size()) +
                           " validation rows; the built-in trainer needs at least one of each");
  }
  ModelInfo info;
  info.xgboost_version = XGBoostVersion();
  info.signature.origin = job.origin;
  info.signature.objective = job.xgboost.objective;
  info.signature.label = {job.label, frame.Find(job.label)->type()};
  std::vector<std::string> feature_types;
  for (const std::string& feature : job.features) {
    data::Type type = frame.Find(feature)->type();
    info.signature.features.push_back({feature, type});
    feature_types.push_back(XGBoostFeatureType(type));
  }
  KILN_ASSIGN_OR_RETURN(SplitMatrix train,
                        MakeSplit(frame, job, labels, std::move(rows.train), feature_types));
  KILN_ASSIGN_OR_RETURN(SplitMatrix valid,
                        MakeSplit(frame, job, labels, std::move(rows.validation), feature_types));
  KILN_ASSIGN_OR_RETURN(SplitMatrix holdout,
                        MakeSplit(frame, job, labels, std::move(rows.holdout), feature_types));
  frame = data::Frame();  // the matrices hold what is needed from here on

  const std::vector<std::string> metrics = EvalMetrics(job.xgboost);
  KILN_ASSIGN_OR_RETURN(Booster booster, Booster::Create({&train.matrix, &valid.matrix}));
  KILN_RETURN_IF_ERROR(Configure(booster, job, metrics));
  KILN_RETURN_IF_ERROR(booster.SetFeatureInfo(job.features, feature_types));
  KILN_ASSIGN_OR_RETURN(BoostHistory history, Boost(booster, job, train, valid, quiet, progress_file));

  // The model is the first best_iteration + 1 rounds; all that follows reads
  // it back from the saved bytes, as a user of the artifact would.
  const int rounds_trained = static_cast<int>(history.rounds.size());
  std::string model_bytes;
  if (history.best_iteration + 1 < rounds_trained) {
    KILN_ASSIGN_OR_RETURN(Booster sliced, booster.Slice(0, history.best_iteration + 1));
    KILN_ASSIGN_OR_RETURN(model_bytes, sliced.SaveModel("ubj"));
  } else {
    KILN_ASSIGN_OR_RETURN(model_bytes, booster.SaveModel("ubj"));
  }
  KILN_ASSIGN_OR_RETURN(Booster model, Booster::FromModelBytes(model_bytes));
  KILN_RETURN_IF_ERROR(model.SetParam("nthread", std::to_string(job.threads)));
  for (const std::string& metric : metrics) KILN_RETURN_IF_ERROR(model.SetParam("eval_metric", metric));
  info.best_iteration = history.best_iteration;
  KILN_ASSIGN_OR_RETURN(info.rounds, model.BoostedRounds());
  KILN_ASSIGN_OR_RETURN(info.num_trees, CountTrees(model));

  TrainerSummary summary;
  summary.best_iteration = history.best_iteration;
  summary.rounds_trained = rounds_trained;
  summary.early_stopping_metric = history.stop_metric;
  summary.train_rows = static_cast<int64_t>(train.rows.size());
  summary.validation_rows = static_cast<int64_t>(valid.rows.size());
  summary.holdout_rows = static_cast<int64_t>(holdout.rows.size());
  std::vector<MetricLine> lines;
  for (int round = 0; round < rounds_trained; ++round) {
    for (const EvalValue& value : history.rounds[round])
      lines.push_back({value.set + "." + value.metric, value.value, round});
  }
  for (const EvalValue& value : history.rounds[history.best_iteration]) {
    if (value.set != "valid") continue;
    summary.metrics[value.metric] = value.value;
    lines.push_back({value.metric, value.value, 0});
  }
  lines.push_back({"best_iteration", static_cast<double>(summary.best_iteration), 0});
  lines.push_back({"train_rows", static_cast<double>(summary.train_rows), 0});
  lines.push_back({"validation_rows", static_cast<double>(summary.validation_rows), 0});
  lines.push_back({"holdout_rows", static_cast<double>(summary.holdout_rows), 0});
  if (!holdout.rows.empty()) {
    KILN_ASSIGN_OR_RETURN(std::string line, model.EvalOneIter(0, {{"holdout", &holdout.matrix}}));
    KILN_ASSIGN_OR_RETURN(std::vector<EvalValue> values, ParseEvalLine(line));
    for (const EvalValue& value : values) {
      summary.metrics["holdout." + value.metric] = value.value;
      lines.push_back({"holdout." + value.metric, value.value, 0});
    }
  }

  KILN_ASSIGN_OR_RETURN(std::vector<float> train_predictions,
                        model.Predict(train.matrix, Booster::PredictionType::kValue));
  KILN_ASSIGN_OR_RETURN(std::vector<float> valid_predictions,
                        model.Predict(valid.matrix, Booster::PredictionType::kValue));
  size_t shap_rows = 0;
  KILN_ASSIGN_OR_RETURN(std::vector<float> contributions,
                        ShapContributions(model, valid, job.features.size(), job.threads, &shap_rows));
  KILN_ASSIGN_OR_RETURN(auto total_gain, model.FeatureScores("total_gain"));
  KILN_ASSIGN_OR_RETURN(auto gain, model.FeatureScores("gain"));
  KILN_ASSIGN_OR_RETURN(auto weight, model.FeatureScores("weight"));

  const std::filesystem::path out(out_dir);
  KILN_RETURN_IF_ERROR(WriteModelDirectory((out / kModelDirName).string(), model_bytes, info));
  summary.model_sha256 = info.model_sha256;
  const size_t width = job.features.size();
  std::vector<ProfiledColumn> profiled;
  for (size_t j = 0; j < width; ++j) {
    profiled.push_back(Profiled(job.features[j], "feature",
                                std::string(data::TypeName(info.signature.features[j].type)), train.features,
                                valid.features, j, width));
  }
  profiled.push_back(Profiled(job.label, "label", std::string(data::TypeName(info.signature.label.type)),
                              train.labels, valid.labels));
  profiled.push_back(Profiled("prediction", "prediction", "float64", train_predictions, valid_predictions));
  Json header{
      {"label", job.label}, {"objective", job.xgboost.objective}, {"model_sha256", info.model_sha256}};

  const std::vector<std::pair<std::string, std::string>> documents = {
      {kMetricsFileName, MetricsJsonl(lines)},
      {kFeatureImportanceFileName,
       FeatureImportanceJson(job.features, total_gain, gain, weight).dump(2) + "\n"},
      {kShapImportanceFileName,
       ShapImportanceJson(job.features, contributions, shap_rows, "validation", valid.rows.size()).dump(2) +
           "\n"},
      {kBaselineProfileFileName, BuildBaselineProfile(profiled, header).dump(2) + "\n"}};
  for (const auto& [name, text] : documents) {
    KILN_RETURN_IF_ERROR(WriteArtifactFile((out / name).string(), text));
    summary.files.push_back(name);
  }
  for (const char* name : {kModelFileName, kModelInfoFileName, kMLmodelFileName}) {
    summary.files.push_back(std::string(kModelDirName) + "/" + name);
  }
  return summary;
}

}  // namespace kiln::training
