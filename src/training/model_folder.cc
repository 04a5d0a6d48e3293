#include "training/model_folder.h"

#include <atomic>
#include <filesystem>

#include <unistd.h>

#include "storage/artifact_store.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;

}  // namespace

ModelFolder::~ModelFolder() {
  std::error_code error;
  if (!path_.empty()) fs::remove_all(path_, error);
}

Result<std::unique_ptr<ModelFolder>> ModelFolder::Link(storage::ArtifactStore& artifacts, const std::string& location,
                                                    const std::string& label) {
  if (location.rfind(kArtifactScheme, 0) != 0) {
    return FailedPrecondition(label + " is stored at '" + location + "', outside Kiln's artifact store");
  }
  std::string store_path = location.substr(kArtifactScheme.size());
  while (!store_path.empty() && store_path.front() == '/') store_path.erase(0, 1);
  auto folder = std::make_unique<ModelFolder>();
  static std::atomic<uint64_t> counter{0};
  folder->path_ = artifacts.temp_directory() + "/model-" + std::to_string(::getpid()) + "-" +
                  std::to_string(++counter);
  std::error_code error;
  fs::create_directories(folder->path_, error);
  if (error) return Internal("cannot create " + folder->path_ + ": " + error.message());
  for (const char* name : {"kiln-model.json", "model.ubj", "MLmodel"}) {
    Result<std::string> object = artifacts.ObjectPath(store_path + "/" + name);
    if (!object.ok()) continue;
    fs::create_symlink(fs::absolute(*object, error), folder->path_ + "/" + name, error);
    if (error) return Internal("cannot link " + std::string(name) + ": " + error.message());
  }
  if (!fs::exists(folder->path_ + "/kiln-model.json")) {
    return FailedPrecondition(label + " has no kiln-model.json at " + location +
                              ": only models written by Kiln's built-in trainer can be checked and promoted");
  }
  return folder;
}
}  // namespace kiln::training
