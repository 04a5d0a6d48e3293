// LoadedModel (declared in model_artifact.h): a model folder read back for
// prediction.

#include <cmath>
#include <filesystem>
#include <limits>

#include "common/hashing.h"
#include "training/builtin_trainer_data.h"
#include "training/model_artifact.h"

namespace kiln::training {

Result<LoadedModel> LoadedModel::Load(const std::string& model_dir, int threads) {
  const std::filesystem::path dir(model_dir);
  const std::string info_path = (dir / kModelInfoFileName).string();
  KILN_ASSIGN_OR_RETURN(std::string info_text, ReadArtifactFile(info_path));
  Json json = Json::parse(info_text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgument(info_path + ": not valid JSON");
  KILN_ASSIGN_OR_RETURN(ModelInfo info, ModelInfoFromJson(json));

  const std::string model_path = (dir / info.model_file).string();
  KILN_ASSIGN_OR_RETURN(std::string model_bytes, ReadArtifactFile(model_path));
  const std::string digest = Sha256Hex(model_bytes);
  if (digest != info.model_sha256) {
    return FailedPrecondition("model file " + model_path + " has SHA-256 " + digest + ", " +
                              kModelInfoFileName + " says " + info.model_sha256);
  }
  KILN_ASSIGN_OR_RETURN(Booster booster, Booster::FromModelBytes(model_bytes));
  KILN_ASSIGN_OR_RETURN(uint64_t model_features, booster.NumFeatures());
  if (model_features != info.signature.features.size()) {
    return FailedPrecondition(model_path + " takes " + std::to_string(model_features) + " features but " +
                              kModelInfoFileName + " lists " +
                              std::to_string(info.signature.features.size()));
  }
  if (threads > 0) KILN_RETURN_IF_ERROR(booster.SetParam("nthread", std::to_string(threads)));
  // One prediction configures the booster, so later concurrent predictions
  // only read it.
  std::vector<float> missing(info.signature.features.size(), std::numeric_limits<float>::quiet_NaN());
  KILN_RETURN_IF_ERROR(booster.PredictDense(missing.data(), 1, missing.size()).status());
  return LoadedModel(std::move(info), std::move(booster));
}

Result<std::vector<float>> LoadedModel::Predict(const data::Frame& frame) const {
  std::vector<std::string> names;
  for (const SignatureColumn& feature : info_.signature.features) names.push_back(feature.name);
  KILN_ASSIGN_OR_RETURN(std::vector<float> matrix, FeatureMatrix(frame, names, nullptr, "the model"));
  return booster_.PredictDense(matrix.data(), frame.num_rows(), names.size());
}

Result<float> LoadedModel::PredictRow(const float* values, size_t count) const {
  const size_t expected = info_.signature.features.size();
  if (count != expected) {
    return InvalidArgument("a row of " + std::to_string(count) + " values; the model takes " +
                           std::to_string(expected) + " features");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<float> prediction, booster_.PredictDense(values, 1, count));
  if (prediction.size() != 1)
    return Internal("XGBoost returned " + std::to_string(prediction.size()) + " values for one row");
  return prediction[0];
}

}  // namespace kiln::training
