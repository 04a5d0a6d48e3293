#pragma once
// PredictionService: the prediction server's logic behind its HTTP routes.
// A request names a served model (by alias or version); the service fetches
// the model's online features from its feature service (entity keys and
// request fields from the request; on-demand features computed by the same
// expression engine as training sets), assembles dense rows in the model's
// feature order, predicts (the fast predictor; batches on all cores), logs
// every row to the prediction log without waiting for it, and counts
// requests, errors, rows and latencies per model version in the metrics.
//
// Missing values: a feature that is null, absent for the entity (NOT_FOUND)
// or outside its TTL reaches the model as missing (NaN), as in training,
// where point-in-time misses are nulls; XGBoost sends it down each split's
// default branch. The feature service must still be at the version the
// model was trained on (else kFailedPrecondition naming both versions).
//
// Thread-safe: any number of request threads; per-request state is on the
// stack; the binding cache takes a shared lock.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"
#include "serving/inference_protocol.h"
#include "serving/metrics.h"
#include "serving/model_cache.h"
#include "serving/prediction_log.h"

namespace kiln::features {
class FeatureStore;
class Repository;
}  // namespace kiln::features

namespace kiln::serving {

struct PredictionServiceOptions {
  size_t max_batch_rows = 1000;  // rows per request (413 beyond)
};

// Which served model a request addresses: "name", "name@alias", and an
// optional version ("3") or alias ("challenger") from /versions/{v}.
struct ModelAddress {
  std::string name;
  std::string alias;               // "" = the default alias of the name
  std::optional<int64_t> version;  // a served version
};
ModelAddress ParseModelAddress(std::string_view model, std::string_view version = "");

class PredictionService {
 public:
  // Borrows everything; `log` may be null (prediction log off).
  PredictionService(ModelCache& models, features::FeatureStore& features, PredictionLog* log,
                    MetricsRegistry& metrics, Clock& clock, PredictionServiceOptions options = {});
  ~PredictionService();

  // POST /api/predict/{model}: the response JSON text. Errors: kNotFound
  // (model), kInvalidArgument (body, features, types), kResourceExhausted
  // (batch size), kFailedPrecondition (feature service version moved).
  Result<std::string> Predict(const ModelAddress& address, std::string_view body);
  // POST /v2/models/{m}[/versions/{v}]/infer: the OIP response JSON text.
  Result<std::string> Infer(const ModelAddress& address, std::string_view body);
  // GET /v2/models/{m}[/versions/{v}]: OIP model metadata.
  Result<Json> Metadata(const ModelAddress& address);
  // GET /v2/models/{m}/ready: OK when served.
  Status Ready(const ModelAddress& address);
  // GET /api/serving/models: every served alias with its version, predictor,
  // feature service and materialization point.
  Json ListModels() const;

  // Called by the model cache's watcher: catches the online store up with
  // the writer process and re-reads each feature service's materialization point.
  void RefreshFeatureState();

  struct Binding;  // prediction_service.cc

 private:
  Result<std::string> PredictOnce(const ModelAddress& address, std::string_view body);
  Result<std::string> InferOnce(const ModelAddress& address, std::string_view body);
  // Counts a failed request in kiln_predict_errors_total{model, code}.
  void CountError(const ModelAddress& address, const Status& status);
  Result<std::shared_ptr<const ServedModel>> Resolve(const ModelAddress& address) const;
  // The alias a request reached `model` by ("" when it asked for a version).
  std::string AliasAnswered(const ModelAddress& address, const ServedModel& model) const;
  Result<std::shared_ptr<const Binding>> BindingFor(const ServedModel& model);
  struct ModelMetrics;
  ModelMetrics& MetricsFor(const ServedModel& model);
  int64_t MaterializedUntil(const ServedModel& model) const;
  void Log(const ServedModel& model, const std::string& alias, const PredictRequest* request,
           const std::vector<float>& rows, const std::vector<float>& predictions, int64_t timestamp_micros,
           const std::vector<std::string>& ids);

  ModelCache& models_;
  features::FeatureStore& features_;
  PredictionLog* log_;
  MetricsRegistry& metrics_;
  Clock& clock_;
  const PredictionServiceOptions options_;

  mutable std::shared_mutex mutex_;  // guards the maps below
  std::map<std::pair<const ServedModel*, const features::Repository*>, std::shared_ptr<const Binding>> bindings_;
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<ModelMetrics>> model_metrics_;
  std::map<std::string, int64_t> materialized_until_;  // "project/service" → µs (0 unknown)
  Counter* dropped_ = nullptr;
};

}  // namespace kiln::serving
