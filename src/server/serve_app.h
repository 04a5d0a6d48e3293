#pragma once
// ServeApp: the long-lived objects of one `kiln serve` process — the
// metadata store (registry, feature registry, outcomes), the artifact store
// (model files), the feature store reading the online store (a read-only
// follower of the embedded RocksDB, so it runs beside `kiln server`; or
// Redis), the model cache with its alias watcher, the prediction log, the
// metrics, the prediction service and the router with the serving routes.
// Several replicas can share one PostgreSQL + Redis deployment.

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/router.h"
#include "serving/model_cache.h"

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
namespace kiln::serving {
class MetricsRegistry;
class OutcomeStore;
class PredictionLog;
class PredictionService;
}  // namespace kiln::serving

namespace kiln::server {

class TokenStore;

struct ServeOptions {
  std::string data_dir = "./kiln-data";
  std::string store_uri;   // empty: SQLite in data_dir
  std::string online_uri;  // "" / "rocksdb" → follower of data_dir/online; "redis://…"
  std::vector<serving::ModelRef> models;
  int reload_ms = 250;
  size_t max_batch_rows = 1000;
  // "auto" (a table when the store is PostgreSQL, else files in
  // data_dir/predictions), "file", "sql" or "off".
  std::string prediction_log = "auto";
  size_t log_capacity = 100'000;
};

class ServeApp {
 public:
  // Opens the stores, loads every model (all must load) and starts the
  // alias watcher. Errors name what failed.
  static Result<std::unique_ptr<ServeApp>> Open(const ServeOptions& options);
  ~ServeApp();

  const Router& router() const { return router_; }
  serving::PredictionLog* prediction_log() { return log_.get(); }
  serving::ModelCache& models() { return *models_; }
  TokenStore& tokens() { return *tokens_; }
  // Stops the watcher, drains the prediction log (every accepted prediction
  // is written) and reports what the log wrote and dropped.
  Status Close();
  std::string Describe() const;  // one line: models, stores, log

 private:
  ServeApp() = default;

  ServeOptions options_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<tracking::ModelRegistry> registry_;
  std::unique_ptr<features::FeatureStore> features_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<serving::OutcomeStore> outcomes_;
  std::unique_ptr<serving::MetricsRegistry> metrics_;
  std::unique_ptr<serving::PredictionLog> log_;
  std::unique_ptr<serving::ModelCache> models_;
  std::unique_ptr<serving::PredictionService> service_;
  Router router_;
  bool closed_ = false;
};

}  // namespace kiln::server
