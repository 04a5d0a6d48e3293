#pragma once
// Registering a run's model and promoting a version to an alias behind
// guardrails (`kiln models register` / `kiln models promote`). A promotion
// runs four checks and moves the alias only when all pass:
//   validation_metric   the candidate is not worse than the current alias
//                       holder on the candidate's validation rows (within a
//                       tolerance);
//   holdout_predictions predictions on the holdout rows (validation rows
//                       when there is no holdout) are finite and in the
//                       objective's range;
//   online_features     the model's feature service version is what the
//                       online store serves (materialized, unchanged);
//   latency             single-row prediction p99 within a budget.
// Each result is recorded on the version (tracking/promotion_records.h) and
// the alias move in the alias history. docs/training/promotion.md.

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "tracking/model_registry.h"

namespace kiln::storage {
class ArtifactStore;
}
namespace kiln::features {
class FeatureStore;
}

namespace kiln::training {

// What promotion and registration need; all borrowed.
struct RegistryContext {
  tracking::ModelRegistry& registry;
  tracking::TrackingStore& tracking;
  storage::ArtifactStore& artifacts;
  features::FeatureStore& features;
};

struct RegisterRequest {
  std::string run_id;
  std::string name;          // registered model, created when missing
  std::string artifact_path = "model";
  std::string description;
  std::string user;
};

// Checks the run has a Kiln model (model/kiln-model.json, loadable) and
// registers it as a new version of `name` (source runs:/<run>/model).
// Errors: "run X has no model/kiln-model.json: only finished runs of the
// built-in trainer (or runs that log one) can be registered".
Result<tracking::ModelVersion> RegisterRunModel(RegistryContext& context, const RegisterRequest& request);

struct PromotionOptions {
  std::string model;
  std::string alias = "champion";
  int64_t candidate_version = 0;
  std::string metric;             // default: auc for binary objectives, rmse otherwise
  double metric_tolerance = 0.0;  // how much worse than the current holder is still accepted
  double latency_budget_ms = 5.0; // p99 of single-row predictions
  int latency_rows = 2000;        // rows timed (from validation)
  std::string actor;
};

struct PromotionReport {
  tracking::PromotionRecord record;
  std::string summary;  // tracking::DescribePromotion(record)
};

// Runs the checks and records the promotion (moving the alias when all
// pass). A refused promotion is not an error: the report says which check
// failed and by how much. Errors: unknown model/version, a version without
// a Kiln model, a run without its snapshot.
Result<PromotionReport> PromoteVersion(RegistryContext& context, const PromotionOptions& options);

}  // namespace kiln::training
