#pragma once
// Online readiness: can a model trained on version N of a feature service be
// served from the online store now? One of the promotion guardrails of
// issue 4 ("the feature service matches what is materialized online").
//
// For the service version it checks (1) whether it is still the service's
// current version and, if not, whether the current version lists the same
// features (names and types, in order); and for every feature view the
// version needs — listed directly or as an input of an on-demand view — that
// (2) it still exists and is served online, (3) it was materialized at least
// once into the given online store (feature_materializations.online_store =
// OnlineStore::Describe()), and (4) its definition did not change after the
// latest such materialization: the view, as far as it shapes the stored
// records (features, entities, source; not descriptions, tags or TTL), is
// compared with its definition in the repository version that was current
// when that materialization finished.
//
// OnlineReadinessChecker borrows the database and the feature registry (they
// must outlive it); it keeps no state and is thread-safe. FeatureStore::
// CheckOnlineReadiness is the usual entry point.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "features/feature_registry.h"
#include "features/repository.h"
#include "storage/database.h"

namespace kiln::features {

struct ViewReadiness {
  std::string view;
  bool exists = true;                           // in the current repository, as a feature view served online
  bool materialized = false;                    // at least once into the online store
  std::optional<int64_t> last_end_micros;       // latest end of materialized event time
  std::optional<int64_t> last_finished_millis;  // when the latest materialization finished
  // The repository version current when it finished (nullopt when none was
  // applied by then).
  std::optional<int64_t> materialized_repository_version;
  bool definition_changed = false;
  std::string change;  // what changed since ("feature delay_mean changed; feature x added"), "" if nothing
};

struct OnlineReadiness {
  std::string project;
  std::string service;
  int64_t service_version = 0;          // the one asked about (the model's)
  int64_t current_service_version = 0;  // the service's latest
  bool is_current_version = false;
  bool same_features = false;         // the current version lists the same features (names, types, order)
  int64_t repository_version = 0;     // the project's current repository version
  std::string online_store;           // OnlineStore::Describe()
  std::vector<ViewReadiness> views;   // feature views the service version needs, in first-use order
  bool ready = false;                 // problems is empty
  std::vector<std::string> problems;  // one sentence each
};

// "added a.x, b.y; removed c.z; retyped d.w float64 → int64; reordered", or
// "" when both lists are equal.
std::string DescribeFeatureListChange(const std::vector<ServiceFeature>& from,
                                      const std::vector<ServiceFeature>& to);

class OnlineReadinessChecker {
 public:
  OnlineReadinessChecker(storage::Database& database, FeatureRegistry& registry)
      : database_(database), registry_(registry) {}

  // REQUIRES: `current` is version `repository_version` of its project, the
  // latest applied. Errors: kInvalidArgument (service_version < 1),
  // kNotFound (service, service version) with the registry's messages.
  Result<OnlineReadiness> Check(const Repository& current, int64_t repository_version,
                                const std::string& online_store, const std::string& service,
                                int64_t service_version);

 private:
  // Fills materialization facts and the definition comparison of one view.
  Status CheckView(const Repository& current, int64_t repository_version, const std::string& online_store,
                   ViewReadiness& view);

  storage::Database& database_;
  FeatureRegistry& registry_;
};

}  // namespace kiln::features
