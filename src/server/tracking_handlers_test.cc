// The tracking REST API in-process: a Router with RegisterTrackingRoutes over
// a real TrackingStore on a fresh SQLite file; requests go through
// Router::Dispatch and responses are checked against MLflow's shapes.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "server/api.h"
#include "storage/database.h"
#include "tracking/migrations.h"
#include "tracking/tracking_store.h"

namespace kiln::server {
namespace {

class TrackingHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() / ("kiln-handlers-test-" + IdGenerator().RandomHex(8));
    std::filesystem::create_directories(directory_);
    storage::DatabaseOptions options;
    options.uri = "sqlite:" + (directory_ / "kiln.db").string();
    options.durable_commits = false;
    auto database = storage::Database::Open(options);
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(database).value();
    ASSERT_TRUE(database_->Migrate({&tracking::Migrations()}).ok());
    store_ = std::make_unique<tracking::TrackingStore>(*database_, clock_, ids_);
    ApiServices services;
    services.database = database_.get();
    services.tracking = store_.get();
    RegisterTrackingRoutes(router_, services);
  }

  void TearDown() override {
    store_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }

  HttpResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                    std::multimap<std::string, std::string> query = {}, Role role = Role::kAdmin) {
    HttpRequest request;
    request.method = method;
    request.path = "/api/2.0/mlflow" + path;
    request.body = body;
    request.query = std::move(query);
    request.role = role;
    request.user = "alice";
    return router_.Dispatch(request);
  }

  // The JSON body of a response with the expected status.
  Json Expect(const HttpResponse& response, int status) {
    EXPECT_EQ(response.status, status) << response.body;
    Json parsed = Json::parse(response.body, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << response.body;
    return parsed;
  }

  void ExpectError(const HttpResponse& response, int status, const std::string& code, const std::string& message) {
    Json body = Expect(response, status);
    EXPECT_EQ(body.value("error_code", ""), code) << response.body;
    EXPECT_EQ(body.value("message", ""), message) << response.body;
  }

  std::string CreateRun(const std::string& body = "{}") {
    Json created = Expect(Call("POST", "/runs/create", body), 200);
    return created["run"]["info"]["run_id"].get<std::string>();
  }

  FakeClock clock_{1'700'000'000'000};
  IdGenerator ids_{1};
  std::filesystem::path directory_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<tracking::TrackingStore> store_;
  Router router_;
};

TEST_F(TrackingHandlersTest, ExperimentLifecycle) {
  Json created = Expect(Call("POST", "/experiments/create",
                             R"({"name": "churn", "tags": [{"key": "team", "value": "risk"}]})"),
                        200);
  EXPECT_EQ(created, Json({{"experiment_id", "1"}}));

  Json got = Expect(Call("GET", "/experiments/get", "", {{"experiment_id", "1"}}), 200);
  EXPECT_EQ(got, Json::parse(R"({"experiment": {"experiment_id": "1", "name": "churn",
      "artifact_location": "mlflow-artifacts:/1", "lifecycle_stage": "active",
      "creation_time": 1700000000000, "last_update_time": 1700000000000,
      "tags": [{"key": "team", "value": "risk"}]}})"));

  HttpRequest ajax;
  ajax.method = "GET";
  ajax.path = "/ajax-api/2.0/mlflow/experiments/get-by-name";
  ajax.query = {{"experiment_name", "churn"}};
  ajax.role = Role::kReader;
  EXPECT_EQ(Expect(router_.Dispatch(ajax), 200)["experiment"]["experiment_id"], "1");

  EXPECT_EQ(Expect(Call("POST", "/experiments/update", R"({"experiment_id": "1", "new_name": "churn2"})"), 200),
            Json::object());
  EXPECT_EQ(Expect(Call("POST", "/experiments/set-experiment-tag",
                        R"({"experiment_id": "1", "key": "k", "value": "v"})"),
                   200),
            Json::object());
  EXPECT_EQ(Expect(Call("POST", "/experiments/delete-experiment-tag", R"({"experiment_id": "1", "key": "k"})"),
                   200),
            Json::object());
  EXPECT_EQ(Expect(Call("POST", "/experiments/delete", R"({"experiment_id": "1"})"), 200), Json::object());

  Json active = Expect(Call("GET", "/experiments/search", "", {{"max_results", "10"}}), 200);
  ASSERT_EQ(active["experiments"].size(), 1u);
  EXPECT_EQ(active["experiments"][0]["name"], "Default");
  Json all = Expect(Call("POST", "/experiments/search", R"({"view_type": "ALL", "max_results": 1})"), 200);
  ASSERT_EQ(all["experiments"].size(), 1u);
  EXPECT_EQ(all["experiments"][0]["name"], "churn2");
  EXPECT_TRUE(all.contains("next_page_token"));

  EXPECT_EQ(Expect(Call("POST", "/experiments/restore", R"({"experiment_id": "1"})"), 200), Json::object());
}

