#pragma once
// ModelFolder: a private temporary folder of symlinks to the files of a
// model stored in the artifact store (kiln-model.json, model.ubj, MLmodel),
// so LoadedModel::Load can read a registered version without copying it.
// Removed with the object. Used by promotion and by the prediction server.

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kiln::storage {
class ArtifactStore;
}

namespace kiln::training {

// The storage-location scheme of objects in Kiln's artifact store.
inline constexpr std::string_view kArtifactScheme = "mlflow-artifacts:/";

class ModelFolder {
 public:
  ~ModelFolder();
  // `location` is a version's storage location ("mlflow-artifacts:/…");
  // `label` names it in errors ("flight-delay v3"). Errors: a location
  // outside Kiln's artifact store, a folder without kiln-model.json ("only
  // models written by Kiln's built-in trainer …").
  static Result<std::unique_ptr<ModelFolder>> Link(storage::ArtifactStore& artifacts, const std::string& location,
                                                   const std::string& label);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace kiln::training
