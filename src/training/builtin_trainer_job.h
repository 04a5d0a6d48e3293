#pragma once
// TrainerJob: everything the built-in XGBoost trainer needs, as one value
// that travels into the sandbox as JSON (format_version 1,
// docs/formats/model-artifact.md#trainer-job). Plain values; thread-compatible.

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "training/model_artifact.h"
#include "training/run_spec.h"

namespace kiln::training {

inline constexpr int kTrainerJobFormatVersion = 1;

struct TrainerJob {
  std::string data_file;              // CSV with a header row
  std::string label;                  // column name
  std::vector<std::string> features;  // column names, in model order
  SplitSpec split;
  XGBoostSpec xgboost;
  int threads = 1;  // XGBoost's nthread; fixed so training is deterministic
  // The signature base recorded in kiln-model.json.
  ModelOrigin origin;
};

// Checks what the JSON form cannot: a data file, a label, at least one
// feature, no feature twice or equal to the label, threads >= 1,
// num_boost_round >= 1, early_stopping_rounds >= 0, a supported objective.
// Errors name the field: "trainer job: features: 'x' is listed twice".
Status ValidateTrainerJob(const TrainerJob& job);

Json TrainerJobToJson(const TrainerJob& job);
// Validates. Errors name the field: "trainer job: split.kind: expected
// 'random' or 'time', got 'weekly'".
Result<TrainerJob> TrainerJobFromJson(const Json& json);
Status WriteTrainerJobFile(const TrainerJob& job, const std::string& path);
Result<TrainerJob> ReadTrainerJobFile(const std::string& path);

// The JSON forms of the run spec's split and XGBoost sections, as they
// appear in a trainer job. `field` prefixes error messages ("split").
Json SplitSpecToJson(const SplitSpec& split);
Result<SplitSpec> SplitSpecFromJson(const Json& json, std::string_view field);
Json XGBoostSpecToJson(const XGBoostSpec& xgboost);
Result<XGBoostSpec> XGBoostSpecFromJson(const Json& json, std::string_view field);

}  // namespace kiln::training
