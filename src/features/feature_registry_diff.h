#pragma once
// Private to feature_registry.cc: what changed between two repository
// definitions in stored form (every feature typed, every source's columns
// resolved — as Repository::def() and stored versions are), and the
// resolved feature list of a feature service. Pure functions.

#include <vector>

#include "features/definitions.h"
#include "features/feature_registry.h"

namespace kiln::features {

// Changes from `before` (nullptr: nothing applied yet) to `after`, ordered
// by kind (sources, entities, feature views, features, on-demand views,
// feature services) and then by name.
std::vector<DefinitionChange> DiffRepositories(const RepositoryDef* before, const RepositoryDef& after);

// "view.feature" and type of each feature the service lists, "view.*"
// expanded, in order. References that do not resolve are skipped (stored
// definitions were validated).
std::vector<ServiceFeature> ResolveServiceFeatures(const RepositoryDef& def,
                                                   const FeatureServiceDef& service);

}  // namespace kiln::features
