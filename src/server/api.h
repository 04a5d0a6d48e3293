#pragma once
// The HTTP API: which handler file registers which routes, and the services
// they call. Handlers translate HTTP to module calls and hold no logic.

#include <string>
#include <vector>

#include "server/router.h"

namespace kiln::storage {
class Database;
class ArtifactStore;
}  // namespace kiln::storage
namespace kiln::tracking {
class TrackingStore;
class ModelRegistry;
}  // namespace kiln::tracking
namespace kiln::features {
class FeatureStore;
}
namespace kiln::training {
class TrainingService;
}

namespace kiln::server {

class TokenStore;

// Borrowed pointers to the long-lived services; owned by App.
struct ApiServices {
  storage::Database* database = nullptr;
  storage::ArtifactStore* artifacts = nullptr;
  tracking::TrackingStore* tracking = nullptr;
  tracking::ModelRegistry* registry = nullptr;
  TokenStore* tokens = nullptr;
  features::FeatureStore* features = nullptr;
  training::TrainingService* training = nullptr;
};

// Both prefixes MLflow serves its JSON API under.
inline const std::vector<std::string> kMlflowPrefixes = {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"};

void RegisterSystemRoutes(Router& router, const ApiServices& services);    // system_handlers.cc
void RegisterTrackingRoutes(Router& router, const ApiServices& services);  // tracking_handlers.cc
void RegisterRegistryRoutes(Router& router, const ApiServices& services);  // registry_handlers.cc
void RegisterArtifactRoutes(Router& router, const ApiServices& services);  // artifact_handlers.cc
void RegisterTokenRoutes(Router& router, const ApiServices& services);     // token_handlers.cc
// /api/features: definitions (plan, apply, listings) and data (training sets,
// materialization, online reads, push, quarantine).
void RegisterFeatureRegistryRoutes(Router& router, const ApiServices& services);  // feature_registry_handlers.cc
void RegisterFeatureDataRoutes(Router& router, const ApiServices& services);      // features_handlers.cc

// /api/training: runs from specs, queue, cancel, reproduce, sweeps.
void RegisterTrainingRoutes(Router& router, const ApiServices& services);  // training_handlers.cc

// /api/models/{register,promote,alias-history,promotions} and /api/stats:
// the registry's guardrails and iteration statistics.
void RegisterPromotionRoutes(Router& router, const ApiServices& services);  // promotion_handlers.cc

// Every route of the API.
void RegisterAllRoutes(Router& router, const ApiServices& services);

}  // namespace kiln::server
