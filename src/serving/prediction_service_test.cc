// PredictionService over real stores: a feature repository applied and
// materialized into the embedded online store, models trained in process
// and served by alias from the registry, a PredictionLog over an in-memory
// store, and a MetricsRegistry. Predictions are checked against
// ServedModel::Predict on the features FeatureStore::GetOnlineFeatures
// returns for the same entity.
#include "serving/prediction_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "data/value.h"
#include "serving/serving_service_testing.h"

namespace kiln::serving {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing_support::Dataset;
using testing_support::InMemoryPredictionStore;
using testing_support::MakeDataset;
using testing_support::MakeModelInfo;
using testing_support::Must;
using testing_support::ServingEnvironment;
using testing_support::T;
using testing_support::TrainModelBytes;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

constexpr std::string_view kUsers =
    "user,spend,visits,ts\n"
    "alice,120.5,7,2024-01-01T00:00:00Z\n"
    "bob,,3,2024-01-01T01:00:00Z\n"
    "carol,33.25,12,2024-01-01T02:00:00Z\n";

constexpr std::string_view kRepository = R"yaml(
project: shop
sources:
  - name: users
    kind: csv
    path: users.csv
    timestamp_field: ts
    columns: {user: string, spend: float64, visits: int64}
entities:
  - name: user
    join_keys: [user]
feature_views:
  - name: user_stats
    entities: [user]
    source: users
    features:
      - name: spend
        expression: spend
      - name: visits
        expression: visits
on_demand_views:
  - name: basket
    request: {basket_size: float64}
    features:
      - name: spend_per_item
        expression: user_stats.spend / basket_size
      - name: visits_per_item
        expression: user_stats.visits / basket_size
feature_services:
  - name: scoring
    features:
      - user_stats.spend
      - user_stats.visits
      - basket.spend_per_item
)yaml";

// The model's features: not in the service's order.
const std::vector<std::string> kScorerFeatures = {"basket.spend_per_item", "user_stats.spend",
                                                  "user_stats.visits"};
const std::vector<std::string> kPlainFeatures = {"f0", "f1", "f2"};

class PredictionServiceTest : public ::testing::Test {
 protected:
  PredictionServiceTest() {
    env_.clock().Set(T("2024-01-03T00:00:00Z") / 1000);
    env_.WriteFile("users.csv", std::string(kUsers));
    features::ApplyResult applied = env_.ApplyRepository(std::string(kRepository), "shop");
    service_version_ = applied.new_service_versions.at(0).version;
    materialized_until_ = T("2024-01-02T00:00:00Z");
    env_.Materialize("shop", materialized_until_);

    // Trained on values in the ranges the online store holds, so different
    // users get different predictions.
    Dataset scorer = MakeDataset(800, kScorerFeatures, 21, /*missing_every=*/13);
    for (size_t i = 0; i < scorer.values.size(); ++i) {
      static const float kScale[] = {20.0f, 40.0f, 4.0f}, kOffset[] = {25.0f, 70.0f, 8.0f};
      scorer.values[i] = scorer.values[i] * kScale[i % 3] + kOffset[i % 3];
    }
    training::ModelOrigin origin;
    origin.feature_project = "shop";
    origin.feature_service = "scoring";
    origin.feature_service_version = service_version_;
    env_.SetAlias("scorer", "champion",
                  env_.Register("scorer", TrainModelBytes(scorer, {.rounds = 15}),
                                MakeModelInfo(kScorerFeatures, "binary:logistic", origin, 15)));

    plain_data_ = MakeDataset(500, kPlainFeatures, 4, /*missing_every=*/9);
    env_.SetAlias("plain", "champion",
                  env_.Register("plain", TrainModelBytes(plain_data_, {.rounds = 12}),
                                MakeModelInfo(kPlainFeatures, "binary:logistic", {}, 12)));

    cache_ = std::make_unique<ModelCache>(env_.registry(), env_.artifacts(),
                                          ModelCacheOptions{.reload_interval = std::chrono::hours(1)});
    Must(cache_->Start({{"scorer", "champion"}, {"plain", "champion"}}));
    log_state_ = std::make_shared<InMemoryPredictionStore::State>();
    log_ = std::make_unique<PredictionLog>(std::make_unique<InMemoryPredictionStore>(log_state_));
    service_ =
        std::make_unique<PredictionService>(*cache_, env_.features(), log_.get(), metrics_, env_.clock(),
                                            PredictionServiceOptions{.max_batch_rows = 4});
  }