TEST_F(TrackingHandlersTest, ExperimentErrors) {
  HttpResponse malformed = Call("POST", "/experiments/create", R"({"name": )");
  ExpectError(malformed, 400, "INVALID_PARAMETER_VALUE", ParseJsonObject(R"({"name": )").status().message());
  EXPECT_NE(malformed.body.find("malformed JSON at byte 10"), std::string::npos) << malformed.body;
  ExpectError(Call("POST", "/experiments/create", "{}"), 400, "INVALID_PARAMETER_VALUE",
              "Missing value for required parameter 'name'. See the API docs for more information about request "
              "parameters.");
  ExpectError(Call("POST", "/experiments/create", R"({"name": 12})"), 400, "INVALID_PARAMETER_VALUE",
              "Invalid value 12 for parameter 'name' supplied: expected a string");
  ExpectError(Call("POST", "/experiments/create", R"({"name": "x", "tags": [{"value": "v"}]})"), 400,
              "INVALID_PARAMETER_VALUE",
              "Missing value for required parameter 'tags[0].key'. See the API docs for more information about "
              "request parameters.");
  Expect(Call("POST", "/experiments/create", R"({"name": "churn"})"), 200);
  ExpectError(Call("POST", "/experiments/create", R"({"name": "churn"})"), 400, "RESOURCE_ALREADY_EXISTS",
              "Experiment(name=churn) already exists.");
  ExpectError(Call("GET", "/experiments/get", "", {{"experiment_id", "99"}}), 404, "RESOURCE_DOES_NOT_EXIST",
              "No Experiment with id=99 exists");
  ExpectError(Call("GET", "/experiments/get-by-name", "", {{"experiment_name", "nope"}}), 404,
              "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name 'nope'");
  ExpectError(Call("GET", "/experiments/search", "", {{"view_type", "SOME"}}), 400, "INVALID_PARAMETER_VALUE",
              tracking::ParseViewType("SOME").status().message());
}

