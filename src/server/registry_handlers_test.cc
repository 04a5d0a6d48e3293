// The registry HTTP API in process: requests go through Router::Dispatch (so
// role checks apply) to a ModelRegistry on a SQLite store in a temp dir.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "server/api.h"
#include "server/registry_json.h"
#include "tracking/migrations.h"
#include "tracking/model_registry.h"
#include "tracking/tracking_store.h"

namespace kiln::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Reply {
  int status = 0;
  Json body;
};

class RegistryHandlersTest : public testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::path(testing::TempDir()) /
           ("kiln_registry_handlers_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
    storage::DatabaseOptions options;
    options.uri = "sqlite://" + std::filesystem::absolute(dir_ / "kiln.db").string();
    options.durable_commits = false;
    auto database = storage::Database::Open(options);
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(*database);
    ASSERT_TRUE(database_->Migrate({&tracking::Migrations()}).ok());
    tracking_ = std::make_unique<tracking::TrackingStore>(*database_, clock_, ids_);
    registry_ = std::make_unique<tracking::ModelRegistry>(*database_, *tracking_, clock_);
    ApiServices services;
    services.database = database_.get();
    services.tracking = tracking_.get();
    services.registry = registry_.get();
    RegisterRegistryRoutes(router_, services);
  }

  void TearDown() override {
    registry_.reset();
    tracking_.reset();
    database_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Sends `body` as the JSON body (POST/PATCH/DELETE) or query (GET).
  Reply Call(const std::string& method, const std::string& path, const Json& body = Json::object(),
             Role role = Role::kAdmin, const std::string& prefix = "/api/2.0/mlflow") {
    HttpRequest request;
    request.method = method;
    request.path = prefix + path;
    request.role = role;
    request.user = "ana";
    if (method == "GET") {
      for (auto& [key, value] : body.items()) {
        if (value.is_array()) {
          for (const Json& item : value) request.query.emplace(key, item.get<std::string>());
        } else {
          request.query.emplace(key, value.is_string() ? value.get<std::string>() : value.dump());
        }
      }
    } else {
      request.body = body.dump();
    }
    return Send(request);
  }

  Reply Send(HttpRequest& request) {
    HttpResponse response = router_.Dispatch(request);
    Reply reply{response.status, Json()};
    reply.body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(reply.body.is_discarded()) << response.body;
    return reply;
  }

  void CreateModelWithVersion(const std::string& name) {
    ASSERT_EQ(Call("POST", "/registered-models/create", {{"name", name}}).status, 200);
    ASSERT_EQ(Call("POST", "/model-versions/create", {{"name", name}, {"source", "mlflow-artifacts:/0/r/model"}})
                  .status,
              200);
  }

  FakeClock clock_{1'700'000'000'000};
  IdGenerator ids_{7};
  std::filesystem::path dir_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<tracking::ModelRegistry> registry_;
  Router router_;
};

TEST_F(RegistryHandlersTest, CreateRegisteredModelReturnsMlflowShape) {
  Reply reply = Call("POST", "/registered-models/create",
                     {{"name", "churn"}, {"description", "d"}, {"tags", {{{"key", "team"}, {"value", "risk"}}}}},
                     Role::kWriter);
  ASSERT_EQ(reply.status, 200) << reply.body;
  Json expected = {{"registered_model",
                    {{"name", "churn"},
                     {"creation_timestamp", 1'700'000'000'000},
                     {"last_updated_timestamp", 1'700'000'000'000},
                     {"description", "d"},
                     {"latest_versions", Json::array()},
                     {"tags", {{{"key", "team"}, {"value", "risk"}}}},
                     {"aliases", Json::array()}}}};
  EXPECT_EQ(reply.body, expected);

  Reply fetched = Call("GET", "/registered-models/get", {{"name", "churn"}}, Role::kReader);
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.body, expected);
}