  ~PredictionServiceTest() override {
    service_.reset();
    log_.reset();
    cache_.reset();
  }

  // What the model should see for `user` with `basket_size`: the online
  // features in the model's order, as float32 (NaN for null).
  std::vector<float> OnlineInputs(const std::string& user, double basket_size) {
    features::OnlineRequest request;
    request.project = "shop";
    request.service = "scoring";
    request.rows = {{{"user", data::Value::String(user)}, {"basket_size", data::Value::Float(basket_size)}}};
    features::OnlineResponse response = Must(env_.features().GetOnlineFeatures(request));
    std::vector<float> row;
    for (const std::string& name : kScorerFeatures) {
      auto it = std::find(response.feature_names.begin(), response.feature_names.end(), name);
      EXPECT_NE(it, response.feature_names.end()) << name;
      const data::Value& value = response.values[0][it - response.feature_names.begin()];
      row.push_back(value.null                           ? kNaN
                    : value.type == data::Type::kFloat64 ? static_cast<float>(value.f)
                                                         : static_cast<float>(value.i));
    }
    return row;
  }

  float Expected(const std::string& model, const std::vector<float>& row) {
    float out = -1;
    Must(cache_->Find(model, "")->Predict(row.data(), 1, &out));
    return out;
  }

  Json PredictJson(const std::string& model, const std::string& body) {
    return Json::parse(Must(service_->Predict(ParseModelAddress(model), body)));
  }

  Status PredictError(const std::string& model, const std::string& body) {
    Result<std::string> result = service_->Predict(ParseModelAddress(model), body);
    EXPECT_FALSE(result.ok()) << "expected an error for " << body << ", got " << result.value();
    return result.ok() ? Status::Ok() : result.status();
  }

  uint64_t CounterValue(const std::string& name, const MetricLabels& labels) {
    return metrics_.GetCounter(name, "", labels).value();
  }

  ServingEnvironment env_;
  int64_t service_version_ = 0;
  int64_t materialized_until_ = 0;
  Dataset plain_data_;
  MetricsRegistry metrics_;
  std::unique_ptr<ModelCache> cache_;
  std::shared_ptr<InMemoryPredictionStore::State> log_state_;
  std::unique_ptr<PredictionLog> log_;
  std::unique_ptr<PredictionService> service_;
};

TEST(ParseModelAddressTest, ReadsNameAliasAndVersion) {
  ModelAddress plain = ParseModelAddress("flights");
  EXPECT_EQ(plain.name, "flights");
  EXPECT_EQ(plain.alias, "");
  EXPECT_FALSE(plain.version.has_value());
  ModelAddress aliased = ParseModelAddress("flights@challenger");
  EXPECT_EQ(aliased.name, "flights");
  EXPECT_EQ(aliased.alias, "challenger");
  ModelAddress versioned = ParseModelAddress("flights", "3");
  EXPECT_EQ(versioned.version, std::optional<int64_t>(3));
  ModelAddress by_alias = ParseModelAddress("flights", "shadow");
  EXPECT_EQ(by_alias.alias, "shadow");
  EXPECT_FALSE(by_alias.version.has_value());
}

