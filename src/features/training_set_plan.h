#pragma once
// Internal to training_set.cc: what a training set computes — the feature
// views to read with the features needed from each, the on-demand features
// in dependency order (an on-demand feature may read features nobody asked
// for; they are computed but not output), and the request fields needed —
// and the entity frame checked and converted against it.

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "data/frame.h"
#include "features/repository.h"
#include "features/training_set.h"

namespace kiln::features::training_internal {

struct ViewPlan {
  const ResolvedView* view = nullptr;
  std::vector<const ResolvedFeature*> features;  // row and aggregation features needed
};

struct RequestField {
  data::Type type = data::Type::kFloat64;
  std::string on_demand_view;  // the first view needing it, for messages
};

struct TrainingPlan {
  std::vector<const ResolvedFeature*> output;  // requested, deduplicated, in order
  std::vector<ViewPlan> views;                 // in order of first need
  std::vector<const ResolvedFeature*> on_demand;  // dependencies first
  std::map<std::string, RequestField> request_fields;
};

// Resolves the request's service or feature list and its dependencies.
Result<TrainingPlan> PlanTrainingSet(const Repository& repository, const TrainingSetRequest& request);

// The entity frame with its timestamp column as timestamps (ISO 8601 text
// parsed as UTC) and request fields in their declared types, after checking
// the join keys, request fields and labels the plan needs.
Result<data::Frame> PrepareEntities(const TrainingPlan& plan, const TrainingSetRequest& request);

}  // namespace kiln::features::training_internal
