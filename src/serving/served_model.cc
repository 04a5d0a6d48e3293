#include "serving/served_model.h"

#include "data/frame.h"
#include "training/model_folder.h"

namespace kiln::serving {
namespace {

// The server answers one number per row. A model for which XGBoost
// predicts several values per row (multi:softprob, multi-target) is refused
// here, so an alias moved to it keeps its old version serving instead of
// failing every request.
Status CheckOnePredictionPerRow(const training::LoadedModel& model, const std::string& label) {
  data::Frame row;
  for (const training::SignatureColumn& feature : model.signature().features) {
    data::Column column(feature.type);
    column.AppendNull();
    KILN_RETURN_IF_ERROR(row.AddColumn(feature.name, std::move(column)));
  }
  KILN_ASSIGN_OR_RETURN(std::vector<float> predictions, model.Predict(row));
  if (predictions.size() != 1) {
    return FailedPrecondition(label + " predicts " + std::to_string(predictions.size()) +
                              " values per row (objective " + model.signature().objective +
                              "); the prediction server serves models with one prediction per row");
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<const ServedModel>> ServedModel::Load(storage::ArtifactStore& artifacts,
                                                             const std::string& name, int64_t version,
                                                             const std::string& run_id,
                                                             const std::string& storage_location) {
  const std::string label = name + " v" + std::to_string(version);
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<training::ModelFolder> folder,
                        training::ModelFolder::Link(artifacts, storage_location, label));
  Result<training::LoadedModel> loaded = training::LoadedModel::Load(folder->path());
  if (!loaded.ok()) {
    // The folder is a fresh temporary one on every attempt: name the stored
    // files instead, so the message is stable (the cache logs a reload
    // error again only when its message changes) and says where they are.
    std::string message = loaded.status().message();
    const std::string& temporary = folder->path();
    std::string stored = storage_location;
    while (!stored.empty() && stored.back() == '/') stored.pop_back();
    for (size_t at = message.find(temporary); at != std::string::npos;
         at = message.find(temporary, at + stored.size())) {
      message.replace(at, temporary.size(), stored);
    }
    return Status(loaded.status().code(), "cannot load " + label + ": " + message);
  }
  std::shared_ptr<ServedModel> model(new ServedModel(std::move(*loaded)));
  model->name_ = name;
  model->version_ = version;
  model->run_id_ = run_id;
  auto names = std::make_shared<std::vector<std::string>>();
  for (const training::SignatureColumn& column : model->signature().features) names->push_back(column.name);
  model->feature_names_ = std::move(names);

  Result<std::string> json = model->model_.ModelJson();
  Result<TreeEnsemble> fast = json.ok() ? TreeEnsemble::FromXGBoostJson(*json)
                                        : Result<TreeEnsemble>(json.status());
  if (fast.ok() && fast->num_features() == model->num_features()) {
    model->fast_.emplace(std::move(*fast));
  } else {
    model->fallback_reason_ = fast.ok() ? "the model has " + std::to_string(fast->num_features()) +
                                              " features, the signature " + std::to_string(model->num_features())
                                        : fast.status().message();
    KILN_RETURN_IF_ERROR(CheckOnePredictionPerRow(model->model_, label));
  }
  return std::shared_ptr<const ServedModel>(std::move(model));
}

Status ServedModel::Predict(const float* rows, size_t count, float* out) const {
  if (fast_) {
    PredictBatchParallel(*fast_, rows, count, num_features(), out);
    return Status::Ok();
  }
  const size_t columns = num_features();
  for (size_t r = 0; r < count; ++r) {
    KILN_ASSIGN_OR_RETURN(out[r], model_.PredictRow(rows + r * columns, columns));
  }
  return Status::Ok();
}

}  // namespace kiln::serving