TEST_F(PredictionServiceTest, PredictsOneRowFromOnlineFeatures) {
  Json response = PredictJson(
      "scorer", R"({"entity": {"user": "alice"}, "request": {"basket_size": 4}, "unit_id": "u1"})");
  EXPECT_EQ(response["model"], "scorer");
  EXPECT_EQ(response["version"], 1);
  EXPECT_EQ(response["alias"], "champion");
  EXPECT_THAT(response["id"].get<std::string>(), StartsWith("pred-"));
  const std::vector<float> inputs = OnlineInputs("alice", 4);
  EXPECT_THAT(inputs, ElementsAre(120.5f / 4, 120.5f, 7.0f)) << "the online store holds alice's values";
  EXPECT_EQ(response["prediction"].get<float>(), Expected("scorer", inputs));

  Json carol =
      PredictJson("scorer@champion", R"({"entity": {"user": "carol"}, "request": {"basket_size": 2}})");
  EXPECT_EQ(carol["prediction"].get<float>(), Expected("scorer", OnlineInputs("carol", 2)));
  EXPECT_NE(carol["prediction"], response["prediction"]) << "the test must tell users apart";
  EXPECT_NE(carol["id"], response["id"]);
}

TEST_F(PredictionServiceTest, PredictsABatchWithMissingValues) {
  Json response = PredictJson("scorer", R"({"rows": [
      {"entity": {"user": "alice"}, "request": {"basket_size": 4}},
      {"entity": {"user": "bob"}, "request": {"basket_size": 1}, "id": "client-7"},
      {"entity": {"user": "nobody"}, "request": {"basket_size": 3}}]})");
  EXPECT_EQ(response["model"], "scorer");
  EXPECT_EQ(response["version"], 1);
  EXPECT_EQ(response["alias"], "champion");
  ASSERT_EQ(response["predictions"].size(), 3u);
  EXPECT_FALSE(response.contains("prediction"));
  EXPECT_EQ(response["predictions"][1]["id"], "client-7");

  const std::vector<float> bob = OnlineInputs("bob", 1);
  EXPECT_TRUE(std::isnan(bob[0]) && std::isnan(bob[1])) << "bob's spend is null";
  const std::vector<float> nobody = OnlineInputs("nobody", 3);
  EXPECT_TRUE(std::isnan(nobody[0]) && std::isnan(nobody[1]) && std::isnan(nobody[2])) << "not in the store";
  const std::vector<std::vector<float>> rows = {OnlineInputs("alice", 4), bob, nobody};
  for (size_t r = 0; r < rows.size(); ++r) {
    EXPECT_EQ(response["predictions"][r]["prediction"].get<float>(), Expected("scorer", rows[r]))
        << "row " << r;
  }
}

TEST_F(PredictionServiceTest, LogsEveryRowWithWhatWasAskedAndUsed) {
  service_->RefreshFeatureState();
  Json response = PredictJson("scorer", R"({"rows": [
      {"entity": {"user": "alice"}, "request": {"basket_size": 4}, "unit_id": "u-1"},
      {"entity": {"user": "bob"}, "request": {"basket_size": 1}, "unit_id": "u-2"}]})");
  Must(log_->Drain());
  std::vector<PredictionRecord> records = log_state_->Records();
  ASSERT_EQ(records.size(), 2u);
  const std::vector<std::vector<float>> inputs = {OnlineInputs("alice", 4), OnlineInputs("bob", 1)};
  for (size_t r = 0; r < 2; ++r) {
    const PredictionRecord& record = records[r];
    SCOPED_TRACE("row " + std::to_string(r));
    EXPECT_EQ(record.id, response["predictions"][r]["id"]);
    EXPECT_EQ(record.model, "scorer");
    EXPECT_EQ(record.version, 1);
    EXPECT_EQ(record.alias, "champion");
    EXPECT_EQ(record.unit_id, r == 0 ? "u-1" : "u-2");
    EXPECT_EQ(record.entity, Json({{"user", r == 0 ? "alice" : "bob"}}));
    EXPECT_EQ(record.request, Json({{"basket_size", r == 0 ? 4 : 1}}));
    EXPECT_EQ(record.timestamp_micros, env_.clock().NowMillis() * 1000);
    EXPECT_EQ(record.features_as_of_micros, materialized_until_);
    ASSERT_NE(record.feature_names, nullptr);
    EXPECT_EQ(*record.feature_names, kScorerFeatures);
    ASSERT_EQ(record.feature_values.size(), 3u);
    for (size_t j = 0; j < 3; ++j) {
      if (std::isnan(inputs[r][j])) {
        EXPECT_TRUE(std::isnan(record.feature_values[j])) << kScorerFeatures[j];
      } else {
        EXPECT_EQ(record.feature_values[j], inputs[r][j]) << kScorerFeatures[j];
      }
    }
    EXPECT_EQ(static_cast<float>(record.prediction), response["predictions"][r]["prediction"].get<float>());
  }

  // By version: no alias; "as_of" is the logged time.
  PredictJson("scorer", R"({"entity": {"user": "carol"}, "request": {"basket_size": 1}})");
  Must(service_->Predict(ParseModelAddress("scorer", "1"),
                         R"({"entity": {"user": "carol"}, "request": {"basket_size": 1},
                             "as_of": "2024-01-02T12:00:00Z"})"));
  Must(log_->Drain());
  records = log_state_->Records();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[2].alias, "champion");
  EXPECT_EQ(records[3].alias, "");
  EXPECT_EQ(records[3].timestamp_micros, T("2024-01-02T12:00:00Z"));
}

