#include "server/app.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "features/feature_store.h"
#include "features/migrations.h"
#include "server/migrations.h"
#include "server/serving_handlers.h"
#include "serving/migrations.h"
#include "serving/outcome_store.h"
#include "server/token_store.h"
#include "storage/artifact_store.h"
#include "storage/database.h"
#include "storage/migrations.h"
#include "tracking/migrations.h"
#include "tracking/model_registry.h"
#include "tracking/tracking_store.h"
#include "training/local_executor.h"
#include "training/slurm_executor.h"
#include "training/training_service.h"

namespace kiln::server {

namespace {

namespace fs = std::filesystem;

std::string ThisExecutable() {
  std::error_code error;
  fs::path path = fs::read_symlink("/proc/self/exe", error);
  return error ? std::string() : path.string();
}

// The folder holding the `kiln` Python package: $KILN_PYTHON_DIR, else
// python/ next to the build or install folder of the binary.
std::string FindPythonClient(const std::string& executable) {
  if (const char* configured = std::getenv("KILN_PYTHON_DIR"); configured != nullptr && *configured != 0) {
    return configured;
  }
  if (executable.empty()) return "";
  fs::path dir = fs::path(executable).parent_path();
  for (const fs::path& candidate : {dir.parent_path() / "python", dir.parent_path() / "share" / "kiln" / "python"}) {
    std::error_code error;
    if (fs::exists(candidate / "kiln" / "__init__.py", error)) return fs::weakly_canonical(candidate, error).string();
  }
  return "";
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string paths(path);
  size_t begin = 0;
  while (begin <= paths.size()) {
    size_t end = paths.find(':', begin);
    if (end == std::string::npos) end = paths.size();
    fs::path candidate = fs::path(paths.substr(begin, end - begin)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    begin = end + 1;
  }
  return false;
}

}  // namespace

App::App(AppOptions options) : options_(std::move(options)) {}
App::~App() {
  // Runs first (they may use the socket), then the socket, then the stores.
  training_.reset();
  if (run_socket_) run_socket_->Stop();
  run_socket_.reset();
}

Result<std::string> App::RunSocket() {
  std::lock_guard lock(run_socket_mutex_);
  if (run_socket_) return run_socket_path_;
  // sun_path holds 107 bytes; fall back to /tmp for deep data directories.
  std::error_code error;
  std::string path = (fs::absolute(options_.data_dir, error) / "sockets" /
                      (std::to_string(::getpid()) + ".sock")).string();
  if (path.size() > 100) path = "/tmp/kiln-" + std::to_string(::getpid()) + ".sock";
  HttpServerOptions socket_options;
  socket_options.listen_tcp = false;
  socket_options.unix_socket = path;
  socket_options.handle_signals = false;
  socket_options.threads = 2;
  socket_options.temp_dir = temp_dir();
  run_socket_authenticator_ = std::make_unique<AllowAllAuthenticator>(Role::kWriter);
  auto server = std::make_unique<HttpServer>(router_, *run_socket_authenticator_, socket_options);
  KILN_RETURN_IF_ERROR(server->Start());
  run_socket_ = std::move(server);
  run_socket_path_ = path;
  return path;
}

std::string App::temp_dir() const {
  return (std::filesystem::path(options_.data_dir) / "tmp").string();
}

Result<std::unique_ptr<App>> App::Open(const AppOptions& options) {
  std::unique_ptr<App> app(new App(options));
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) {
    return Unavailable("cannot create data directory '" + options.data_dir + "': " + error.message());
  }
  storage::DatabaseOptions database_options;
  database_options.uri = options.store_uri;
  database_options.data_dir = options.data_dir;
  database_options.durable_commits = options.durable_commits;
  database_options.pool_size = options.pool_size;
  KILN_ASSIGN_OR_RETURN(app->database_, storage::Database::Open(database_options));
  KILN_RETURN_IF_ERROR(app->database_->Migrate(
      {&storage::Migrations(), &tracking::Migrations(), &server::Migrations(),
       &features::Migrations(), &serving::Migrations()}));

  Clock& clock = SystemClock::Instance();
  app->artifacts_ = std::make_unique<storage::ArtifactStore>(
      *app->database_, (std::filesystem::path(options.data_dir) / "artifacts").string(), clock);
  app->tracking_ = std::make_unique<tracking::TrackingStore>(*app->database_, clock, app->ids_);
  app->registry_ = std::make_unique<tracking::ModelRegistry>(*app->database_, *app->tracking_, clock);
  app->tokens_ = std::make_unique<TokenStore>(*app->database_, clock, app->ids_);
  features::FeatureStoreOptions feature_options;
  feature_options.data_dir = options.data_dir;
  feature_options.online_uri = options.online_uri;
  app->features_ = std::make_unique<features::FeatureStore>(*app->database_, *app->artifacts_,
                                                            *app->tracking_, clock, feature_options);

  app->services_.database = app->database_.get();
  app->services_.artifacts = app->artifacts_.get();
  app->services_.tracking = app->tracking_.get();
  app->services_.registry = app->registry_.get();
  app->services_.tokens = app->tokens_.get();
  training::TrainingServiceOptions training_options;
  training_options.data_dir = fs::absolute(options.data_dir, error).string();
  training_options.kiln_binary = ThisExecutable();
  training_options.python_client_dir = FindPythonClient(training_options.kiln_binary);
  App* raw = app.get();
  training_options.tracking_socket = [raw] { return raw->RunSocket(); };
  app->training_ = std::make_unique<training::TrainingService>(*app->tracking_, *app->artifacts_, *app->features_,
                                                               clock, training_options);
  app->training_->AddExecutor(std::make_unique<training::LocalExecutor>(), options.local_concurrency);
  if (OnPath("sbatch")) {
    training::SlurmExecutor::Options slurm;
    slurm.partition = options.slurm_partition;
    app->training_->AddExecutor(std::make_unique<training::SlurmExecutor>(slurm), options.slurm_concurrency);
  }

  app->services_.features = app->features_.get();
  app->services_.training = app->training_.get();
  RegisterAllRoutes(app->router_, app->services_);
  app->outcomes_ = std::make_unique<serving::OutcomeStore>(*app->database_);
  AddOutcomeRoutes(app->router_, *app->outcomes_, clock);
  AddSkewRoute(app->router_, app->services_, (fs::path(options.data_dir) / "predictions").string());
  return app;
}

}  // namespace kiln::server
