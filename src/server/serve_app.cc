#include "server/serve_app.h"

#include <filesystem>

#include "common/clock.h"
#include "features/feature_store.h"
#include "features/migrations.h"
#include "server/migrations.h"
#include "server/serving_handlers.h"
#include "server/token_store.h"
#include "serving/metrics.h"
#include "serving/migrations.h"
#include "serving/outcome_store.h"
#include "serving/prediction_log.h"
#include "serving/prediction_service.h"
#include "storage/artifact_store.h"
#include "storage/database.h"
#include "storage/migrations.h"
#include "tracking/migrations.h"
#include "tracking/model_registry.h"
#include "tracking/tracking_store.h"

namespace kiln::server {
namespace {

namespace fs = std::filesystem;

// The embedded RocksDB belongs to `kiln server`: serve follows it read-only.
std::string FollowerUri(const std::string& uri) {
  if (uri.empty() || uri == "rocksdb") return "rocksdb-follower";
  if (uri.starts_with("rocksdb:")) return "rocksdb-follower:" + uri.substr(8);
  return uri;
}

}  // namespace

ServeApp::~ServeApp() { Close(); }

Result<std::unique_ptr<ServeApp>> ServeApp::Open(const ServeOptions& options) {
  std::unique_ptr<ServeApp> app(new ServeApp());
  app->options_ = options;
  std::error_code error;
  fs::create_directories(options.data_dir, error);
  if (error) return Unavailable("cannot create data directory '" + options.data_dir + "': " + error.message());
  storage::DatabaseOptions database_options;
  database_options.uri = options.store_uri;
  database_options.data_dir = options.data_dir;
  KILN_ASSIGN_OR_RETURN(app->database_, storage::Database::Open(database_options));
  KILN_RETURN_IF_ERROR(app->database_->Migrate({&storage::Migrations(), &tracking::Migrations(),
                                                &server::Migrations(), &features::Migrations(),
                                                &serving::Migrations()}));
  Clock& clock = SystemClock::Instance();
  static IdGenerator ids;
  app->artifacts_ = std::make_unique<storage::ArtifactStore>(*app->database_,
                                                             (fs::path(options.data_dir) / "artifacts").string(), clock);
  app->tracking_ = std::make_unique<tracking::TrackingStore>(*app->database_, clock, ids);
  app->registry_ = std::make_unique<tracking::ModelRegistry>(*app->database_, *app->tracking_, clock);
  features::FeatureStoreOptions feature_options;
  feature_options.data_dir = options.data_dir;
  feature_options.online_uri = FollowerUri(options.online_uri);
  app->features_ = std::make_unique<features::FeatureStore>(*app->database_, *app->artifacts_, *app->tracking_,
                                                            clock, feature_options);
  app->tokens_ = std::make_unique<TokenStore>(*app->database_, clock, ids);
  app->outcomes_ = std::make_unique<serving::OutcomeStore>(*app->database_);
  app->metrics_ = std::make_unique<serving::MetricsRegistry>();

  std::string log_kind = options.prediction_log;
  if (log_kind == "auto") log_kind = app->database_->dialect() == storage::Dialect::kPostgres ? "sql" : "file";
  std::unique_ptr<serving::PredictionStore> store;
  if (log_kind == "file") {
    KILN_ASSIGN_OR_RETURN(store,
                          serving::OpenFilePredictionStore((fs::path(options.data_dir) / "predictions").string()));
  } else if (log_kind == "sql") {
    KILN_ASSIGN_OR_RETURN(store, serving::OpenSqlPredictionStore(*app->database_));
  } else if (log_kind != "off") {
    return InvalidArgument("--prediction-log: expected auto, file, sql or off, got '" + options.prediction_log + "'");
  }
  if (store) {
    serving::PredictionLogOptions log_options;
    log_options.capacity = options.log_capacity;
    app->log_ = std::make_unique<serving::PredictionLog>(std::move(store), log_options);
    serving::PredictionLog* log = app->log_.get();
    serving::MetricsRegistry* metrics = app->metrics_.get();
    metrics->AddCollector([log, metrics] {
      serving::PredictionLogStats stats = log->stats();
      metrics->GetGauge("kiln_prediction_log_queue_depth", "Predictions waiting to be written").Set(stats.queue_depth);
      metrics->GetGauge("kiln_prediction_log_queue_capacity", "Predictions the queue holds").Set(stats.capacity);
      metrics->GetGauge("kiln_prediction_log_written", "Predictions written to the log").Set(stats.written);
      metrics->GetGauge("kiln_prediction_log_write_errors", "Predictions lost to store errors").Set(stats.write_errors);
    });
  }

  serving::ModelCacheOptions cache_options;
  cache_options.reload_interval = std::chrono::milliseconds(options.reload_ms);
  app->models_ = std::make_unique<serving::ModelCache>(*app->registry_, *app->artifacts_, cache_options);
  serving::PredictionServiceOptions service_options;
  service_options.max_batch_rows = options.max_batch_rows;
  app->service_ = std::make_unique<serving::PredictionService>(*app->models_, *app->features_, app->log_.get(),
                                                               *app->metrics_, clock, service_options);
  KILN_RETURN_IF_ERROR(app->models_->Start(options.models));
  app->service_->RefreshFeatureState();
  serving::PredictionService* service = app->service_.get();
  app->models_->OnTick([service] { service->RefreshFeatureState(); });
  serving::ModelCache* models = app->models_.get();
  serving::MetricsRegistry* metrics = app->metrics_.get();
  metrics->AddCollector([models, metrics] {
    metrics->GetGauge("kiln_model_reloads", "Alias moves picked up since start").Set(models->reloads());
    metrics->GetGauge("kiln_model_reload_errors", "Failed reload attempts since start").Set(models->reload_errors());
    for (const serving::ServedAlias& served : models->List()) {
      metrics->GetGauge("kiln_served_model_version", "The version each served alias holds",
                        {{"model", served.ref.name}, {"alias", served.ref.alias}})
          .Set(served.model ? served.model->version() : 0);
    }
  });

  AddServingRoutes(app->router_, *app->service_, *app->metrics_);
  AddOutcomeRoutes(app->router_, *app->outcomes_, clock);
  return app;
}

Status ServeApp::Close() {
  if (closed_) return Status::Ok();
  closed_ = true;
  if (models_) models_->Stop();
  if (log_) return log_->Close();
  return Status::Ok();
}

std::string ServeApp::Describe() const {
  std::string text;
  for (const serving::ServedAlias& served : models_->List()) {
    if (!text.empty()) text += ", ";
    text += served.ref.name + "@" + served.ref.alias + " = v" +
            std::to_string(served.model ? served.model->version() : 0) + " (" +
            (served.model ? served.model->predictor() : "-") + ")";
  }
  text += "; prediction log: " + (log_ ? log_->store().Describe() : std::string("off"));
  return text;
}

}  // namespace kiln::server