TEST_F(PredictionServiceTest, CountsAPredictionTheLogCannotTake) {
  Must(log_->Close());
  Json response = PredictJson("scorer", R"({"entity": {"user": "alice"}, "request": {"basket_size": 4}})");
  EXPECT_EQ(response["version"], 1) << "a full or closed log never fails a prediction";
  EXPECT_EQ(CounterValue("kiln_prediction_log_dropped_total", {}), 1u);
  EXPECT_THAT(metrics_.Render(), HasSubstr("\nkiln_prediction_log_dropped_total 1\n"));
}

TEST_F(PredictionServiceTest, UnknownModelIsNotFoundAndListsWhatIsServed) {
  Status status = PredictError("nope", R"({"entity": {"user": "alice"}})");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "model 'nope' is not served here (serving: scorer@champion, plain@champion)");

  status = PredictError("scorer@shadow", R"({"entity": {"user": "alice"}})");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(),
            "model 'scorer@shadow' is not served here (serving: scorer@champion, plain@champion)");

  Result<std::string> by_version = service_->Predict(ParseModelAddress("scorer", "9"), "{}");
  ASSERT_FALSE(by_version.ok());
  EXPECT_EQ(by_version.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(by_version.status().message(),
              StartsWith("model 'scorer' version 9 is not served here (serving: "));

  EXPECT_EQ(CounterValue("kiln_predict_errors_total", {{"model", "(not served)"}, {"code", "NOT_FOUND"}}), 1u)
      << "unknown names share one series";
  EXPECT_EQ(CounterValue("kiln_predict_errors_total", {{"model", "scorer"}, {"code", "NOT_FOUND"}}), 2u);
  EXPECT_THAT(metrics_.Render(),
              HasSubstr("kiln_predict_errors_total{model=\"(not served)\",code=\"NOT_FOUND\"} 1\n"));
}

TEST_F(PredictionServiceTest, UnknownEntityFieldIsNamedWithTheKnownOnes) {
  Status status = PredictError("scorer", R"({"entity": {"usr": "alice"}, "request": {"basket_size": 4}})");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "entity.usr: not a join key or request field of feature service 'scoring' "
            "(expected: basket_size, user)");

  status = PredictError("scorer", R"({"rows": [{"entity": {"user": "alice"}, "request": {"basket_size": 4}},
                                               {"entity": {"user": "bob"}, "request": {"size": 4}}]})");
  EXPECT_THAT(status.message(), StartsWith("rows[1].request.size: not a join key or request field"));
}

TEST_F(PredictionServiceTest, WrongTypeNamesTheFieldAndType) {
  Status status = PredictError("scorer", R"({"entity": {"user": 17}, "request": {"basket_size": 4}})");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "entity.user: expected a string, got 17");

  status = PredictError("scorer", R"({"rows": [{"entity": {"user": "alice"}, "request": {"basket_size": 4}},
                                               {"entity": {"user": "bob"}, "request": {"basket_size": "four"}}]})");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), StartsWith("rows[1].request.basket_size: expected a number"));
}

