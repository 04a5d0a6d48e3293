#pragma once
// The model artifact of the built-in trainer (docs/formats/model-artifact.md,
// format_version 1): a folder holding model.ubj (XGBoost's UBJSON model),
// kiln-model.json (the wrapper: signature, versions, the model's SHA-256)
// and MLmodel (MLflow's xgboost flavor). Everything in it is a function of
// the training inputs only — no times or run ids — so identical trainings
// give identical bytes. LoadedModel reads such a folder back for prediction.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "data/frame.h"
#include "training/xgboost_api.h"

namespace kiln::training {

inline constexpr int kModelArtifactFormatVersion = 1;
inline constexpr const char* kModelFileName = "model.ubj";
inline constexpr const char* kModelInfoFileName = "kiln-model.json";
inline constexpr const char* kMLmodelFileName = "MLmodel";

// Where the training data came from. Empty / 0 when not from a feature service.
struct ModelOrigin {
  std::string project;          // tracking project
  std::string feature_project;  // feature-store project
  std::string feature_service;
  int64_t feature_service_version = 0;
  int64_t repository_version = 0;
  std::string training_set_digest;  // SHA-256 of the training CSV
};

struct SignatureColumn {
  std::string name;
  data::Type type = data::Type::kFloat64;
};

// What the model takes and predicts. Features are in the model's column order.
struct ModelSignature {
  ModelOrigin origin;
  std::vector<SignatureColumn> features;
  SignatureColumn label;
  std::string objective;  // "binary:logistic" predicts a probability
};

// The contents of kiln-model.json.
struct ModelInfo {
  int format_version = kModelArtifactFormatVersion;
  ModelSignature signature;
  std::string xgboost_version;
  int best_iteration = 0;
  int rounds = 0;     // boosting rounds in model.ubj (best_iteration + 1)
  int num_trees = 0;  // trees in model.ubj
  std::string model_file = kModelFileName;
  std::string model_sha256;
};

Json ModelOriginToJson(const ModelOrigin& origin);
// Errors name `document` and the field under `path`: "trainer job: signature.feature_service_version: …".
Result<ModelOrigin> ModelOriginFromJson(const Json& json, std::string_view document, std::string_view path);
Json ModelInfoToJson(const ModelInfo& info);
// Errors name the field: "kiln-model.json: signature.features[1].type: unknown type 'x' …";
// "kiln-model.json: format_version 2 is newer than this Kiln reads (up to 1)".
Result<ModelInfo> ModelInfoFromJson(const Json& json);
// MLflow's MLmodel YAML (xgboost and python_function flavors, signature).
// utc_time_created and run_id are left out on purpose: they would make two
// identical trainings differ.
std::string MLmodelYaml(const ModelInfo& info);

// Writes `model_bytes` as model.ubj, sets info.model_sha256 and
// info.model_file, and writes kiln-model.json and MLmodel into `model_dir`
// (created if needed).
Status WriteModelDirectory(const std::string& model_dir, std::string_view model_bytes, ModelInfo& info);

// Whole-file helpers with errors naming the path.
Status WriteArtifactFile(const std::string& path, std::string_view bytes);
Result<std::string> ReadArtifactFile(const std::string& path);

// A model folder loaded for prediction. Move-only. Thread safety: Predict
// and PredictRow may be called concurrently from any number of threads (the
// booster is configured by a prediction at Load, and XGBoost's prediction
// is thread-safe for tree models); moving or destroying it may not overlap
// with calls.
class LoadedModel {
 public:
  // Reads kiln-model.json, checks format_version and model.ubj's SHA-256,
  // loads the booster. threads: XGBoost's nthread for prediction (0: its
  // default). Errors: "model/kiln-model.json: no such file", "model
  // file model/model.ubj has SHA-256 ab12…, kiln-model.json says cd34…".
  static Result<LoadedModel> Load(const std::string& model_dir, int threads = 0);

  const ModelSignature& signature() const { return info_.signature; }
  const ModelInfo& info() const { return info_; }

  // One prediction per row (a probability for binary:logistic). Columns are
  // found by the signature's feature names; nulls are missing values.
  // Errors: "input lacks feature 'x' (columns: a, b)", "feature 'x' is a
  // string column; the model takes numbers and booleans".
  Result<std::vector<float>> Predict(const data::Frame& frame) const;
  // One dense row in signature order (NaN = missing). Error when count differs
  // from the number of features.
  Result<float> PredictRow(const float* values, size_t count) const;
  // XGBoost's JSON model (for compiling a fast predictor).
  Result<std::string> ModelJson() const { return booster_.SaveModel("json"); }

 private:
  LoadedModel(ModelInfo info, Booster booster) : info_(std::move(info)), booster_(std::move(booster)) {}

  ModelInfo info_;
  Booster booster_;
};

}  // namespace kiln::training
