#pragma once
// ModelCache: the registered models a prediction server serves, by alias
// ("flight-delay@champion"), kept current. A watcher thread asks the
// registry every `reload_interval` which version each alias points at; when
// one moved it loads the new version beside the old one and then swaps a
// shared pointer, so requests in flight finish on the version they started
// with and none fails or waits: hot reload without a restart. Several
// replicas sharing one registry database each see a move within one
// interval. A version that fails to load keeps the old one serving and is
// retried on the next tick (reload_errors counts it, last_error says why).
//
// Thread safety: Find/List are lock-free reads of atomic shared pointers,
// safe from any thread; Start/Stop from the owning thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "serving/served_model.h"

namespace kiln::tracking {
class ModelRegistry;
}
namespace kiln::storage {
class ArtifactStore;
}

namespace kiln::serving {

struct ModelRef {
  std::string name;
  std::string alias;
};
// "name@alias" list, comma separated ("a@champion,a@challenger,b@champion").
// Errors: "--models: 'flight-delay' lacks an alias (write flight-delay@champion)".
Result<std::vector<ModelRef>> ParseModelRefs(std::string_view text);

struct ModelCacheOptions {
  std::chrono::milliseconds reload_interval{250};
};

// What one served alias currently holds.
struct ServedAlias {
  ModelRef ref;
  std::shared_ptr<const ServedModel> model;
  int64_t loaded_at_micros = 0;
};

class ModelCache {
 public:
  ModelCache(tracking::ModelRegistry& registry, storage::ArtifactStore& artifacts, ModelCacheOptions options = {});
  ~ModelCache();  // Stop()

  // Loads every alias (all must load: a server that cannot serve what it was
  // asked to refuses to start) and starts the watcher. Errors name the
  // model and alias: "flight-delay@champion: Registered model alias champion not found."
  Status Start(const std::vector<ModelRef>& refs);
  void Stop();

  // Called after each watcher tick (the server refreshes its online-store
  // follower and the feature service's materialization point here).
  void OnTick(std::function<void()> callback);

  // The model `name` reached by `alias`; alias "" is the first alias listed
  // for the name (the default). nullptr when not served.
  std::shared_ptr<const ServedModel> Find(const std::string& name, const std::string& alias) const;
  // A served version of `name` (whichever alias holds it). nullptr when no
  // served alias holds that version.
  std::shared_ptr<const ServedModel> FindVersion(const std::string& name, int64_t version) const;
  // The alias a version is served under ("" when none).
  std::string AliasOf(const std::string& name, int64_t version) const;
  std::vector<ServedAlias> List() const;

  int64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }
  int64_t reload_errors() const { return reload_errors_.load(std::memory_order_relaxed); }
  std::string last_error() const;

  // One watcher pass now (tests; the watcher thread calls it every interval).
  void CheckNow();

 private:
  struct Slot {
    ModelRef ref;
    std::atomic<std::shared_ptr<const ServedModel>> model;
    std::atomic<int64_t> loaded_at_micros{0};
  };
  Result<std::shared_ptr<const ServedModel>> LoadAlias(const ModelRef& ref, const ServedModel* current);
  void Watch();

  tracking::ModelRegistry& registry_;
  storage::ArtifactStore& artifacts_;
  const ModelCacheOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;  // fixed after Start
  std::atomic<int64_t> reloads_{0};
  std::atomic<int64_t> reload_errors_{0};
  mutable std::mutex mutex_;  // last_error_, stop_, callbacks_
  std::condition_variable wake_;
  bool stop_ = false;
  std::string last_error_;
  std::vector<std::function<void()>> callbacks_;
  std::mutex check_mutex_;  // one CheckNow at a time
  std::thread watcher_;
};

}  // namespace kiln::serving