TEST_F(PredictionServiceTest, MissingJoinKeyOrRequestFieldIsNamed) {
  Status status = PredictError("scorer", R"({"entity": {"user": "alice"}})");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("request field 'basket_size' is required by basket.spend_per_item"));

  status = PredictError("scorer", R"({"request": {"basket_size": 2}})");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("join key 'user' is missing"));
}

TEST_F(PredictionServiceTest, TooManyRowsIsResourceExhaustedWithTheLimit) {
  std::string body = R"({"rows": [)";
  for (int r = 0; r < 5; ++r) body += std::string(r ? "," : "") + R"({"entity": {"user": "alice"}})";
  body += "]}";
  Status status = PredictError("scorer", body);
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "batch of 5 rows exceeds the limit of 4");
  EXPECT_EQ(CounterValue("kiln_predict_errors_total", {{"model", "scorer"}, {"code", "RESOURCE_EXHAUSTED"}}),
            1u);
}

TEST_F(PredictionServiceTest, MovedFeatureServiceIsAFailedPreconditionNamingBothVersions) {
  std::string changed(kRepository);
  changed.replace(changed.find("      - basket.spend_per_item\n"), 0, "      - basket.visits_per_item\n");
  features::ApplyResult applied = env_.ApplyRepository(changed, "shop");
  ASSERT_EQ(applied.new_service_versions.size(), 1u);
  const int64_t moved = applied.new_service_versions[0].version;
  ASSERT_NE(moved, service_version_);

  Status status = PredictError("scorer", R"({"entity": {"user": "alice"}, "request": {"basket_size": 4}})");
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "feature service 'scoring' is at version " + std::to_string(moved) +
                                  ", but scorer v1 was trained on version " +
                                  std::to_string(service_version_) +
                                  ": retrain, or re-apply the definitions it was trained on");
  EXPECT_EQ(CounterValue("kiln_predict_errors_total", {{"model", "scorer"}, {"code", "FAILED_PRECONDITION"}}),
            1u);
}

TEST_F(PredictionServiceTest, ModelWithoutFeatureServiceTakesFeaturesByName) {
  Json response =
      PredictJson("plain", R"({"request": {"f2": true, "f0": 0.5, "f1": null}, "unit_id": "u9"})");
  EXPECT_EQ(response["model"], "plain");
  EXPECT_EQ(response["alias"], "champion");
  EXPECT_EQ(response["prediction"].get<float>(), Expected("plain", {0.5f, kNaN, 1.0f}));

  Json batch = PredictJson("plain", R"({"rows": [{"request": {"f0": -1.5, "f1": 0.25, "f2": -0.75}},
                                                 {"request": {"f0": 1.75, "f1": -1, "f2": 0}}]})");
  ASSERT_EQ(batch["predictions"].size(), 2u);
  EXPECT_EQ(batch["predictions"][0]["prediction"].get<float>(), Expected("plain", {-1.5f, 0.25f, -0.75f}));
  EXPECT_EQ(batch["predictions"][1]["prediction"].get<float>(), Expected("plain", {1.75f, -1.0f, 0.0f}));
  EXPECT_NE(batch["predictions"][0]["prediction"], batch["predictions"][1]["prediction"]);
}

TEST_F(PredictionServiceTest, ModelWithoutFeatureServiceNamesMissingAndUnknownFeatures) {
  Status status = PredictError("plain", R"({"request": {"f0": 1, "f2": 2}})");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "request lacks feature 'f1'");

  status = PredictError("plain",
                        R"({"rows": [{"request": {"f0": 1, "f1": 2, "f2": 3}}, {"request": {"f0": 1}}]})");
  EXPECT_EQ(status.message(), "rows[1].request lacks feature 'f1'");

  status = PredictError("plain", R"({"request": {"f0": 1, "f1": 2, "f2": 3, "f9": 4}})");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "request.f9: not a feature of model plain (features: f0, f1, f2)");

  status = PredictError("plain", R"({"request": {"f0": "one", "f1": 2, "f2": 3}})");
  EXPECT_THAT(status.message(), StartsWith("request.f0: expected a number"));

  status = PredictError("plain", R"({"entity": {"user": "alice"}, "request": {"f0": 1, "f1": 2, "f2": 3}})");
  EXPECT_EQ(status.message(), "entity: model plain has no feature service; send its features in 'request'");
  status = PredictError("plain", R"({"rows": [{"entity": {"user": "alice"}}]})");
  EXPECT_EQ(status.message(),
            "rows[0].entity: model plain has no feature service; send its features in 'request'");
}

