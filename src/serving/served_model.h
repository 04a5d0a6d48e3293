#pragma once
// ServedModel: one registered model version loaded for serving — its
// signature, the compiled fast predictor (TreeEnsemble) or, for models it
// does not support, XGBoost's own predictor, and what the server needs to
// fetch its inputs: the feature-store project and service it was trained on.
// Immutable once loaded and shared (shared_ptr) between requests, so a hot
// reload swaps a pointer while in-flight requests finish on the old version.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "serving/tree_ensemble.h"
#include "training/model_artifact.h"

namespace kiln::storage {
class ArtifactStore;
}

namespace kiln::serving {

class ServedModel {
 public:
  // Loads `storage_location` (a registered version's "mlflow-artifacts:/…"
  // folder written by Kiln's trainer). Errors name the model and version.
  static Result<std::shared_ptr<const ServedModel>> Load(storage::ArtifactStore& artifacts, const std::string& name,
                                                          int64_t version, const std::string& run_id,
                                                          const std::string& storage_location);

  const std::string& name() const { return name_; }
  int64_t version() const { return version_; }
  const std::string& run_id() const { return run_id_; }
  const training::ModelSignature& signature() const { return model_.signature(); }
  const std::shared_ptr<const std::vector<std::string>>& feature_names() const { return feature_names_; }
  size_t num_features() const { return feature_names_->size(); }
  // "fast" (TreeEnsemble) or "xgboost" (fallback), and why the fallback.
  std::string predictor() const { return fast_ ? "fast" : "xgboost"; }
  const std::string& fallback_reason() const { return fallback_reason_; }
  bool has_feature_service() const { return !signature().origin.feature_service.empty(); }

  // Predicts `count` dense rows (row-major, num_features() floats each, NaN
  // missing) into out[0..count). Large batches use all cores.
  Status Predict(const float* rows, size_t count, float* out) const;

 private:
  ServedModel(training::LoadedModel model) : model_(std::move(model)) {}

  std::string name_;
  int64_t version_ = 0;
  std::string run_id_;
  training::LoadedModel model_;
  std::optional<TreeEnsemble> fast_;
  std::string fallback_reason_;
  std::shared_ptr<const std::vector<std::string>> feature_names_;
};

}  // namespace kiln::serving
