// Routes of MLflow's tracking REST API (experiments, runs, metrics) under
// both kMlflowPrefixes. Each handler reads the request message with
// JsonFields, calls the TrackingStore and renders MLflow's response shape
// (server/tracking_json.h); errors map through api_error.h.
#include <functional>
#include <optional>

#include "server/api.h"
#include "server/api_error.h"
#include "server/tracking_json.h"
#include "tracking/search_plan.h"
#include "tracking/tracking_store.h"

namespace kiln::server {
namespace {

using tracking::TrackingStore;

// One endpoint: the request as a single JSON message (body merged with the
// query string) in, the response message out.
using Endpoint = std::function<Result<Json>(TrackingStore&, const Json&, const HttpRequest&)>;

Handler Wrap(TrackingStore* store, Endpoint endpoint) {
  return [store, endpoint = std::move(endpoint)](HttpRequest& request) -> HttpResponse {
    Result<Json> message = RequestMessage(request);
    if (!message.ok()) return ErrorResponse(message.status());
    Result<Json> response = endpoint(*store, *message, request);
    if (!response.ok()) return ErrorResponse(response.status());
    return HttpResponse::FromJson(*response);
  };
}

// An endpoint whose response is written as JSON text (large responses).
using TextEndpoint = std::function<Result<std::string>(TrackingStore&, const Json&, const HttpRequest&)>;

Handler WrapText(TrackingStore* store, TextEndpoint endpoint) {
  return [store, endpoint = std::move(endpoint)](HttpRequest& request) -> HttpResponse {
    Result<Json> message = RequestMessage(request);
    if (!message.ok()) return ErrorResponse(message.status());
    Result<std::string> response = endpoint(*store, *message, request);
    if (!response.ok()) return ErrorResponse(response.status());
    return HttpResponse::Text(std::move(*response), 200, "application/json");
  };
}

// {"run": {...}}
std::string SingleRunText(const tracking::Run& run) {
  std::string text;
  JsonWriter writer(&text);
  writer.BeginObject();
  writer.Key("run");
  WriteRun(writer, run);
  writer.EndObject();
  return text;
}

// A page of a listing as MLflow writes it: the items under `field` (omitted
// when empty) and next_page_token (omitted at the end).
template <typename Item, typename Render>
Json PageJson(const char* field, const std::vector<Item>& items, const std::string& next_page_token,
              Render render) {
  Json out = Json::object();
  if (!items.empty()) {
    Json rendered = Json::array();
    for (const Item& item : items) rendered.push_back(render(item));
    out[field] = std::move(rendered);
  }
  if (!next_page_token.empty()) out["next_page_token"] = next_page_token;
  return out;
}

Result<Json> Empty(const Status& status) {
  if (!status.ok()) return status;
  return Json::object();
}

// A required string; "" counts as missing, as in MLflow.
Result<std::string> Required(const Json& message, std::string_view name) {
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> value, JsonFields(message).OptionalString(name));
  if (!value || value->empty()) return MissingParameter(name);
  return *value;
}

Result<std::string> OptionalString(const Json& message, std::string_view name) {
  KILN_ASSIGN_OR_RETURN(std::optional<std::string> value, JsonFields(message).OptionalString(name));
  return value.value_or("");
}

// run_id, or the deprecated run_uuid.
Result<std::string> RunId(const Json& message) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, OptionalString(message, "run_id"));
  if (!run_id.empty()) return run_id;
  KILN_ASSIGN_OR_RETURN(std::string run_uuid, OptionalString(message, "run_uuid"));
  if (!run_uuid.empty()) return run_uuid;
  return MissingParameter("run_id");
}

// A ViewType given as its name or its enum number.
Result<tracking::ViewType> ViewTypeField(const Json& message, std::string_view name) {
  const Json* value = JsonFields(message).Get(name);
  if (value == nullptr) return tracking::ParseViewType("");
  if (value->is_number_integer()) return tracking::ParseViewType(std::to_string(value->get<int64_t>()));
  if (value->is_string()) return tracking::ParseViewType(value->get<std::string>());
  return InvalidParameter(name, *value, "one of ACTIVE_ONLY, DELETED_ONLY, ALL");
}

// --- Experiments ---

Result<Json> CreateExperiment(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(m, "name"));
  KILN_ASSIGN_OR_RETURN(std::string location, OptionalString(m, "artifact_location"));
  KILN_ASSIGN_OR_RETURN(std::vector<tracking::ExperimentTag> tags, ParseTags(m, "tags"));
  KILN_ASSIGN_OR_RETURN(std::string id, store.CreateExperiment(name, location, tags));
  return Json{{"experiment_id", id}};
}

