#include "serving/prediction_service.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <random>

#include "common/json_writer.h"
#include "data/timestamp.h"
#include "data/value_json.h"
#include "features/entity_column_types.h"
#include "features/feature_store.h"
#include "features/online_store.h"
#include "serving/infer_fast_path.h"

namespace kiln::serving {

// How one model's inputs are found for one feature-store repository.
struct PredictionService::Binding {
  std::shared_ptr<const ServedModel> model;
  std::shared_ptr<const features::Repository> repository;  // null: no feature service
  std::map<std::string, data::Type> entity_types;          // join keys and request fields
  std::vector<size_t> online_column;  // model feature j → column of the online response
  std::map<std::string, size_t, std::less<>> feature_index;  // models without a service
};

struct PredictionService::ModelMetrics {
  Counter* requests = nullptr;
  Counter* rows = nullptr;
  Histogram* latency = nullptr;
  Histogram* feature_latency = nullptr;
  std::string name;
  std::string version;
};

namespace {

using Micros = std::chrono::microseconds;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Prediction ids: random per thread, no lock ("pred-" + 24 hex digits).
std::string NewPredictionId() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "pred-";
  id.resize(5 + 24);
  uint64_t a = engine(), b = engine();
  for (int i = 0; i < 16; ++i) id[5 + i] = kHex[(a >> (60 - 4 * i)) & 15];
  for (int i = 0; i < 8; ++i) id[21 + i] = kHex[(b >> (60 - 4 * i)) & 15];
  return id;
}

float ToModelInput(const data::Value& value) {
  if (value.null) return std::numeric_limits<float>::quiet_NaN();
  switch (value.type) {
    case data::Type::kFloat64: return static_cast<float>(value.f);
    case data::Type::kBool:
    case data::Type::kInt64:
    case data::Type::kTimestamp: return static_cast<float>(value.i);
    case data::Type::kString: break;
  }
  return std::numeric_limits<float>::quiet_NaN();
}

std::string Served(const ModelCache& models) {
  std::string text;
  for (const ServedAlias& served : models.List()) {
    if (!text.empty()) text += ", ";
    text += served.ref.name + "@" + served.ref.alias;
  }
  return text;
}

void AppendFloat(std::string& out, float value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

void AppendString(std::string& out, std::string_view text) {
  JsonWriter writer(&out);
  writer.String(text);
}

}  // namespace

ModelAddress ParseModelAddress(std::string_view model, std::string_view version) {
  ModelAddress address;
  size_t at = model.rfind('@');
  address.name = std::string(model.substr(0, at));
  if (at != std::string_view::npos) address.alias = std::string(model.substr(at + 1));
  if (!version.empty()) {
    int64_t number = 0;
    auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), number);
    if (ec == std::errc() && end == version.data() + version.size()) {
      address.version = number;
    } else {
      address.alias = std::string(version);
    }
  }
  return address;
}

PredictionService::PredictionService(ModelCache& models, features::FeatureStore& features, PredictionLog* log,
                                     MetricsRegistry& metrics, Clock& clock, PredictionServiceOptions options)
    : models_(models), features_(features), log_(log), metrics_(metrics), clock_(clock), options_(options) {
  dropped_ = &metrics_.GetCounter("kiln_prediction_log_dropped_total",
                                  "Predictions the log queue had no room for (also recorded in the log)");
}

PredictionService::~PredictionService() = default;

std::string PredictionService::AliasAnswered(const ModelAddress& address, const ServedModel& model) const {
  if (!address.alias.empty() || address.version) return address.alias;
  return models_.AliasOf(model.name(), model.version());  // the default alias
}

Result<std::shared_ptr<const ServedModel>> PredictionService::Resolve(const ModelAddress& address) const {
  std::shared_ptr<const ServedModel> model;
  if (address.version) {
    model = models_.FindVersion(address.name, *address.version);
    if (!model) {
      return NotFound("model '" + address.name + "' version " + std::to_string(*address.version) +
                      " is not served here (serving: " + Served(models_) + ")");
    }
    return model;
  }
  model = models_.Find(address.name, address.alias);
  if (!model) {
    return NotFound("model '" + address.name + (address.alias.empty() ? "" : "@" + address.alias) +
                    "' is not served here (serving: " + Served(models_) + ")");
  }
  return model;
}

