// /health and /version.
#include "common/version.h"
#include "server/api.h"
#include "storage/database.h"

namespace kiln::server {

void RegisterSystemRoutes(Router& router, const ApiServices& services) {
  storage::Database* database = services.database;
  router.Add({"GET", "/health", Role::kNone, false, [database](HttpRequest&) {
                auto connection = database->Acquire();
                if (connection.ok()) {
                  auto probe = (*connection)->Query("SELECT 1");
                  if (probe.ok()) return HttpResponse::Text("OK");
                }
                return HttpResponse::Text("metadata store unavailable", 503);
              }});
  router.Add({"GET", "/version", Role::kNone, false,
              [](HttpRequest&) { return HttpResponse::Text(kVersion); }});
}

void RegisterAllRoutes(Router& router, const ApiServices& services) {
  RegisterSystemRoutes(router, services);
  RegisterTrackingRoutes(router, services);
  RegisterRegistryRoutes(router, services);
  RegisterArtifactRoutes(router, services);
  RegisterTokenRoutes(router, services);
  RegisterFeatureRegistryRoutes(router, services);
  RegisterFeatureDataRoutes(router, services);
  RegisterTrainingRoutes(router, services);
  RegisterPromotionRoutes(router, services);
}

}  // namespace kiln::server
