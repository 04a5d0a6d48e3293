#pragma once
// OnlineReader: the logic of GetOnlineFeatures. For each request shape
// (project, service or feature list) it builds a plan once — which views to
// read, where each stored value goes in the response, which request fields
// and looked-up features each on-demand feature reads, in dependency order —
// and caches it until the project's repository changes. A request then does
// one OnlineStore read per view for all rows and evaluates on-demand
// features row by row with the shared expression engine.
//
// Statuses (docs/features/online.md): NOT_FOUND (no record for the entity),
// OUTSIDE_MAX_AGE (the view has a TTL and now − event time > TTL; the value
// is returned as null), NULL_VALUE (stored or computed null), PRESENT.
//
// Thread-safe: plans are immutable and shared; the cache takes a shared lock
// per request and an exclusive one only to add a plan.

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "features/feature_store.h"
#include "features/online_store.h"
#include "features/repository.h"

namespace kiln::features {

class OnlineReader {
 public:
  // The version of a feature service (from the registry); asked once per plan.
  using ServiceVersionLookup = std::function<Result<int64_t>(const std::string& service)>;

  OnlineReader();
  ~OnlineReader();

  // `now_millis` is the time TTLs are measured against.
  // REQUIRES: repository is the current repository of request.project.
  // Errors: unknown service or features, both or neither given, a missing
  // join key or request field or one of the wrong type ("row 0: join key
  // 'origin' must be string, got int64", "row 2: request field 'departure'
  // is required by request_time.hour_of_day").
  Result<OnlineResponse> Read(const std::shared_ptr<const Repository>& repository, const OnlineRequest& request,
                              OnlineStore& store, const ServiceVersionLookup& service_version,
                              int64_t now_millis);

  // Drops every cached plan (e.g. after an apply).
  void Clear();

  struct Plan;  // online_reader.cc

 private:
  Result<std::shared_ptr<const Plan>> GetPlan(const std::shared_ptr<const Repository>& repository,
                                              const OnlineRequest& request,
                                              const ServiceVersionLookup& service_version);

  std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Plan>> plans_;
};

}  // namespace kiln::features
