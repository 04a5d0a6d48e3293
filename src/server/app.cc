#include "server/app.h"

#include <filesystem>

#include "features/feature_store.h"
#include "features/migrations.h"
#include "server/migrations.h"
#include "server/token_store.h"
#include "storage/artifact_store.h"
#include "storage/database.h"
#include "storage/migrations.h"
#include "tracking/migrations.h"
#include "tracking/model_registry.h"
#include "tracking/tracking_store.h"

namespace kiln::server {

App::App(AppOptions options) : options_(std::move(options)) {}
App::~App() = default;

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
       &features::Migrations()}));

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
  app->services_.features = app->features_.get();
  RegisterAllRoutes(app->router_, app->services_);
  return app;
}

}  // namespace kiln::server