PredictionService::ModelMetrics& PredictionService::MetricsFor(const ServedModel& model) {
  auto key = std::make_pair(model.name(), model.version());
  {
    std::shared_lock lock(mutex_);
    auto it = model_metrics_.find(key);
    if (it != model_metrics_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  auto& slot = model_metrics_[key];
  if (!slot) {
    slot = std::make_unique<ModelMetrics>();
    slot->name = model.name();
    slot->version = std::to_string(model.version());
    MetricLabels labels = {{"model", slot->name}, {"version", slot->version}};
    slot->requests = &metrics_.GetCounter("kiln_predict_requests_total", "Prediction requests answered", labels);
    slot->rows = &metrics_.GetCounter("kiln_predict_rows_total", "Rows predicted", labels);
    slot->latency = &metrics_.GetHistogram("kiln_predict_latency_seconds",
                                           "Prediction request latency inside the server", labels, LatencyBuckets());
    slot->feature_latency = &metrics_.GetHistogram("kiln_feature_lookup_seconds",
                                                   "Online feature lookup latency per request", labels,
                                                   LatencyBuckets());
  }
  return *slot;
}

Result<std::shared_ptr<const PredictionService::Binding>> PredictionService::BindingFor(const ServedModel& model) {
  std::shared_ptr<const features::Repository> repository;
  const training::ModelOrigin& origin = model.signature().origin;
  if (model.has_feature_service()) {
    Result<std::shared_ptr<const features::Repository>> current = features_.Current(origin.feature_project);
    if (!current.ok()) {
      return FailedPrecondition("model " + model.name() + " v" + std::to_string(model.version()) +
                                " reads feature service '" + origin.feature_service + "' of project '" +
                                origin.feature_project + "': " + current.status().message());
    }
    repository = std::move(*current);
  }
  auto key = std::make_pair(&model, repository.get());
  {
    std::shared_lock lock(mutex_);
    auto it = bindings_.find(key);
    if (it != bindings_.end()) return it->second;
  }
  auto binding = std::make_shared<Binding>();
  binding->repository = repository;
  const std::vector<std::string>& names = *model.feature_names();
  if (repository) {
    binding->entity_types = features::EntityColumnTypes(*repository);
    KILN_ASSIGN_OR_RETURN(std::vector<features::ResolvedFeature> outputs,
                          repository->ResolveService(origin.feature_service));
    std::map<std::string, size_t> column;
    for (size_t i = 0; i < outputs.size(); ++i) column.emplace(outputs[i].FullName(), i);
    for (const std::string& name : names) {
      auto it = column.find(name);
      if (it == column.end()) {
        return FailedPrecondition("model " + model.name() + " v" + std::to_string(model.version()) +
                                  " takes feature '" + name + "', which feature service '" +
                                  origin.feature_service + "' no longer has");
      }
      binding->online_column.push_back(it->second);
    }
  } else {
    for (size_t j = 0; j < names.size(); ++j) binding->feature_index.emplace(names[j], j);
  }
  // The cache is keyed by address: it may keep a binding only while the
  // binding holds the model alive, or a model loaded later at the same
  // address would find this one's column mapping. A request that resolved a
  // version the cache has just swapped out gets an uncached binding.
  std::shared_ptr<const ServedModel> owner = models_.FindVersion(model.name(), model.version());
  if (owner.get() != &model) return std::shared_ptr<const Binding>(binding);
  binding->model = std::move(owner);
  std::unique_lock lock(mutex_);
  if (bindings_.size() > 64) bindings_.clear();  // old versions and repositories
  bindings_[key] = binding;
  return std::shared_ptr<const Binding>(binding);
}

int64_t PredictionService::MaterializedUntil(const ServedModel& model) const {
  const training::ModelOrigin& origin = model.signature().origin;
  std::shared_lock lock(mutex_);
  auto it = materialized_until_.find(origin.feature_project + "/" + origin.feature_service);
  return it == materialized_until_.end() ? 0 : it->second;
}

void PredictionService::RefreshFeatureState() {
  if (Result<features::OnlineStore*> online = features_.online(); online.ok()) {
    Result<bool> refreshed = (*online)->Refresh();
    if (!refreshed.ok()) std::fprintf(stderr, "kiln serve: %s\n", refreshed.status().message().c_str());
  }
  std::map<std::string, int64_t> until;
  for (const ServedAlias& served : models_.List()) {
    if (!served.model || !served.model->has_feature_service()) continue;
    const training::ModelOrigin& origin = served.model->signature().origin;
    Result<std::optional<int64_t>> end = features_.MaterializedUntil(origin.feature_project, origin.feature_service);
    until[origin.feature_project + "/" + origin.feature_service] = end.ok() && *end ? **end : 0;
  }
  std::unique_lock lock(mutex_);
  materialized_until_ = std::move(until);
}

Result<std::string> PredictionService::Predict(const ModelAddress& address, std::string_view body) {
  Result<std::string> result = PredictOnce(address, body);
  if (!result.ok()) CountError(address, result.status());
  return result;
}

Result<std::string> PredictionService::Infer(const ModelAddress& address, std::string_view body) {
  Result<std::string> result = InferOnce(address, body);
  if (!result.ok()) CountError(address, result.status());
  return result;
}

void PredictionService::CountError(const ModelAddress& address, const Status& status) {
  std::string code(StatusCodeName(status.code()));
  // Unknown names stay out of the labels: clients must not grow the series.
  std::string model = models_.Find(address.name, "") ? address.name : "(not served)";
  metrics_.GetCounter("kiln_predict_errors_total", "Prediction requests that failed, by status code",
                      {{"model", model}, {"code", code}})
      .Increment();
}

Result<std::string> PredictionService::PredictOnce(const ModelAddress& address, std::string_view body) {
  const auto start = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> model, Resolve(address));
  ModelMetrics& metrics = MetricsFor(*model);
  metrics.requests->Increment();
  KILN_ASSIGN_OR_RETURN(PredictRequest request, ParsePredictRequest(body, options_.max_batch_rows));
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Binding> binding, BindingFor(*model));
  const size_t rows = request.rows.size();
  const size_t width = model->num_features();
  std::vector<float> dense(rows * width, std::numeric_limits<float>::quiet_NaN());
  const training::ModelOrigin& origin = model->signature().origin;

  if (binding->repository) {
    features::OnlineRequest online;
    online.project = origin.feature_project;
    online.service = origin.feature_service;
    online.with_metadata = false;
    online.as_of_micros = request.as_of_micros;
    online.rows.resize(rows);
    for (size_t r = 0; r < rows; ++r) {
      const PredictRow& row = request.rows[r];
      const std::string where = request.batch ? "rows[" + std::to_string(r) + "]." : "";
      for (const Json* part : {&row.entity, &row.request}) {
        const char* part_name = part == &row.entity ? "entity" : "request";
        for (const auto& [name, value] : part->items()) {
          auto type = binding->entity_types.find(name);
          if (type == binding->entity_types.end()) {
            std::string known;
            for (const auto& [key, unused] : binding->entity_types) known += (known.empty() ? "" : ", ") + key;
            return InvalidArgument(where + part_name + "." + name + ": not a join key or request field of feature "
                                   "service '" + origin.feature_service + "' (expected: " + known + ")");
          }
          KILN_ASSIGN_OR_RETURN(data::Value parsed,
                                data::ValueFromJson(value, type->second, where + part_name + "." + name));
          online.rows[r].emplace(name, std::move(parsed));
        }
      }
    }
    const auto lookup_start = std::chrono::steady_clock::now();
    Result<features::OnlineResponse> response = features_.GetOnlineFeatures(online);
    metrics.feature_latency->Observe(SecondsSince(lookup_start));
    if (!response.ok()) return response.status();
    if (origin.feature_service_version > 0 && response->service_version != origin.feature_service_version) {
      return FailedPrecondition("feature service '" + origin.feature_service + "' is at version " +
                                std::to_string(response->service_version) + ", but " + model->name() + " v" +
                                std::to_string(model->version()) + " was trained on version " +
                                std::to_string(origin.feature_service_version) +
                                ": retrain, or re-apply the definitions it was trained on");
    }
    for (size_t r = 0; r < rows; ++r) {
      const std::vector<data::Value>& values = response->values[r];
      float* out = dense.data() + r * width;
      for (size_t j = 0; j < width; ++j) out[j] = ToModelInput(values[binding->online_column[j]]);
    }
  } else {
    for (size_t r = 0; r < rows; ++r) {
      const PredictRow& row = request.rows[r];
      const std::string where = (request.batch ? "rows[" + std::to_string(r) + "]." : "") + std::string("request");
      if (!row.entity.empty()) {
        return InvalidArgument(where.substr(0, where.size() - 7) + "entity: model " + model->name() +
                               " has no feature service; send its features in 'request'");
      }
      float* out = dense.data() + r * width;
      size_t seen = 0;
      for (const auto& [name, value] : row.request.items()) {
        auto it = binding->feature_index.find(name);
        if (it == binding->feature_index.end()) {
          std::string known;
          for (const std::string& feature : *model->feature_names()) known += (known.empty() ? "" : ", ") + feature;
          return InvalidArgument(where + "." + name + ": not a feature of model " + model->name() +
                                 " (features: " + known + ")");
        }
        KILN_ASSIGN_OR_RETURN(data::Value parsed,
                              data::ValueFromJson(value.is_boolean() ? Json(value.get<bool>() ? 1.0 : 0.0) : value,
                                                  data::Type::kFloat64, where + "." + name));
        out[it->second] = ToModelInput(parsed);
        ++seen;
      }
      if (seen != width) {
        for (const std::string& feature : *model->feature_names()) {
          if (!row.request.contains(feature)) return InvalidArgument(where + " lacks feature '" + feature + "'");
        }
      }
    }
  }

  std::vector<float> predictions(rows);
  KILN_RETURN_IF_ERROR(model->Predict(dense.data(), rows, predictions.data()));
  std::vector<std::string> ids(rows);
  for (size_t r = 0; r < rows; ++r) {
    ids[r] = request.rows[r].prediction_id ? *request.rows[r].prediction_id : NewPredictionId();
  }
  const int64_t timestamp = request.as_of_micros ? *request.as_of_micros : clock_.NowMillis() * 1000;
  const std::string alias = AliasAnswered(address, *model);
  Log(*model, alias, &request, dense, predictions, timestamp, ids);

  std::string out;
  out.reserve(96 + rows * 64);
  out += "{\"model\":";
  AppendString(out, model->name());
  out += ",\"version\":" + std::to_string(model->version());
  out += ",\"alias\":";
  AppendString(out, alias);
  if (!request.batch) {
    out += ",\"id\":";
    AppendString(out, ids[0]);
    out += ",\"prediction\":";
    AppendFloat(out, predictions[0]);
  } else {
    out += ",\"predictions\":[";
    for (size_t r = 0; r < rows; ++r) {
      if (r > 0) out += ',';
      out += "{\"id\":";
      AppendString(out, ids[r]);
      out += ",\"prediction\":";
      AppendFloat(out, predictions[r]);
      out += '}';
    }
    out += ']';
  }
  out += '}';
  metrics.rows->Increment(rows);
  metrics.latency->Observe(SecondsSince(start));
  return out;
}