TEST_F(RegistryHandlersTest, ModelVersionShapeHasStringVersionsAndAliases) {
  CreateModelWithVersion("churn");
  ASSERT_EQ(Call("POST", "/registered-models/alias", {{"name", "churn"}, {"alias", "champion"}, {"version", "1"}})
                .status,
            200);
  Reply reply = Call("GET", "/model-versions/get", {{"name", "churn"}, {"version", "1"}}, Role::kReader);
  ASSERT_EQ(reply.status, 200) << reply.body;
  Json expected = {{"model_version",
                    {{"name", "churn"},
                     {"version", "1"},
                     {"creation_timestamp", 1'700'000'000'000},
                     {"last_updated_timestamp", 1'700'000'000'000},
                     {"user_id", "ana"},
                     {"current_stage", "None"},
                     {"description", ""},
                     {"source", "mlflow-artifacts:/0/r/model"},
                     {"status", "READY"},
                     {"tags", Json::array()},
                     {"aliases", Json::array({"champion"})}}}};
  EXPECT_EQ(reply.body, expected);

  Reply model = Call("GET", "/registered-models/get", {{"name", "churn"}}, Role::kReader);
  EXPECT_EQ(model.body["registered_model"]["aliases"], Json::parse(R"([{"alias":"champion","version":"1"}])"));
  EXPECT_EQ(model.body["registered_model"]["latest_versions"][0]["version"], "1");

  Reply by_alias = Call("GET", "/registered-models/alias", {{"name", "churn"}, {"alias", "champion"}}, Role::kReader);
  ASSERT_EQ(by_alias.status, 200);
  EXPECT_EQ(by_alias.body, expected);
}

TEST_F(RegistryHandlersTest, VersionMayBeAJsonIntegerButNotText) {
  CreateModelWithVersion("churn");
  Reply as_number = Call("PATCH", "/model-versions/update", {{"name", "churn"}, {"version", 1}, {"description", "x"}});
  ASSERT_EQ(as_number.status, 200) << as_number.body;
  EXPECT_EQ(as_number.body["model_version"]["description"], "x");
  Reply as_text = Call("GET", "/model-versions/get", {{"name", "churn"}, {"version", "one"}});
  EXPECT_EQ(as_text.status, 400);
  EXPECT_EQ(as_text.body["error_code"], "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(as_text.body["message"], "Parameter 'version' must be an integer, got 'one'.");
}

TEST_F(RegistryHandlersTest, ErrorsUseMlflowCodesAndStatuses) {
  CreateModelWithVersion("churn");
  Reply duplicate = Call("POST", "/registered-models/create", {{"name", "churn"}});
  EXPECT_EQ(duplicate.status, 400);
  EXPECT_EQ(duplicate.body, Json({{"error_code", "RESOURCE_ALREADY_EXISTS"},
                                  {"message", "Registered Model (name=churn) already exists."}}));
  Reply missing = Call("GET", "/registered-models/get", {{"name", "nope"}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, Json({{"error_code", "RESOURCE_DOES_NOT_EXIST"},
                                {"message", "Registered Model with name=nope not found"}}));
  Reply no_version = Call("GET", "/model-versions/get", {{"name", "churn"}, {"version", "5"}});
  EXPECT_EQ(no_version.status, 404);
  EXPECT_EQ(no_version.body["message"], "Model Version (name=churn, version=5) not found");
  Reply no_alias = Call("GET", "/registered-models/alias", {{"name", "churn"}, {"alias", "champion"}});
  EXPECT_EQ(no_alias.status, 404);
  EXPECT_EQ(no_alias.body["message"], "Registered model alias champion not found.");
  Reply bad_alias = Call("POST", "/registered-models/alias", {{"name", "churn"}, {"alias", "v2"}, {"version", "1"}});
  EXPECT_EQ(bad_alias.status, 400);
  EXPECT_EQ(bad_alias.body, Json({{"error_code", "INVALID_PARAMETER_VALUE"},
                                  {"message", "Version alias name 'v2' is reserved."}}));
  Reply no_name = Call("POST", "/registered-models/create", Json::object());
  EXPECT_EQ(no_name.status, 400);
  EXPECT_THAT(no_name.body["message"].get<std::string>(),
              StartsWith("Missing value for required parameter 'name'."));
  Reply wrong_type = Call("POST", "/registered-models/create", {{"name", 12}});
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_THAT(wrong_type.body["message"].get<std::string>(), HasSubstr("parameter 'name'"));
  Reply bad_stage = Call("POST", "/model-versions/transition-stage",
                         {{"name", "churn"}, {"version", "1"}, {"stage", "Live"}, {"archive_existing_versions", false}});
  EXPECT_EQ(bad_stage.status, 400);
  EXPECT_EQ(bad_stage.body["message"],
            "Invalid Model Version stage: Live. Value must be one of None, Staging, Production, Archived.");
}

TEST_F(RegistryHandlersTest, EmptyRequiredFieldsAreMissing) {
  // MLflow's handlers treat "" as an absent required field.
  CreateModelWithVersion("churn");
  struct Case {
    const char* method;
    const char* path;
    Json body;
    const char* field;
  };
  const Case cases[] = {
      {"GET", "/model-versions/get", {{"name", "churn"}, {"version", ""}}, "version"},
      {"POST", "/registered-models/alias", {{"name", "churn"}, {"alias", ""}, {"version", "1"}}, "alias"},
      {"POST", "/model-versions/transition-stage", {{"name", "churn"}, {"version", "1"}, {"stage", ""}}, "stage"},
      {"POST", "/registered-models/rename", {{"name", "churn"}, {"new_name", ""}}, "new_name"},
      {"POST", "/model-versions/create", {{"name", "churn"}, {"source", ""}}, "source"},
      {"POST", "/registered-models/set-tag", {{"name", "churn"}, {"key", ""}, {"value", "v"}}, "key"},
  };
  for (const Case& c : cases) {
    Reply reply = Call(c.method, c.path, c.body);
    EXPECT_EQ(reply.status, 400) << c.path;
    EXPECT_EQ(reply.body["error_code"], "INVALID_PARAMETER_VALUE") << c.path;
    EXPECT_EQ(reply.body["message"], "Missing value for required parameter '" + std::string(c.field) +
                                         "'. See the API docs for more information about request parameters.")
        << c.path;
  }
}

TEST_F(RegistryHandlersTest, MalformedJsonIsABadRequest) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/api/2.0/mlflow/registered-models/create";
  request.role = Role::kWriter;
  request.body = "{\"name\": \"churn\",";
  Reply reply = Send(request);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body["error_code"], "INVALID_PARAMETER_VALUE");
  EXPECT_THAT(reply.body["message"].get<std::string>(), StartsWith("malformed JSON at byte"));
  EXPECT_EQ(Call("GET", "/registered-models/get", {{"name", "churn"}}).status, 404);
}