Result<Json> GetExperiment(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string id, Required(m, "experiment_id"));
  KILN_ASSIGN_OR_RETURN(tracking::Experiment experiment, store.GetExperiment(id));
  return Json{{"experiment", ExperimentJson(experiment)}};
}

Result<Json> GetExperimentByName(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string name, Required(m, "experiment_name"));
  KILN_ASSIGN_OR_RETURN(tracking::Experiment experiment, store.GetExperimentByName(name));
  return Json{{"experiment", ExperimentJson(experiment)}};
}

Result<Json> SearchExperiments(TrackingStore& store, const Json& m, const HttpRequest&) {
  JsonFields f(m);
  tracking::SearchExperimentsRequest request;
  KILN_ASSIGN_OR_RETURN(request.filter, OptionalString(m, "filter"));
  KILN_ASSIGN_OR_RETURN(request.view, ViewTypeField(m, "view_type"));
  KILN_ASSIGN_OR_RETURN(std::optional<int64_t> max_results, f.OptionalInt64("max_results"));
  request.max_results = max_results.value_or(tracking::kExperimentSearchDefaultMaxResults);
  KILN_ASSIGN_OR_RETURN(request.order_by, ParseStringList(m, "order_by"));
  KILN_ASSIGN_OR_RETURN(request.page_token, OptionalString(m, "page_token"));
  KILN_ASSIGN_OR_RETURN(tracking::ExperimentPage page, store.SearchExperiments(request));
  return PageJson("experiments", page.experiments, page.next_page_token, ExperimentJson);
}

Result<Json> UpdateExperiment(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string id, Required(m, "experiment_id"));
  KILN_ASSIGN_OR_RETURN(std::string new_name, Required(m, "new_name"));
  return Empty(store.RenameExperiment(id, new_name));
}

Result<Json> DeleteExperiment(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string id, Required(m, "experiment_id"));
  return Empty(store.DeleteExperiment(id));
}

Result<Json> RestoreExperiment(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string id, Required(m, "experiment_id"));
  return Empty(store.RestoreExperiment(id));
}

Result<Json> SetExperimentTag(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string id, Required(m, "experiment_id"));
  tracking::ExperimentTag tag;
  KILN_ASSIGN_OR_RETURN(tag.key, Required(m, "key"));
  KILN_ASSIGN_OR_RETURN(tag.value, OptionalString(m, "value"));
  return Empty(store.SetExperimentTag(id, tag));
}

Result<Json> DeleteExperimentTag(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string id, Required(m, "experiment_id"));
  KILN_ASSIGN_OR_RETURN(std::string key, Required(m, "key"));
  return Empty(store.DeleteExperimentTag(id, key));
}

// --- Runs ---

Result<std::string> CreateRun(TrackingStore& store, const Json& m, const HttpRequest& http) {
  JsonFields f(m);
  tracking::CreateRunRequest request;
  KILN_ASSIGN_OR_RETURN(std::string experiment_id, OptionalString(m, "experiment_id"));
  if (!experiment_id.empty()) request.experiment_id = experiment_id;
  KILN_ASSIGN_OR_RETURN(request.user_id, OptionalString(m, "user_id"));
  if (request.user_id.empty()) request.user_id = http.user;  // the authenticated caller
  KILN_ASSIGN_OR_RETURN(request.run_name, OptionalString(m, "run_name"));
  KILN_ASSIGN_OR_RETURN(request.start_time, f.OptionalInt64("start_time"));
  KILN_ASSIGN_OR_RETURN(request.tags, ParseTags(m, "tags"));
  KILN_ASSIGN_OR_RETURN(tracking::Run run, store.CreateRun(request));
  return SingleRunText(run);
}

Result<std::string> GetRun(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, RunId(m));
  KILN_ASSIGN_OR_RETURN(tracking::Run run, store.GetRun(run_id));
  return SingleRunText(run);
}

Result<Json> UpdateRun(TrackingStore& store, const Json& m, const HttpRequest&) {
  JsonFields f(m);
  KILN_ASSIGN_OR_RETURN(std::string run_id, RunId(m));
  tracking::UpdateRunRequest request;
  const Json* status = f.Get("status");
  if (status != nullptr) {
    if (status->is_number_integer()) {
      KILN_ASSIGN_OR_RETURN(request.status, tracking::ParseRunStatus(std::to_string(status->get<int64_t>())));
    } else if (status->is_string()) {
      KILN_ASSIGN_OR_RETURN(request.status, tracking::ParseRunStatus(status->get<std::string>()));
    } else {
      return InvalidParameter("status", *status, "one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED");
    }
  }
  KILN_ASSIGN_OR_RETURN(request.end_time, f.OptionalInt64("end_time"));
  KILN_ASSIGN_OR_RETURN(request.run_name, f.OptionalString("run_name"));
  KILN_ASSIGN_OR_RETURN(tracking::RunInfo info, store.UpdateRun(run_id, request));
  return Json{{"run_info", RunInfoJson(info)}};
}