TEST_F(PredictionServiceTest, InferTakesBothInferenceProtocolLayouts) {
  const float expected_0 = Expected("plain", {0.5f, 1.5f, 1.0f});
  const float expected_1 = Expected("plain", {-1.0f, 0.25f, 0.0f});
  ASSERT_NE(expected_0, expected_1);

  // One tensor per feature, in any order, [rows] or [rows, 1].
  Json per_feature =
      Json::parse(Must(service_->Infer(ParseModelAddress("plain"), R"({"id": "req-7", "inputs": [
      {"name": "f2", "shape": [2], "datatype": "INT32", "data": [1, 0]},
      {"name": "f0", "shape": [2], "datatype": "FP32", "data": [0.5, -1]},
      {"name": "f1", "shape": [2, 1], "datatype": "FP64", "data": [[1.5], [0.25]]}]})")));
  EXPECT_EQ(per_feature["model_name"], "plain");
  EXPECT_EQ(per_feature["model_version"], "1");
  EXPECT_EQ(per_feature["id"], "req-7");
  ASSERT_EQ(per_feature["outputs"].size(), 1u);
  EXPECT_EQ(per_feature["outputs"][0]["name"], "predict");
  EXPECT_EQ(per_feature["outputs"][0]["shape"], Json::array({2}));
  EXPECT_EQ(per_feature["outputs"][0]["data"][0].get<float>(), expected_0);
  EXPECT_EQ(per_feature["outputs"][0]["data"][1].get<float>(), expected_1);

  // One [rows, features] tensor in the model's feature order.
  Json matrix = Json::parse(Must(service_->Infer(ParseModelAddress("plain", "1"), R"({"inputs": [
      {"name": "input-0", "shape": [2, 3], "datatype": "FP32", "data": [0.5, 1.5, 1, -1, 0.25, 0]}]})")));
  EXPECT_EQ(matrix["model_version"], "1");
  EXPECT_THAT(matrix["id"].get<std::string>(), StartsWith("pred-"));
  EXPECT_EQ(matrix["outputs"][0]["data"][0].get<float>(), expected_0);
  EXPECT_EQ(matrix["outputs"][0]["data"][1].get<float>(), expected_1);

  Must(log_->Drain());
  EXPECT_EQ(log_state_->Records().size(), 4u) << "OIP predictions are logged too";
  EXPECT_EQ(CounterValue("kiln_predict_rows_total", {{"model", "plain"}, {"version", "1"}}), 4u);

  Result<std::string> missing = service_->Infer(ParseModelAddress("plain"), R"({"inputs": [
      {"name": "f0", "shape": [1], "datatype": "FP32", "data": [0.5]}]})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), "input lacks features 'f1', 'f2'");

  Result<std::string> unknown = service_->Infer(ParseModelAddress("nope"), R"({"inputs": []})");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

TEST_F(PredictionServiceTest, InferWithoutRowsIsRefused) {
  Result<std::string> empty = service_->Infer(ParseModelAddress("plain"), R"({"inputs": [
      {"name": "f0", "shape": [0], "datatype": "FP32", "data": []},
      {"name": "f1", "shape": [0], "datatype": "FP32", "data": []},
      {"name": "f2", "shape": [0], "datatype": "FP32", "data": []}]})");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), "inputs: the request has no rows to predict");
}