TEST_F(TrackingHandlersTest, RunShapesAndNonFiniteMetrics) {
  Json created = Expect(Call("POST", "/runs/create",
                             R"({"experiment_id": "0", "run_name": "baseline", "start_time": 1000,
                                 "tags": [{"key": "team", "value": "risk"}]})"),
                        200);
  Json info = created["run"]["info"];
  std::string run_id = info["run_id"];
  EXPECT_EQ(info, Json::parse(R"({"run_id": ")" + run_id + R"(", "run_uuid": ")" + run_id +
                              R"(", "run_name": "baseline", "experiment_id": "0", "user_id": "alice",
                              "status": "RUNNING", "start_time": 1000, "lifecycle_stage": "active",
                              "artifact_uri": "mlflow-artifacts:/0/)" + run_id + R"(/artifacts"})"));
  EXPECT_EQ(created["run"]["data"]["tags"].size(), 3u);  // mlflow.runName, mlflow.user, team
  EXPECT_EQ(created["run"]["inputs"], Json::object());

  std::string prefix = R"({"run_id": ")" + run_id + R"(", )";
  Expect(Call("POST", "/runs/log-metric", prefix + R"("key": "loss", "value": "NaN", "timestamp": 5})"), 200);
  Expect(Call("POST", "/runs/log-metric",
              prefix + R"("key": "auc", "value": "Infinity", "timestamp": "6", "step": 2})"),
         200);
  Expect(Call("POST", "/runs/log-metric", prefix + R"("key": "auc", "value": "-Infinity", "timestamp": 7})"), 200);
  Expect(Call("POST", "/runs/log-parameter", prefix + R"("key": "depth", "value": "6"})"), 200);
  Expect(Call("POST", "/runs/set-tag", prefix + R"("key": "stage", "value": "dev"})"), 200);
  Expect(Call("POST", "/runs/delete-tag", prefix + R"("key": "stage"})"), 200);

  Json run = Expect(Call("GET", "/runs/get", "", {{"run_id", run_id}}), 200)["run"];
  EXPECT_EQ(run["data"]["metrics"], Json::parse(R"([
      {"key": "auc", "value": "Infinity", "timestamp": 6, "step": 2},
      {"key": "loss", "value": "NaN", "timestamp": 5, "step": 0}])"));
  EXPECT_EQ(run["data"]["params"], Json::parse(R"([{"key": "depth", "value": "6"}])"));

  Json history = Expect(Call("GET", "/metrics/get-history", "", {{"run_uuid", run_id}, {"metric_key", "auc"}}), 200);
  EXPECT_EQ(history, Json::parse(R"({"metrics": [
      {"key": "auc", "value": "Infinity", "timestamp": 6, "step": 2},
      {"key": "auc", "value": "-Infinity", "timestamp": 7, "step": 0}]})"));
  Json paged = Expect(
      Call("GET", "/metrics/get-history", "", {{"run_id", run_id}, {"metric_key", "auc"}, {"max_results", "1"}}),
      200);
  EXPECT_EQ(paged["metrics"].size(), 1u);
  EXPECT_TRUE(paged.contains("next_page_token"));

  Json updated = Expect(Call("POST", "/runs/update", prefix + R"("status": "FINISHED", "end_time": 2000})"), 200);
  EXPECT_EQ(updated["run_info"]["status"], "FINISHED");
  EXPECT_EQ(updated["run_info"]["end_time"], 2000);

  EXPECT_EQ(Expect(Call("POST", "/runs/delete", prefix + "\"x\": 1}"), 200), Json::object());
  ExpectError(Call("POST", "/runs/log-parameter", prefix + R"("key": "lr", "value": "1"})"), 400, "INVALID_STATE",
              "The run " + run_id + " must be in the 'active' state. Current state is deleted.");
  EXPECT_EQ(Expect(Call("POST", "/runs/restore", prefix + "\"x\": 1}"), 200), Json::object());
}

TEST_F(TrackingHandlersTest, RequestsInPythonJsonAndDoubleEncodedFormsAreRead) {
  // Python's json.dumps writes bare NaN/Infinity; older MLflow clients encode
  // the whole body a second time as a JSON string. MLflow's server reads both.
  std::string run_id = CreateRun();
  Expect(Call("POST", "/runs/log-batch",
              R"({"run_id": ")" + run_id + R"(", "metrics": [
                  {"key": "loss", "value": NaN, "timestamp": 1, "step": 0},
                  {"key": "gain", "value": Infinity, "timestamp": 1},
                  {"key": "drop", "value": -Infinity, "timestamp": 1}]})"),
         200);
  Json double_encoded = Json(Json{{"run_id", run_id}, {"key", "depth"}, {"value", "6"}}.dump());
  Expect(Call("POST", "/runs/log-parameter", double_encoded.dump()), 200);
  Json run = Expect(Call("GET", "/runs/get", "", {{"run_id", run_id}}), 200)["run"];
  EXPECT_EQ(run["data"]["metrics"], Json::parse(R"([
      {"key": "drop", "value": "-Infinity", "timestamp": 1, "step": 0},
      {"key": "gain", "value": "Infinity", "timestamp": 1, "step": 0},
      {"key": "loss", "value": "NaN", "timestamp": 1, "step": 0}])"));
  EXPECT_EQ(run["data"]["params"], Json::parse(R"([{"key": "depth", "value": "6"}])"));
  ExpectError(Call("POST", "/runs/log-metric",
                   R"({"run_id": ")" + run_id + R"(", "key": "m", "value": 1, "timestamp": 18446744073709551615})"),
              400, "INVALID_PARAMETER_VALUE",
              "Invalid value 18446744073709551615 for parameter 'timestamp' supplied: expected a 64-bit integer");
}