Result<std::string> PredictionService::InferOnce(const ModelAddress& address, std::string_view body) {
  const auto start = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> model, Resolve(address));
  ModelMetrics& metrics = MetricsFor(*model);
  metrics.requests->Increment();
  const size_t max_elements = options_.max_batch_rows * std::max<size_t>(1, model->num_features());
  std::optional<InferRequest> fast = TryParseInferRequestFast(body, max_elements);
  InferRequest request;
  if (fast) {
    request = std::move(*fast);
  } else {
    KILN_ASSIGN_OR_RETURN(request, ParseInferRequest(body, max_elements));
  }
  KILN_ASSIGN_OR_RETURN(DenseRows dense, InferInputsToDense(request, *model->feature_names(), options_.max_batch_rows));
  // Shape [0] parses; the response needs an id from the first row.
  if (dense.rows == 0) return InvalidArgument("inputs: the request has no rows to predict");
  std::vector<float> predictions(dense.rows);
  KILN_RETURN_IF_ERROR(model->Predict(dense.values.data(), dense.rows, predictions.data()));
  std::vector<std::string> ids(dense.rows);
  for (std::string& id : ids) id = NewPredictionId();
  const std::string alias = AliasAnswered(address, *model);
  Log(*model, alias, nullptr, dense.values, predictions, clock_.NowMillis() * 1000, ids);
  std::string out = EncodeInferResponse(model->name(), std::to_string(model->version()),
                                        request.id.empty() ? ids[0] : request.id, predictions);
  metrics.rows->Increment(dense.rows);
  metrics.latency->Observe(SecondsSince(start));
  return out;
}