TEST_F(RegistryHandlersTest, DeletingModelsAndVersionsNeedsAdmin) {
  CreateModelWithVersion("churn");
  Reply writer = Call("DELETE", "/registered-models/delete", {{"name", "churn"}}, Role::kWriter);
  EXPECT_EQ(writer.status, 403);
  EXPECT_EQ(writer.body, Json({{"error_code", "PERMISSION_DENIED"},
                               {"message", "DELETE /api/2.0/mlflow/registered-models/delete needs the admin role; "
                                           "this token has writer"}}));
  Reply version = Call("DELETE", "/model-versions/delete", {{"name", "churn"}, {"version", "1"}}, Role::kWriter);
  EXPECT_EQ(version.status, 403);
  EXPECT_EQ(version.body["error_code"], "PERMISSION_DENIED");
  Reply reader = Call("POST", "/registered-models/create", {{"name", "x"}}, Role::kReader);
  EXPECT_EQ(reader.status, 403);
  Reply anonymous = Call("GET", "/registered-models/get", {{"name", "churn"}}, Role::kNone);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.body["error_code"], "UNAUTHENTICATED");
  // Writers may still delete tags and aliases.
  ASSERT_EQ(Call("POST", "/registered-models/set-tag", {{"name", "churn"}, {"key", "k"}, {"value", "v"}},
                 Role::kWriter).status, 200);
  EXPECT_EQ(Call("DELETE", "/registered-models/delete-tag", {{"name", "churn"}, {"key", "k"}}, Role::kWriter).status,
            200);

  Reply deleted_version = Call("DELETE", "/model-versions/delete", {{"name", "churn"}, {"version", "1"}});
  EXPECT_EQ(deleted_version.status, 200);
  EXPECT_EQ(deleted_version.body, Json::object());
  Reply deleted = Call("DELETE", "/registered-models/delete", {{"name", "churn"}}, Role::kAdmin);
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.body, Json::object());
  EXPECT_EQ(Call("GET", "/registered-models/get", {{"name", "churn"}}).status, 404);
}

