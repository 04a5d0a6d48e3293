#pragma once
// App: the long-lived objects of one Kiln process, built in one place and
// wired together: clock, ids, metadata store (migrated), artifact store,
// tracking store, model registry, token store and the router. Both the
// server and the CLI's local mode use it, so the two front doors call the
// same module functions.

#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/router.h"

namespace kiln::features {
class FeatureStore;
}
namespace kiln::training {
class TrainingService;
}
namespace kiln::serving {
class OutcomeStore;
}

namespace kiln::server {

struct AppOptions {
  std::string data_dir = "./kiln-data";
  std::string store_uri;  // empty: SQLite file in data_dir
  bool durable_commits = true;
  int pool_size = 8;
  // Online feature store: "" → RocksDB in data_dir/online; "redis://host:port".
  std::string online_uri;
  // Training runs: how many run at once per executor. The Slurm executor
  // is available when `sbatch` is on PATH.
  int local_concurrency = 2;
  int slurm_concurrency = 4;
  std::string slurm_partition;
};

class App {
 public:
  // Opens (creating if needed) the data directory and store, applies
  // migrations, and registers every route.
  static Result<std::unique_ptr<App>> Open(const AppOptions& options);
  ~App();

  const Router& router() const { return router_; }
  const ApiServices& services() const { return services_; }
  storage::Database& database() { return *database_; }
  TokenStore& tokens() { return *tokens_; }
  features::FeatureStore& features() { return *features_; }
  training::TrainingService& training() { return *training_; }
  const AppOptions& options() const { return options_; }
  // Where streamed request bodies land (same filesystem as the artifacts).
  std::string temp_dir() const;
  // The Unix socket through which sandboxed runs reach this process's API,
  // started on first use (thread-safe) and removed when the App goes.
  Result<std::string> RunSocket();

 private:
  explicit App(AppOptions options);

  AppOptions options_;
  IdGenerator ids_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<tracking::ModelRegistry> registry_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<features::FeatureStore> features_;
  std::unique_ptr<serving::OutcomeStore> outcomes_;
  ApiServices services_;
  Router router_;
  // Declared after what they use: destroyed first. The socket server
  // outlives the training service, whose destructor waits for running runs.
  std::mutex run_socket_mutex_;
  std::unique_ptr<Authenticator> run_socket_authenticator_;
  std::unique_ptr<HttpServer> run_socket_;
  std::string run_socket_path_;
  std::unique_ptr<training::TrainingService> training_;
};

}  // namespace kiln::server