TEST_F(PredictionServiceTest, MetadataListsInputsInModelOrder) {
  Json scorer = Must(service_->Metadata(ParseModelAddress("scorer")));
  EXPECT_EQ(scorer["name"], "scorer");
  EXPECT_EQ(scorer["versions"], Json::array({"1"}));
  EXPECT_EQ(scorer["platform"], "xgboost");
  ASSERT_EQ(scorer["inputs"].size(), 3u);
  for (size_t j = 0; j < 3; ++j) {
    EXPECT_EQ(scorer["inputs"][j]["name"], kScorerFeatures[j]);
    EXPECT_EQ(scorer["inputs"][j]["datatype"], "FP32");
    EXPECT_EQ(scorer["inputs"][j]["shape"], Json::array({-1}));
  }
  EXPECT_EQ(scorer["outputs"][0]["name"], "predict");
  EXPECT_EQ(scorer["parameters"]["predictor"], "fast");
  EXPECT_EQ(scorer["parameters"]["objective"], "binary:logistic");
  EXPECT_EQ(scorer["parameters"]["feature_service"], "scoring");
  EXPECT_EQ(scorer["parameters"]["feature_service_version"], service_version_);

  Json plain = Must(service_->Metadata(ParseModelAddress("plain", "1")));
  EXPECT_EQ(plain["inputs"][0]["name"], "f0");
  EXPECT_EQ(plain["parameters"]["feature_service"], "");

  Result<Json> unknown = service_->Metadata(ParseModelAddress("nope"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

TEST_F(PredictionServiceTest, MetadataListsEachServedVersionOnce) {
  const int64_t v2 = env_.Register("plain", TrainModelBytes(plain_data_, {.rounds = 5}),
                                   MakeModelInfo(kPlainFeatures, "binary:logistic", {}, 5));
  env_.SetAlias("plain", "challenger", 1);
  env_.SetAlias("plain", "shadow", v2);
  ModelCache cache(env_.registry(), env_.artifacts(),
                   ModelCacheOptions{.reload_interval = std::chrono::hours(1)});
  Must(cache.Start({{"plain", "champion"}, {"plain", "challenger"}, {"plain", "shadow"}}));
  PredictionService service(cache, env_.features(), nullptr, metrics_, env_.clock());

  Json metadata = Must(service.Metadata(ParseModelAddress("plain")));
  EXPECT_EQ(metadata["versions"], Json::array({"1", std::to_string(v2)}));
  EXPECT_EQ(metadata["parameters"]["version"], "1");
  EXPECT_EQ(Must(service.Metadata(ParseModelAddress("plain@shadow")))["parameters"]["version"],
            std::to_string(v2));
  EXPECT_EQ(Must(service.Metadata(ParseModelAddress("plain", "challenger")))["parameters"]["version"], "1");

  // Without a prediction log, predictions are still answered.
  Json response = Json::parse(Must(
      service.Predict(ParseModelAddress("plain@shadow"), R"({"request": {"f0": 1, "f1": 2, "f2": 3}})")));
  EXPECT_EQ(response["version"], v2);
  EXPECT_EQ(response["alias"], "shadow");
}

TEST_F(PredictionServiceTest, ReadyAndListModels) {
  EXPECT_TRUE(service_->Ready(ParseModelAddress("scorer")).ok());
  EXPECT_TRUE(service_->Ready(ParseModelAddress("plain", "1")).ok());
  EXPECT_EQ(service_->Ready(ParseModelAddress("plain", "2")).code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Ready(ParseModelAddress("nope")).code(), StatusCode::kNotFound);

  Json before = service_->ListModels();
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0]["materialized_until"], nullptr) << "unknown before the first refresh";
  service_->RefreshFeatureState();
  Json list = service_->ListModels();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "scorer");
  EXPECT_EQ(list[0]["alias"], "champion");
  EXPECT_EQ(list[0]["version"], 1);
  EXPECT_EQ(list[0]["predictor"], "fast");
  EXPECT_EQ(list[0]["features"], 3);
  EXPECT_EQ(list[0]["feature_service"], "scoring");
  EXPECT_EQ(list[0]["materialized_until"], "2024-01-02T00:00:00Z");
  EXPECT_EQ(list[1]["name"], "plain");
  EXPECT_EQ(list[1]["materialized_until"], nullptr);
  EXPECT_FALSE(list[1].contains("fallback_reason"));
}