TEST_F(TrackingHandlersTest, RunErrors) {
  ExpectError(Call("GET", "/runs/get", "", {{"run_id", "nope"}}), 404, "RESOURCE_DOES_NOT_EXIST",
              "Run with id=nope not found");
  ExpectError(Call("GET", "/runs/get"), 400, "INVALID_PARAMETER_VALUE",
              "Missing value for required parameter 'run_id'. See the API docs for more information about request "
              "parameters.");
  std::string run_id = CreateRun();
  std::string prefix = R"({"run_id": ")" + run_id + R"(", )";
  ExpectError(Call("POST", "/runs/log-metric", prefix + R"("key": "loss", "value": "high", "timestamp": 1})"), 400,
              "INVALID_PARAMETER_VALUE", "Invalid value \"high\" for parameter 'value' supplied: expected a number");
  ExpectError(Call("POST", "/runs/log-metric", prefix + R"("key": "loss", "value": 1})"), 400,
              "INVALID_PARAMETER_VALUE",
              "Missing value for required parameter 'timestamp'. See the API docs for more information about "
              "request parameters.");
  ExpectError(Call("POST", "/runs/update", prefix + R"("status": "DONE"})"), 400, "INVALID_PARAMETER_VALUE",
              "Invalid value \"DONE\" for parameter 'status' supplied: expected one of RUNNING, SCHEDULED, "
              "FINISHED, FAILED, KILLED");
  Expect(Call("POST", "/runs/log-parameter", prefix + R"("key": "lr", "value": "0.1"})"), 200);
  ExpectError(Call("POST", "/runs/log-parameter", prefix + R"("key": "lr", "value": "0.2"})"), 400,
              "INVALID_PARAMETER_VALUE",
              "Changing param values is not allowed. Param with key='lr' was already logged with value='0.1' for "
              "run ID='" + run_id + "'. Attempted logging new value '0.2'.");
  ExpectError(Call("POST", "/runs/delete-tag", prefix + R"("key": "none"})"), 404, "RESOURCE_DOES_NOT_EXIST",
              "No tag with name: none in run with id " + run_id);

  HttpResponse wrong_method = Call("GET", "/runs/create");
  EXPECT_EQ(wrong_method.status, 405);
  HttpResponse reader = Call("POST", "/runs/create", "{}", {}, Role::kReader);
  EXPECT_EQ(reader.status, 403);
  EXPECT_EQ(Call("GET", "/runs/get", "", {{"run_id", run_id}}, Role::kReader).status, 200);
}

TEST_F(TrackingHandlersTest, LogBatchAndInputs) {
  std::string run_id = CreateRun();
  std::string prefix = R"({"run_id": ")" + run_id + R"(", )";
  ExpectError(Call("POST", "/runs/log-batch",
                   prefix + R"("metrics": [{"key": "a", "value": 1, "timestamp": 1}, {"key": "b", "value": 2}]})"),
              400, "INVALID_PARAMETER_VALUE",
              "Missing value for required parameter 'metrics[1].timestamp'. See the API docs for more information "
              "about request parameters.");
  ExpectError(Call("POST", "/runs/log-batch", prefix + R"("params": {"key": "a"}})"), 400,
              "INVALID_PARAMETER_VALUE", "Invalid value {\"key\":\"a\"} for parameter 'params' supplied: expected "
                                         "an array");
  ExpectError(Call("POST", "/runs/log-batch",
                   prefix + R"("metrics": [{"key": "a", "value": 1, "timestamp": 1}],
                               "params": [{"key": "p", "value": "1"}, {"key": "p", "value": "2"}]})"),
              400, "INVALID_PARAMETER_VALUE",
              "Duplicate parameter keys have been submitted: ['p']. Please ensure the request contains only one "
              "param value per param key.");
  EXPECT_EQ(Expect(Call("GET", "/metrics/get-history", "", {{"run_id", run_id}, {"metric_key", "a"}}), 200),
            Json::object());  // the rejected batch wrote nothing

  EXPECT_EQ(Expect(Call("POST", "/runs/log-batch",
                        prefix + R"("metrics": [{"key": "a", "value": 1.5, "timestamp": 1, "step": 3}],
                                    "params": [{"key": "p", "value": "1"}], "tags": [{"key": "t", "value": "v"}]})"),
                   200),
            Json::object());
  EXPECT_EQ(Expect(Call("POST", "/runs/log-inputs",
                        prefix + R"("datasets": [{"tags": [{"key": "mlflow.data.context", "value": "training"}],
                                     "dataset": {"name": "customers", "digest": "abc", "source_type": "local",
                                                 "source": "{}", "schema": "{}"}}]})"),
                   200),
            Json::object());
  ExpectError(Call("POST", "/runs/log-inputs", prefix + R"("datasets": [{"dataset": {"name": "x"}}]})"), 400,
              "INVALID_PARAMETER_VALUE",
              "Missing value for required parameter 'datasets[0].dataset.digest'. See the API docs for more "
              "information about request parameters.");

  Json run = Expect(Call("GET", "/runs/get", "", {{"run_id", run_id}}), 200)["run"];
  EXPECT_EQ(run["data"]["metrics"], Json::parse(R"([{"key": "a", "value": 1.5, "timestamp": 1, "step": 3}])"));
  EXPECT_EQ(run["inputs"], Json::parse(R"({"dataset_inputs": [{
      "tags": [{"key": "mlflow.data.context", "value": "training"}],
      "dataset": {"name": "customers", "digest": "abc", "source_type": "local", "source": "{}",
                  "schema": "{}"}}]})"));
}