Result<Json> DeleteRun(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, RunId(m));
  return Empty(store.DeleteRun(run_id));
}

Result<Json> RestoreRun(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, RunId(m));
  return Empty(store.RestoreRun(run_id));
}

Result<Json> LogMetric(TrackingStore& store, const Json& m, const HttpRequest&) {
  JsonFields f(m);
  KILN_ASSIGN_OR_RETURN(std::string run_id, RunId(m));
  tracking::Metric metric;
  KILN_ASSIGN_OR_RETURN(metric.key, Required(m, "key"));
  KILN_ASSIGN_OR_RETURN(metric.value, f.RequiredDouble("value"));
  KILN_ASSIGN_OR_RETURN(metric.timestamp, f.RequiredInt64("timestamp"));
  KILN_ASSIGN_OR_RETURN(std::optional<int64_t> step, f.OptionalInt64("step"));
  metric.step = step.value_or(0);
  return Empty(store.LogMetric(run_id, metric));
}

Result<Json> LogParam(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, RunId(m));
  tracking::Param param;
  KILN_ASSIGN_OR_RETURN(param.key, Required(m, "key"));
  KILN_ASSIGN_OR_RETURN(param.value, OptionalString(m, "value"));
  return Empty(store.LogParam(run_id, param));
}

Result<Json> SetTag(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, RunId(m));
  tracking::RunTag tag;
  KILN_ASSIGN_OR_RETURN(tag.key, Required(m, "key"));
  KILN_ASSIGN_OR_RETURN(tag.value, OptionalString(m, "value"));
  return Empty(store.SetTag(run_id, tag));
}

Result<Json> DeleteTag(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, RunId(m));
  KILN_ASSIGN_OR_RETURN(std::string key, Required(m, "key"));
  return Empty(store.DeleteTag(run_id, key));
}

Result<Json> LogBatch(TrackingStore& store, const Json& m, const HttpRequest& http) {
  if (http.body.size() > tracking::kMaxBatchRequestBytes) {
    return InvalidArgument("Batched logging API requests must be at most " +
                           std::to_string(tracking::kMaxBatchRequestBytes) + " bytes, got a request of size " +
                           std::to_string(http.body.size()) + ".");
  }
  KILN_ASSIGN_OR_RETURN(std::string run_id, RunId(m));
  KILN_ASSIGN_OR_RETURN(std::vector<tracking::Metric> metrics, ParseMetrics(m, "metrics"));
  KILN_ASSIGN_OR_RETURN(std::vector<tracking::Param> params, ParseParams(m, "params"));
  KILN_ASSIGN_OR_RETURN(std::vector<tracking::RunTag> tags, ParseTags(m, "tags"));
  return Empty(store.LogBatch(run_id, metrics, params, tags));
}

Result<Json> LogInputs(TrackingStore& store, const Json& m, const HttpRequest&) {
  KILN_ASSIGN_OR_RETURN(std::string run_id, RunId(m));
  KILN_ASSIGN_OR_RETURN(std::vector<tracking::DatasetInput> datasets, ParseDatasetInputs(m, "datasets"));
  return Empty(store.LogInputs(run_id, datasets));
}

Result<std::string> SearchRuns(TrackingStore& store, const Json& m, const HttpRequest&) {
  JsonFields f(m);
  tracking::SearchRunsRequest request;
  KILN_ASSIGN_OR_RETURN(request.experiment_ids, ParseStringList(m, "experiment_ids"));
  KILN_ASSIGN_OR_RETURN(request.filter, OptionalString(m, "filter"));
  KILN_ASSIGN_OR_RETURN(request.view, ViewTypeField(m, "run_view_type"));
  KILN_ASSIGN_OR_RETURN(std::optional<int64_t> max_results, f.OptionalInt64("max_results"));
  request.max_results = max_results.value_or(tracking::kRunSearchDefaultMaxResults);
  KILN_ASSIGN_OR_RETURN(request.order_by, ParseStringList(m, "order_by"));
  KILN_ASSIGN_OR_RETURN(request.page_token, OptionalString(m, "page_token"));
  KILN_ASSIGN_OR_RETURN(tracking::RunPage page, store.SearchRuns(request));
  std::string text;
  text.reserve(page.runs.size() * 512 + 64);
  JsonWriter writer(&text);
  writer.BeginObject();
  if (!page.runs.empty()) {
    writer.Key("runs");
    writer.BeginArray();
    for (const tracking::Run& run : page.runs) WriteRun(writer, run);
    writer.EndArray();
  }
  if (!page.next_page_token.empty()) writer.Field("next_page_token", page.next_page_token);
  writer.EndObject();
  return text;
}