TEST_F(PredictionServiceTest, MetricsCountRequestsRowsErrorsAndLatency) {
  const std::string alice = R"({"entity": {"user": "alice"}, "request": {"basket_size": 4}})";
  PredictJson("scorer", alice);
  PredictJson("scorer", R"({"rows": [)" + alice + "," + alice + "]}");
  EXPECT_EQ(PredictError("scorer", R"({"entity": {"user": 3}, "request": {"basket_size": 4}})").code(),
            StatusCode::kInvalidArgument);
  PredictJson("plain", R"({"request": {"f0": 1, "f1": 2, "f2": 3}})");

  const MetricLabels scorer = {{"model", "scorer"}, {"version", "1"}};
  EXPECT_EQ(CounterValue("kiln_predict_requests_total", scorer), 3u);
  EXPECT_EQ(CounterValue("kiln_predict_rows_total", scorer), 3u);
  EXPECT_EQ(CounterValue("kiln_predict_errors_total", {{"model", "scorer"}, {"code", "INVALID_ARGUMENT"}}),
            1u);
  EXPECT_EQ(
      metrics_.GetHistogram("kiln_predict_latency_seconds", "", scorer, LatencyBuckets()).snapshot().count,
      2u)
      << "latency of answered requests";
  EXPECT_EQ(
      metrics_.GetHistogram("kiln_feature_lookup_seconds", "", scorer, LatencyBuckets()).snapshot().count,
      2u);
  const MetricLabels plain = {{"model", "plain"}, {"version", "1"}};
  EXPECT_EQ(CounterValue("kiln_predict_requests_total", plain), 1u);
  EXPECT_EQ(
      metrics_.GetHistogram("kiln_feature_lookup_seconds", "", plain, LatencyBuckets()).snapshot().count, 0u)
      << "no feature service, no lookup";

  const std::string text = metrics_.Render();
  EXPECT_THAT(text, HasSubstr("kiln_predict_requests_total{model=\"scorer\",version=\"1\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("kiln_predict_rows_total{model=\"scorer\",version=\"1\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("kiln_predict_errors_total{model=\"scorer\",code=\"INVALID_ARGUMENT\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kiln_predict_latency_seconds_count{model=\"scorer\",version=\"1\"} 2\n"));
  EXPECT_THAT(
      text, HasSubstr("kiln_feature_lookup_seconds_bucket{model=\"scorer\",version=\"1\",le=\"+Inf\"} 2\n"));
}

TEST_F(PredictionServiceTest, AnAliasMoveServesTheNewVersion) {
  const Json before = PredictJson("plain", R"({"request": {"f0": 0.5, "f1": 0.5, "f2": 0.5}})");
  const int64_t v2 = env_.Register("plain", TrainModelBytes(plain_data_, {.rounds = 30, .max_depth = 2}),
                                   MakeModelInfo(kPlainFeatures, "binary:logistic", {}, 30));
  env_.SetAlias("plain", "champion", v2);
  cache_->CheckNow();
  const Json after = PredictJson("plain", R"({"request": {"f0": 0.5, "f1": 0.5, "f2": 0.5}})");
  EXPECT_EQ(before["version"], 1);
  EXPECT_EQ(after["version"], v2);
  EXPECT_EQ(after["alias"], "champion");
  EXPECT_EQ(after["prediction"].get<float>(), Expected("plain", {0.5f, 0.5f, 0.5f}));
  EXPECT_NE(after["prediction"], before["prediction"]);
  EXPECT_EQ(
      CounterValue("kiln_predict_requests_total", {{"model", "plain"}, {"version", std::to_string(v2)}}), 1u);
  Result<std::string> old = service_->Predict(ParseModelAddress("plain", "1"), R"({"request": {"f0": 1}})");
  EXPECT_EQ(old.status().code(), StatusCode::kNotFound) << "v1 is no longer served";
}

}  // namespace
}  // namespace kiln::serving