TEST_F(TrackingHandlersTest, SearchRunsAndBulkInterval) {
  EXPECT_EQ(Expect(Call("POST", "/runs/search", R"({"experiment_ids": ["0"]})"), 200), Json::object());
  std::string first = CreateRun();
  clock_.Advance(1);
  std::string second = CreateRun();
  for (const std::string& run_id : {first, second}) {
    std::string metrics;
    for (int step = 0; step < 5; ++step) {
      if (step > 0) metrics += ", ";
      metrics += R"({"key": "loss", "value": 0.5, "timestamp": 1, "step": )" + std::to_string(step) + "}";
    }
    Expect(Call("POST", "/runs/log-batch", R"({"run_id": ")" + run_id + R"(", "metrics": [)" + metrics + "]}"), 200);
  }

  Json page = Expect(Call("POST", "/runs/search", R"({"experiment_ids": ["0"], "max_results": 1})"), 200);
  ASSERT_EQ(page["runs"].size(), 1u);
  EXPECT_EQ(page["runs"][0]["info"]["run_id"], second);
  ASSERT_TRUE(page.contains("next_page_token"));
  Json rest = Expect(Call("POST", "/runs/search",
                          Json({{"experiment_ids", {"0"}}, {"page_token", page["next_page_token"]}}).dump()),
                     200);
  ASSERT_EQ(rest["runs"].size(), 1u);
  EXPECT_FALSE(rest.contains("next_page_token"));
  ExpectError(Call("POST", "/runs/search", R"({"experiment_ids": "0", "filter": "params.a =="})"), 400,
              "INVALID_PARAMETER_VALUE",
              store_->SearchRuns({{"0"}, "params.a =="}).status().message());

  // One run_id in the query string arrives as a string, several as a list.
  Json bulk = Expect(Call("GET", "/metrics/get-history-bulk-interval", "",
                          {{"run_ids", first}, {"metric_key", "loss"}, {"max_results", "2"}}),
                     200);
  ASSERT_EQ(bulk["metrics"].size(), 2u);
  EXPECT_EQ(bulk["metrics"][0], Json::parse(R"({"key": "loss", "value": 0.5, "timestamp": 1, "step": 0,
                                                "run_id": ")" + first + R"("})"));
  EXPECT_EQ(bulk["metrics"][1]["step"], 4);
  Json both = Expect(Call("GET", "/metrics/get-history-bulk-interval", "",
                          {{"run_ids", first}, {"run_ids", second}, {"metric_key", "loss"}}),
                     200);
  EXPECT_EQ(both["metrics"].size(), 10u);
  ExpectError(Call("GET", "/metrics/get-history-bulk-interval", "", {{"metric_key", "loss"}}), 400,
              "INVALID_PARAMETER_VALUE",
              "Missing value for required parameter 'run_ids'. See the API docs for more information about "
              "request parameters.");
  ExpectError(Call("GET", "/metrics/get-history-bulk-interval", "",
                   {{"run_ids", first}, {"metric_key", "loss"}, {"start_step", "x"}, {"end_step", "2"}}),
              400, "INVALID_PARAMETER_VALUE", "Invalid value \"x\" for parameter 'start_step' supplied: expected an integer");
}

}  // namespace
}  // namespace kiln::server
