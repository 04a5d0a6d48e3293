#pragma once
// Routes of the prediction server (`kiln serve`, docs/api/serving.md):
// Open Inference Protocol v2 (/v2/...), Kiln's predict API
// (/api/predict/{model}), the served-model listing, and /metrics; and the
// outcome routes (/api/labels, /api/events) that both `kiln serve` and
// `kiln server` expose. Thin: parse the path, call the module, map errors.

#include <string>

#include "common/clock.h"
#include "server/api.h"
#include "server/router.h"

namespace kiln::serving {
class PredictionService;
class MetricsRegistry;
class OutcomeStore;
}  // namespace kiln::serving

namespace kiln::server {

// REQUIRES: the service and metrics outlive the router.
void AddServingRoutes(Router& router, serving::PredictionService& service, serving::MetricsRegistry& metrics);
// Labels and events; `max_items` per request (413 beyond).
void AddOutcomeRoutes(Router& router, serving::OutcomeStore& outcomes, Clock& clock, size_t max_items = 10'000);

// POST /api/features/skew {model, version?, sample?, seed?}: the skew check
// over the prediction log (a table when the store is PostgreSQL, else the
// files in `predictions_dir`).
void AddSkewRoute(Router& router, const ApiServices& services, const std::string& predictions_dir);

}  // namespace kiln::server