// --- Metric history ---

Result<Json> GetMetricHistory(TrackingStore& store, const Json& m, const HttpRequest&) {
  tracking::MetricHistoryRequest request;
  KILN_ASSIGN_OR_RETURN(request.run_id, RunId(m));
  KILN_ASSIGN_OR_RETURN(request.metric_key, Required(m, "metric_key"));
  KILN_ASSIGN_OR_RETURN(request.max_results, JsonFields(m).OptionalInt64("max_results"));
  KILN_ASSIGN_OR_RETURN(request.page_token, OptionalString(m, "page_token"));
  KILN_ASSIGN_OR_RETURN(tracking::MetricPage page, store.GetMetricHistory(request));
  return PageJson("metrics", page.metrics, page.next_page_token, MetricJson);
}

Result<Json> GetMetricHistoryBulkInterval(TrackingStore& store, const Json& m, const HttpRequest&) {
  JsonFields f(m);
  tracking::BulkIntervalRequest request;
  KILN_ASSIGN_OR_RETURN(request.run_ids, ParseStringList(m, "run_ids"));
  if (request.run_ids.empty()) return MissingParameter("run_ids");
  KILN_ASSIGN_OR_RETURN(request.metric_key, Required(m, "metric_key"));
  KILN_ASSIGN_OR_RETURN(request.start_step, f.OptionalInt64("start_step"));
  KILN_ASSIGN_OR_RETURN(request.end_step, f.OptionalInt64("end_step"));
  KILN_ASSIGN_OR_RETURN(std::optional<int64_t> max_results, f.OptionalInt64("max_results"));
  request.max_results = max_results.value_or(tracking::kMaxResultsPerRunBulkInterval);
  KILN_ASSIGN_OR_RETURN(std::vector<tracking::MetricWithRunId> metrics,
                        store.GetMetricHistoryBulkInterval(request));
  Json out = Json::object();
  if (!metrics.empty()) {
    Json list = Json::array();
    for (const tracking::MetricWithRunId& metric : metrics) list.push_back(MetricWithRunIdJson(metric));
    out["metrics"] = std::move(list);
  }
  return out;
}

}  // namespace

void RegisterTrackingRoutes(Router& router, const ApiServices& services) {
  TrackingStore* store = services.tracking;
  if (store == nullptr) return;
  auto add = [&](const char* method, const char* path, Role role, Endpoint endpoint) {
    router.AddEach(kMlflowPrefixes, method, path, role, Wrap(store, std::move(endpoint)));
  };
  auto add_text = [&](const char* method, const char* path, Role role, TextEndpoint endpoint) {
    router.AddEach(kMlflowPrefixes, method, path, role, WrapText(store, std::move(endpoint)));
  };
  const Role reader = Role::kReader;
  const Role writer = Role::kWriter;

  add("POST", "/experiments/create", writer, CreateExperiment);
  add("GET", "/experiments/get", reader, GetExperiment);
  add("GET", "/experiments/get-by-name", reader, GetExperimentByName);
  add("POST", "/experiments/search", reader, SearchExperiments);
  add("GET", "/experiments/search", reader, SearchExperiments);
  add("POST", "/experiments/update", writer, UpdateExperiment);
  add("POST", "/experiments/delete", writer, DeleteExperiment);
  add("POST", "/experiments/restore", writer, RestoreExperiment);
  add("POST", "/experiments/set-experiment-tag", writer, SetExperimentTag);
  add("POST", "/experiments/delete-experiment-tag", writer, DeleteExperimentTag);

  add_text("POST", "/runs/create", writer, CreateRun);
  add_text("GET", "/runs/get", reader, GetRun);
  add("POST", "/runs/update", writer, UpdateRun);
  add("POST", "/runs/delete", writer, DeleteRun);
  add("POST", "/runs/restore", writer, RestoreRun);
  add("POST", "/runs/log-metric", writer, LogMetric);
  add("POST", "/runs/log-parameter", writer, LogParam);
  add("POST", "/runs/set-tag", writer, SetTag);
  add("POST", "/runs/delete-tag", writer, DeleteTag);
  add("POST", "/runs/log-batch", writer, LogBatch);
  add("POST", "/runs/log-inputs", writer, LogInputs);
  add_text("POST", "/runs/search", reader, SearchRuns);

  add("GET", "/metrics/get-history", reader, GetMetricHistory);
  add("GET", "/metrics/get-history-bulk-interval", reader, GetMetricHistoryBulkInterval);
}

}  // namespace kiln::server
