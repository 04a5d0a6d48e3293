#include "server/serving_handlers.h"

#include "common/version.h"
#include "server/api_error.h"
#include "serving/inference_protocol.h"
#include "serving/metrics.h"
#include "serving/outcome_store.h"
#include "serving/prediction_service.h"
#include "serving/skew_job.h"
#include "storage/database.h"

namespace kiln::server {
namespace {

using serving::ModelAddress;

// OIP errors are {"error": "message"} with the HTTP status of the code.
HttpResponse InferError(const Status& status) {
  return HttpResponse::FromJson(Json{{"error", status.message()}}, HttpStatusFor(status));
}

HttpResponse JsonText(std::string text) {
  HttpResponse response;
  response.body = std::move(text);
  return response;
}

ModelAddress Address(const HttpRequest& request) {
  auto version = request.path_params.find("version");
  return serving::ParseModelAddress(request.path_params.at("model"),
                                    version == request.path_params.end() ? "" : version->second);
}

}  // namespace

void AddServingRoutes(Router& router, serving::PredictionService& service, serving::MetricsRegistry& metrics) {
  auto* svc = &service;
  Handler live = [](HttpRequest&) { return HttpResponse::FromJson(Json{{"live", true}}); };
  Handler ready = [svc](HttpRequest&) {
    // Ready once every alias has loaded, which Start() guarantees before
    // the server listens; kept as a route for load balancers.
    return HttpResponse::FromJson(Json{{"ready", true}, {"models", svc->ListModels().size()}});
  };
  router.Add({"GET", "/v2/health/live", Role::kNone, false, live});
  router.Add({"GET", "/v2/health/ready", Role::kNone, false, ready});
  router.Add({"GET", "/v2", Role::kNone, false, [](HttpRequest&) {
                return HttpResponse::FromJson(
                    Json{{"name", "kiln"}, {"version", kVersion}, {"extensions", Json::array()}});
              }});

  Handler metadata = [svc](HttpRequest& request) {
    auto result = svc->Metadata(Address(request));
    return result.ok() ? HttpResponse::FromJson(*result) : InferError(result.status());
  };
  Handler model_ready = [svc](HttpRequest& request) {
    Status status = svc->Ready(Address(request));
    return status.ok() ? HttpResponse::FromJson(Json{{"name", request.path_params.at("model")}, {"ready", true}})
                       : InferError(status);
  };
  Handler infer = [svc](HttpRequest& request) {
    auto result = svc->Infer(Address(request), request.body);
    return result.ok() ? JsonText(std::move(*result)) : InferError(result.status());
  };
  for (const std::string prefix : {"/v2/models/{model}", "/v2/models/{model}/versions/{version}"}) {
    router.Add({"GET", prefix, Role::kReader, false, metadata});
    router.Add({"GET", prefix + "/ready", Role::kReader, false, model_ready});
    router.Add({"POST", prefix + "/infer", Role::kReader, false, infer});
  }

  Handler predict = [svc](HttpRequest& request) {
    ModelAddress address = serving::ParseModelAddress(request.path_params.at("model"));
    if (auto version = request.QueryParam("version"); version) {
      address = serving::ParseModelAddress(request.path_params.at("model"), *version);
    }
    auto result = svc->Predict(address, request.body);
    return result.ok() ? JsonText(std::move(*result)) : ErrorResponse(result.status());
  };
  router.Add({"POST", "/api/predict/{model}", Role::kReader, false, predict});
  router.Add({"GET", "/api/serving/models", Role::kReader, false, [svc](HttpRequest&) {
                return HttpResponse::FromJson(Json{{"models", svc->ListModels()}});
              }});
  auto* registry = &metrics;
  router.Add({"GET", "/metrics", Role::kNone, false, [registry](HttpRequest&) {
                return HttpResponse::Text(registry->Render(), 200, "text/plain; version=0.0.4; charset=utf-8");
              }});
}

void AddOutcomeRoutes(Router& router, serving::OutcomeStore& outcomes, Clock& clock, size_t max_items) {
  auto* store = &outcomes;
  auto* now = &clock;
  auto counts = [](const serving::RecordCounts& counts) {
    return HttpResponse::FromJson(Json{{"created", counts.created}, {"duplicates", counts.duplicates}});
  };
  router.Add({"POST", "/api/labels", Role::kWriter, false, [store, now, max_items, counts](HttpRequest& request) {
                auto labels = serving::ParseLabelsRequest(request.body, max_items, now->NowMillis() * 1000);
                if (!labels.ok()) return ErrorResponse(labels.status());
                auto result = store->AddLabels(*labels);
                return result.ok() ? counts(*result) : ErrorResponse(result.status());
              }});
  router.Add({"POST", "/api/events", Role::kWriter, false, [store, now, max_items, counts](HttpRequest& request) {
                auto events = serving::ParseEventsRequest(request.body, max_items, now->NowMillis() * 1000);
                if (!events.ok()) return ErrorResponse(events.status());
                auto result = store->AddEvents(*events);
                return result.ok() ? counts(*result) : ErrorResponse(result.status());
              }});
  router.Add({"GET", "/api/labels", Role::kReader, false, [store](HttpRequest& request) {
                serving::LabelQuery query;
                for (auto [it, end] = request.query.equal_range("prediction_id"); it != end; ++it) {
                  query.prediction_ids.push_back(it->second);
                }
                auto labels = store->ListLabels(query);
                if (!labels.ok()) return ErrorResponse(labels.status());
                Json list = Json::array();
                for (const serving::Label& label : *labels) {
                  list.push_back({{"id", label.label_id},
                                  {"prediction_id", label.prediction_id},
                                  {"value", label.value},
                                  {"timestamp_micros", label.timestamp_micros}});
                }
                return HttpResponse::FromJson(Json{{"labels", list}});
              }});
  router.Add({"GET", "/api/events", Role::kReader, false, [store](HttpRequest& request) {
                serving::EventQuery query;
                query.unit_id = request.QueryParam("unit_id").value_or("");
                query.name = request.QueryParam("name").value_or("");
                auto events = store->ListEvents(query);
                if (!events.ok()) return ErrorResponse(events.status());
                Json list = Json::array();
                for (const serving::BusinessEvent& event : *events) {
                  list.push_back({{"id", event.event_id},
                                  {"unit_id", event.unit_id},
                                  {"name", event.name},
                                  {"value", event.value},
                                  {"timestamp_micros", event.timestamp_micros},
                                  {"properties", event.properties}});
                }
                return HttpResponse::FromJson(Json{{"events", list}});
              }});
}

void AddSkewRoute(Router& router, const ApiServices& services, const std::string& predictions_dir) {
  ApiServices copy = services;
  router.Add({"POST", "/api/features/skew", Role::kReader, false, [copy, predictions_dir](HttpRequest& request) {
                auto message = RequestMessage(request);
                if (!message.ok()) return ErrorResponse(message.status());
                JsonFields fields(*message);
                serving::SkewJob job;
                auto model = fields.RequiredString("model");
                if (!model.ok()) return ErrorResponse(model.status());
                job.model = *model;
                auto version = fields.OptionalInt64("version");
                if (!version.ok()) return ErrorResponse(version.status());
                job.version = *version;
                auto sample = fields.OptionalInt64("sample");
                if (!sample.ok()) return ErrorResponse(sample.status());
                if (*sample) job.sample = **sample;
                auto seed = fields.OptionalInt64("seed");
                if (!seed.ok()) return ErrorResponse(seed.status());
                if (*seed) job.seed = static_cast<uint64_t>(**seed);
                Result<std::unique_ptr<serving::PredictionStore>> store =
                    copy.database->dialect() == storage::Dialect::kPostgres
                        ? serving::OpenSqlPredictionStore(*copy.database)
                        : serving::OpenFilePredictionStore(predictions_dir);
                if (!store.ok()) return ErrorResponse(store.status());
                auto result = serving::RunSkewJob(*copy.features, **store, *copy.registry, *copy.artifacts, job);
                if (!result.ok()) return ErrorResponse(result.status());
                return HttpResponse::FromJson(serving::SkewJobResultToJson(*result));
              }});
}

}  // namespace kiln::server
