#pragma once
// Comparing a reproduction with the run it reproduces (`kiln runs
// reproduce`): whether the model files are bit-identical and, if not, what
// differs — files by SHA-256, dependencies, data, final metrics.

#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "storage/artifact_store.h"
#include "tracking/tracking_store.h"

namespace kiln::training {

struct FileComparison {
  std::string path;  // relative to the run's artifacts
  std::string original_sha256;     // "" when the original has no such file
  std::string reproduction_sha256; // "" when the reproduction has none
  bool identical() const { return original_sha256 == reproduction_sha256; }
};

struct ReproductionReport {
  std::string original_run_id;
  std::string run_id;
  std::string status;          // the reproduction's run status
  bool model_identical = false;  // every file under model/ bit-identical
  std::vector<FileComparison> files;  // model/ and the trainer's outputs, by path
  // For people: "model/model.ubj differs (sha256 ab12… → cd34…)", "numpy
  // 1.24.2 → 1.26.0", "auc 0.8123 → 0.8125".
  std::vector<std::string> differences;
};

// `run_id` is a reproduction (tagged kiln.reproduces). Errors: kNotFound,
// kInvalidArgument when the run is not a reproduction.
Result<ReproductionReport> CompareReproduction(tracking::TrackingStore& tracking, storage::ArtifactStore& artifacts,
                                               const std::string& run_id);
Json ReproductionReportToJson(const ReproductionReport& report);

}  // namespace kiln::training
