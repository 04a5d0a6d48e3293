#pragma once
// The `kiln features skew` job: sample logged predictions of one model
// version from the prediction log, find the feature service the version was
// trained on (its kiln-model.json), and run CheckSkew (skew.h) on them.

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "serving/prediction_log.h"
#include "serving/skew.h"

namespace kiln::storage {
class ArtifactStore;
}
namespace kiln::tracking {
class ModelRegistry;
}
namespace kiln::features {
class FeatureStore;
}

namespace kiln::serving {

struct SkewJob {
  std::string model;
  std::optional<int64_t> version;  // unset: the version with most predictions in the sample
  int64_t sample = 1000;
  uint64_t seed = 1;
  SkewOptions options;
};

struct SkewJobResult {
  std::string model;
  int64_t version = 0;
  int64_t logged = 0;  // predictions of the model in the log (before sampling)
  int64_t dropped = 0; // predictions the log reports as dropped
  SkewReport report;
};

// Errors: kNotFound "no logged predictions of model 'x'"; the model
// version has no feature service ("… was not trained on a feature service:
// nothing to compare").
Result<SkewJobResult> RunSkewJob(features::FeatureStore& features, PredictionStore& log,
                                 tracking::ModelRegistry& registry, storage::ArtifactStore& artifacts,
                                 const SkewJob& job);

Json SkewJobResultToJson(const SkewJobResult& result);

}  // namespace kiln::serving