TEST_F(RegistryHandlersTest, EveryEndpointAnswersUnderBothPrefixes) {
  CreateModelWithVersion("churn");
  const std::string ajax = "/ajax-api/2.0/mlflow";
  struct Case {
    std::string method, path;
    Json body;
  };
  std::vector<Case> cases = {
      {"GET", "/registered-models/get", {{"name", "churn"}}},
      {"GET", "/registered-models/search", Json::object()},
      {"POST", "/registered-models/get-latest-versions", {{"name", "churn"}}},
      {"GET", "/registered-models/get-latest-versions", {{"name", "churn"}}},
      {"PATCH", "/registered-models/update", {{"name", "churn"}, {"description", "d"}}},
      {"POST", "/registered-models/set-tag", {{"name", "churn"}, {"key", "k"}, {"value", "v"}}},
      {"DELETE", "/registered-models/delete-tag", {{"name", "churn"}, {"key", "k"}}},
      {"POST", "/model-versions/create", {{"name", "churn"}, {"source", "mlflow-artifacts:/0/r/m2"}}},
      {"GET", "/model-versions/get", {{"name", "churn"}, {"version", "2"}}},
      {"PATCH", "/model-versions/update", {{"name", "churn"}, {"version", "2"}}},
      {"GET", "/model-versions/search", {{"filter", "name='churn'"}}},
      {"GET", "/model-versions/get-download-uri", {{"name", "churn"}, {"version", "2"}}},
      {"POST", "/model-versions/set-tag", {{"name", "churn"}, {"version", "2"}, {"key", "k"}, {"value", "v"}}},
      {"DELETE", "/model-versions/delete-tag", {{"name", "churn"}, {"version", "2"}, {"key", "k"}}},
      {"POST", "/model-versions/transition-stage", {{"name", "churn"}, {"version", "2"}, {"stage", "Staging"}}},
      {"POST", "/registered-models/alias", {{"name", "churn"}, {"alias", "champion"}, {"version", "2"}}},
      {"GET", "/registered-models/alias", {{"name", "churn"}, {"alias", "champion"}}},
      {"DELETE", "/registered-models/alias", {{"name", "churn"}, {"alias", "champion"}}},
      {"DELETE", "/model-versions/delete", {{"name", "churn"}, {"version", "2"}}},
      {"POST", "/registered-models/rename", {{"name", "churn"}, {"new_name", "attrition"}}},
      {"DELETE", "/registered-models/delete", {{"name", "attrition"}}},
  };
  for (const Case& c : cases) {
    Reply reply = Call(c.method, c.path, c.body, Role::kAdmin, ajax);
    EXPECT_EQ(reply.status, 200) << c.method << " " << c.path << ": " << reply.body;
  }
}

TEST_F(RegistryHandlersTest, ListsAndDownloadUri) {
  CreateModelWithVersion("churn");
  CreateModelWithVersion("fraud");
  Reply search = Call("GET", "/registered-models/search", {{"max_results", "1"}}, Role::kReader);
  ASSERT_EQ(search.status, 200) << search.body;
  ASSERT_EQ(search.body["registered_models"].size(), 1u);
  EXPECT_EQ(search.body["registered_models"][0]["name"], "churn");
  ASSERT_TRUE(search.body.contains("next_page_token"));
  Reply next = Call("GET", "/registered-models/search",
                    {{"max_results", "1"}, {"page_token", search.body["next_page_token"]}}, Role::kReader);
  ASSERT_EQ(next.body["registered_models"].size(), 1u);
  EXPECT_EQ(next.body["registered_models"][0]["name"], "fraud");
  EXPECT_FALSE(next.body.contains("next_page_token"));

  Reply versions = Call("GET", "/model-versions/search", {{"filter", "name = 'fraud'"}}, Role::kReader);
  ASSERT_EQ(versions.status, 200) << versions.body;
  ASSERT_EQ(versions.body["model_versions"].size(), 1u);
  EXPECT_EQ(versions.body["model_versions"][0]["name"], "fraud");

  ASSERT_EQ(Call("POST", "/model-versions/transition-stage",
                 {{"name", "churn"}, {"version", "1"}, {"stage", "Production"}, {"archive_existing_versions", true}})
                .status,
            200);
  Reply latest = Call("GET", "/registered-models/get-latest-versions",
                      {{"name", "churn"}, {"stages", Json::array({"Production"})}}, Role::kReader);
  ASSERT_EQ(latest.status, 200) << latest.body;
  ASSERT_EQ(latest.body["model_versions"].size(), 1u);
  EXPECT_EQ(latest.body["model_versions"][0]["current_stage"], "Production");
  Reply none = Call("POST", "/registered-models/get-latest-versions", {{"name", "churn"}, {"stages", Json::array({"Staging"})}},
                    Role::kReader);
  EXPECT_EQ(none.body, Json({{"model_versions", Json::array()}}));

  Reply uri = Call("GET", "/model-versions/get-download-uri", {{"name", "churn"}, {"version", "1"}}, Role::kReader);
  EXPECT_EQ(uri.body, Json({{"artifact_uri", "mlflow-artifacts:/0/r/model"}}));
}

TEST_F(RegistryHandlersTest, WrongMethodIs405) {
  Reply reply = Call("GET", "/registered-models/create", {{"name", "x"}});
  EXPECT_EQ(reply.status, 405);
}

}  // namespace
}  // namespace kiln::server