void PredictionService::Log(const ServedModel& model, const std::string& alias, const PredictRequest* request,
                            const std::vector<float>& rows, const std::vector<float>& predictions,
                            int64_t timestamp_micros, const std::vector<std::string>& ids) {
  if (log_ == nullptr) return;
  const size_t width = model.num_features();
  const int64_t as_of = model.has_feature_service() ? MaterializedUntil(model) : 0;
  for (size_t r = 0; r < predictions.size(); ++r) {
    PredictionRecord record;
    record.id = ids[r];
    record.timestamp_micros = timestamp_micros;
    record.model = model.name();
    record.version = model.version();
    record.alias = alias;
    if (request != nullptr) {
      record.unit_id = request->rows[r].unit_id;
      record.entity = request->rows[r].entity;
      record.request = request->rows[r].request;
    }
    record.feature_names = model.feature_names();
    record.feature_values.assign(rows.begin() + r * width, rows.begin() + (r + 1) * width);
    record.features_as_of_micros = as_of;
    record.prediction = predictions[r];
    if (!log_->Append(std::move(record))) dropped_->Increment();
  }
}

Result<Json> PredictionService::Metadata(const ModelAddress& address) {
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> model, Resolve(address));
  Json inputs = Json::array();
  for (const std::string& name : *model->feature_names()) {
    inputs.push_back({{"name", name}, {"datatype", "FP32"}, {"shape", {-1}}});
  }
  Json versions = Json::array();
  for (const ServedAlias& served : models_.List()) {
    if (served.ref.name != model->name() || !served.model) continue;
    const std::string version = std::to_string(served.model->version());
    // Two aliases on one version list it once.
    if (std::find(versions.begin(), versions.end(), version) == versions.end()) versions.push_back(version);
  }
  const training::ModelOrigin& origin = model->signature().origin;
  return Json{{"name", model->name()},
              {"versions", versions},
              {"platform", "xgboost"},
              {"inputs", inputs},
              {"outputs", Json::array({{{"name", "predict"}, {"datatype", "FP32"}, {"shape", {-1}}}})},
              {"parameters",
               {{"version", std::to_string(model->version())},
                {"objective", model->signature().objective},
                {"predictor", model->predictor()},
                {"feature_project", origin.feature_project},
                {"feature_service", origin.feature_service},
                {"feature_service_version", origin.feature_service_version}}}};
}

Status PredictionService::Ready(const ModelAddress& address) { return Resolve(address).status(); }

Json PredictionService::ListModels() const {
  Json list = Json::array();
  for (const ServedAlias& served : models_.List()) {
    if (!served.model) continue;
    const ServedModel& model = *served.model;
    const training::ModelOrigin& origin = model.signature().origin;
    int64_t until = model.has_feature_service() ? MaterializedUntil(model) : 0;
    Json item = {{"name", model.name()},
                 {"alias", served.ref.alias},
                 {"version", model.version()},
                 {"run_id", model.run_id()},
                 {"predictor", model.predictor()},
                 {"features", model.num_features()},
                 {"objective", model.signature().objective},
                 {"feature_project", origin.feature_project},
                 {"feature_service", origin.feature_service},
                 {"feature_service_version", origin.feature_service_version},
                 {"loaded_at", data::FormatTimestamp(served.loaded_at_micros)}};
    item["materialized_until"] = until > 0 ? Json(data::FormatTimestamp(until)) : Json(nullptr);
    if (!model.fallback_reason().empty()) item["fallback_reason"] = model.fallback_reason();
    list.push_back(std::move(item));
  }
  return list;
}

}  // namespace kiln::serving
