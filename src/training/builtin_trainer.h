#pragma once
// The built-in XGBoost trainer: reads a trainer job's CSV, splits it, trains
// with early stopping on the validation split, and writes the model
// artifact, metrics, importances and baseline profile into an output folder
// (docs/formats/model-artifact.md). With the same job (seed and threads
// fixed) it writes byte-identical model files. Runs inside the sandbox as
// `kiln` subcommand or in-process; one call at a time per output folder.

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "training/builtin_trainer_job.h"
#include "training/data_split.h"
#include "training/model_artifact.h"

namespace kiln::training {

// Files written under the output folder.
inline constexpr const char* kMetricsFileName = "metrics.jsonl";
inline constexpr const char* kModelDirName = "model";
inline constexpr const char* kFeatureImportanceFileName = "feature_importance.json";
inline constexpr const char* kShapImportanceFileName = "shap_importance.json";
inline constexpr const char* kBaselineProfileFileName = "baseline-profile.json";

struct TrainerSummary {
  int best_iteration = 0;             // 0-based round kept as the model's last
  int rounds_trained = 0;             // rounds boosted before stopping
  std::string early_stopping_metric;  // "valid.logloss"; empty without early stopping
  // Validation metrics at the best iteration ("auc", "logloss", "error" or
  // "rmse", "mae", or the job's eval_metric) and holdout metrics ("holdout.auc").
  std::map<std::string, double> metrics;
  int64_t train_rows = 0;
  int64_t validation_rows = 0;
  int64_t holdout_rows = 0;
  std::string model_sha256;
  std::vector<std::string> files;  // paths written, relative to the output folder
};

// Trains as `job` says and writes into `out_dir` (created if needed;
// existing files of the same names are replaced): metrics.jsonl,
// model/{model.ubj,kiln-model.json,MLmodel}, feature_importance.json,
// shap_importance.json, baseline-profile.json. Shows a progress line on a
// terminal unless quiet. Errors name the column, field or value at fault,
// e.g. "feature 'origin' is a string column; the built-in trainer takes
// numbers and booleans".
// With `progress_file`, each boosting round rewrites it (atomically) as
// "DONE TOTAL\n", so a watcher outside the sandbox can show progress.
Result<TrainerSummary> RunBuiltinTrainer(const TrainerJob& job, const std::string& out_dir, bool quiet,
                                         const std::string& progress_file = "");

}  // namespace kiln::training
