// ModelCache and ServedModel over a real registry and artifact store: models
// are trained in process, registered as versions, and served by alias; alias
// moves are picked up by CheckNow (the watcher's pass, called directly so
// no test depends on thread timing).
#include "serving/model_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>

#include "serving/served_model.h"
#include "serving/serving_service_testing.h"
#include "training/model_folder.h"

namespace kiln::serving {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing_support::Dataset;
using testing_support::MakeDataset;
using testing_support::MakeModelInfo;
using testing_support::Must;
using testing_support::ServingEnvironment;
using testing_support::TrainModelBytes;
using testing_support::TrainOptions;

const std::vector<std::string> kFeatures = {"f0", "f1", "f2", "f3", "f4"};

// The model a version would be without the server: XGBoost through LoadedModel.
training::LoadedModel LoadDirectly(ServingEnvironment& env, const std::string& name, int64_t version) {
  tracking::ModelVersion registered = Must(env.registry().GetModelVersion(name, version));
  auto folder = Must(training::ModelFolder::Link(env.artifacts(), registered.storage_location, name));
  return Must(training::LoadedModel::Load(folder->path()));
}

std::shared_ptr<const ServedModel> LoadServed(ServingEnvironment& env, const std::string& name,
                                              int64_t version) {
  tracking::ModelVersion registered = Must(env.registry().GetModelVersion(name, version));
  return Must(ServedModel::Load(env.artifacts(), name, version, registered.run_id.value_or(""),
                                registered.storage_location));
}

// One prediction of `model` for `row`.
float PredictOne(const ServedModel& model, const std::vector<float>& row) {
  float out = -1;
  Must(model.Predict(row.data(), 1, &out));
  return out;
}

// --- ParseModelRefs ---

TEST(ParseModelRefsTest, ReadsCommaSeparatedListInOrder) {
  std::vector<ModelRef> refs = Must(ParseModelRefs("flights@champion,flights@challenger,churn@champion"));
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0].name, "flights");
  EXPECT_EQ(refs[0].alias, "champion");
  EXPECT_EQ(refs[1].name, "flights");
  EXPECT_EQ(refs[1].alias, "challenger");
  EXPECT_EQ(refs[2].name, "churn");
  EXPECT_EQ(refs[2].alias, "champion");
}

TEST(ParseModelRefsTest, IgnoresSpacesAndEmptyItems) {
  std::vector<ModelRef> refs = Must(ParseModelRefs("  flights@champion , churn @ shadow,, \tbikes@prod\n,"));
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[0].name, "flights");
  EXPECT_EQ(refs[0].alias, "champion");
  EXPECT_EQ(refs[1].name, "churn");
  EXPECT_EQ(refs[1].alias, "shadow");
  EXPECT_EQ(refs[2].name, "bikes");
  EXPECT_EQ(refs[2].alias, "prod");
}

TEST(ParseModelRefsTest, MissingAliasSaysHowToWriteIt) {
  Result<std::vector<ModelRef>> refs = ParseModelRefs("flights@champion,flight-delay");
  ASSERT_FALSE(refs.ok());
  EXPECT_EQ(refs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refs.status().message(), "--models: 'flight-delay' lacks an alias (write flight-delay@champion)");

  for (const char* text : {"flights@", "@champion"}) {
    Result<std::vector<ModelRef>> half = ParseModelRefs(text);
    ASSERT_FALSE(half.ok()) << text;
    EXPECT_EQ(half.status().message(), "--models: '" + std::string(text) + "' should be NAME@ALIAS");
  }
}

TEST(ParseModelRefsTest, RefusesDuplicates) {
  Result<std::vector<ModelRef>> refs = ParseModelRefs("flights@champion, churn@champion, flights@champion");
  ASSERT_FALSE(refs.ok());
  EXPECT_EQ(refs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refs.status().message(), "--models: flights@champion is listed twice");
  // The same name under two aliases is not a duplicate.
  EXPECT_TRUE(ParseModelRefs("flights@champion,flights@challenger").ok());
}

TEST(ParseModelRefsTest, RefusesAnEmptyList) {
  for (const char* text : {"", "   ", " , ,"}) {
    Result<std::vector<ModelRef>> refs = ParseModelRefs(text);
    ASSERT_FALSE(refs.ok()) << "'" << text << "'";
    EXPECT_EQ(refs.status().message(), "--models: name at least one model, e.g. flight-delay@champion");
  }
}

// --- ModelCache ---

class ModelCacheTest : public ::testing::Test {
 protected:
  ModelCacheTest()
      : data_(MakeDataset(600, kFeatures, 1, /*missing_every=*/11)),
        bytes_v1_(TrainModelBytes(data_, {.rounds = 10})),
        bytes_v2_(TrainModelBytes(data_, {.rounds = 25, .max_depth = 3})) {
    v1_ = env_.Register("delays", bytes_v1_, MakeModelInfo(kFeatures, "binary:logistic", {}, 10));
    v2_ = env_.Register("delays", bytes_v2_, MakeModelInfo(kFeatures, "binary:logistic", {}, 25));
  }

  // A cache that never checks by itself (the tests call CheckNow).
  std::unique_ptr<ModelCache> NewCache() {
    return std::make_unique<ModelCache>(env_.registry(), env_.artifacts(),
                                        ModelCacheOptions{.reload_interval = std::chrono::hours(1)});
  }

  ServingEnvironment env_;
  Dataset data_;
  std::string bytes_v1_, bytes_v2_;
  int64_t v1_ = 0, v2_ = 0;
  const std::vector<float> row_ = {0.7f, std::numeric_limits<float>::quiet_NaN(), -1.0f, 0.2f, 1.5f};
};

TEST_F(ModelCacheTest, StartLoadsEveryAliasAndFindsThem) {
  env_.SetAlias("delays", "champion", v1_);
  env_.SetAlias("delays", "challenger", v2_);
  auto cache = NewCache();
  Must(cache->Start({{"delays", "champion"}, {"delays", "challenger"}}));

  std::shared_ptr<const ServedModel> champion = cache->Find("delays", "champion");
  std::shared_ptr<const ServedModel> challenger = cache->Find("delays", "challenger");
  ASSERT_NE(champion, nullptr);
  ASSERT_NE(challenger, nullptr);
  EXPECT_EQ(champion->name(), "delays");
  EXPECT_EQ(champion->version(), v1_);
  EXPECT_EQ(challenger->version(), v2_);
  EXPECT_EQ(cache->Find("delays", ""), champion) << "the first alias listed is the default";
  EXPECT_EQ(cache->Find("delays", "shadow"), nullptr);
  EXPECT_EQ(cache->Find("churn", ""), nullptr);

  EXPECT_EQ(cache->FindVersion("delays", v2_), challenger);
  EXPECT_EQ(cache->FindVersion("delays", v1_), champion);
  EXPECT_EQ(cache->FindVersion("delays", 99), nullptr);
  EXPECT_EQ(cache->FindVersion("churn", v1_), nullptr);
  EXPECT_EQ(cache->AliasOf("delays", v1_), "champion");
  EXPECT_EQ(cache->AliasOf("delays", v2_), "challenger");
  EXPECT_EQ(cache->AliasOf("delays", 99), "");

  std::vector<ServedAlias> list = cache->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].ref.alias, "champion");
  EXPECT_EQ(list[0].model, champion);
  EXPECT_GT(list[0].loaded_at_micros, 0);
  EXPECT_EQ(list[1].ref.alias, "challenger");
  EXPECT_EQ(list[1].model, challenger);
  EXPECT_EQ(cache->reloads(), 0);
  EXPECT_EQ(cache->reload_errors(), 0);
  EXPECT_EQ(cache->last_error(), "");
}

TEST_F(ModelCacheTest, StartRefusesAnAliasThatDoesNotExistNamingIt) {
  env_.SetAlias("delays", "champion", v1_);
  auto cache = NewCache();
  Status started = cache->Start({{"delays", "champion"}, {"delays", "challenger"}});
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.code(), StatusCode::kNotFound);
  EXPECT_THAT(started.message(), StartsWith("delays@challenger: "));
  EXPECT_THAT(started.message(), HasSubstr("alias challenger not found"));

  auto other = NewCache();
  Status unknown_model = other->Start({{"churn", "champion"}});
  ASSERT_FALSE(unknown_model.ok());
  EXPECT_THAT(unknown_model.message(), StartsWith("churn@champion: "));
}

TEST_F(ModelCacheTest, CheckNowPicksUpAnAliasMoveWhileHeldModelsStayValid) {
  env_.SetAlias("delays", "champion", v1_);
  auto cache = NewCache();
  Must(cache->Start({{"delays", "champion"}}));

  // A request in flight holds the model it started with.
  std::shared_ptr<const ServedModel> in_flight = cache->Find("delays", "champion");
  ASSERT_NE(in_flight, nullptr);
  const float before = PredictOne(*in_flight, row_);

  env_.SetAlias("delays", "champion", v2_);
  EXPECT_EQ(cache->Find("delays", "champion")->version(), v1_) << "nothing moves before the watcher looks";
  cache->CheckNow();

  std::shared_ptr<const ServedModel> now = cache->Find("delays", "champion");
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->version(), v2_);
  EXPECT_EQ(cache->reloads(), 1);
  EXPECT_EQ(cache->FindVersion("delays", v1_), nullptr) << "v1 is no longer served";
  EXPECT_EQ(cache->AliasOf("delays", v2_), "champion");

  // The old version still answers, unchanged, for whoever holds it.
  EXPECT_EQ(in_flight->version(), v1_);
  EXPECT_EQ(PredictOne(*in_flight, row_), before);
  EXPECT_NE(PredictOne(*now, row_), before) << "v2 is a different model";

  // A pass that finds nothing moved reloads nothing.
  cache->CheckNow();
  EXPECT_EQ(cache->reloads(), 1);
  EXPECT_EQ(cache->Find("delays", "champion"), now);
}

TEST_F(ModelCacheTest, AliasesOnTheSameVersionShareOneServedModel) {
  env_.SetAlias("delays", "champion", v1_);
  env_.SetAlias("delays", "challenger", v1_);
  auto cache = NewCache();
  Must(cache->Start({{"delays", "champion"}, {"delays", "challenger"}}));
  EXPECT_EQ(cache->Find("delays", "champion").get(), cache->Find("delays", "challenger").get());

  env_.SetAlias("delays", "challenger", v2_);
  cache->CheckNow();
  EXPECT_EQ(cache->Find("delays", "challenger")->version(), v2_);
  EXPECT_EQ(cache->Find("delays", "champion")->version(), v1_);

  // Promoting the challenger: champion takes the already loaded v2.
  std::shared_ptr<const ServedModel> challenger = cache->Find("delays", "challenger");
  env_.SetAlias("delays", "champion", v2_);
  cache->CheckNow();
  EXPECT_EQ(cache->Find("delays", "champion"), challenger);
  EXPECT_EQ(cache->reloads(), 2);
}

TEST_F(ModelCacheTest, ABrokenVersionKeepsTheOldOneServing) {
  env_.SetAlias("delays", "champion", v1_);
  const int64_t broken = env_.RegisterBroken("delays", bytes_v2_, MakeModelInfo(kFeatures));
  auto cache = NewCache();
  Must(cache->Start({{"delays", "champion"}}));
  std::shared_ptr<const ServedModel> serving = cache->Find("delays", "champion");

  env_.SetAlias("delays", "champion", broken);
  cache->CheckNow();
  EXPECT_EQ(cache->Find("delays", "champion"), serving) << "v1 keeps serving";
  EXPECT_EQ(cache->reloads(), 0);
  EXPECT_EQ(cache->reload_errors(), 1);
  EXPECT_THAT(cache->last_error(), StartsWith("delays@champion: "));
  EXPECT_THAT(cache->last_error(), HasSubstr("delays v" + std::to_string(broken)));
  EXPECT_THAT(cache->last_error(), HasSubstr("SHA-256"));
  // The stored file is named, not the temporary folder it was linked into.
  const std::string location = Must(env_.registry().GetModelVersion("delays", broken)).storage_location;
  EXPECT_THAT(cache->last_error(), HasSubstr("model file " + location + "/model.ubj has SHA-256"));
  const std::string first_error = cache->last_error();

  cache->CheckNow();  // retried on every pass, with the same message
  EXPECT_EQ(cache->reload_errors(), 2);
  EXPECT_EQ(cache->last_error(), first_error);
  EXPECT_EQ(cache->Find("delays", "champion"), serving);

  // Moving the alias to a good version recovers.
  env_.SetAlias("delays", "champion", v2_);
  cache->CheckNow();
  EXPECT_EQ(cache->Find("delays", "champion")->version(), v2_);
  EXPECT_EQ(cache->reloads(), 1);
  EXPECT_EQ(cache->reload_errors(), 2);
}

TEST_F(ModelCacheTest, ADeletedAliasKeepsTheLastVersionServing) {
  env_.SetAlias("delays", "champion", v1_);
  auto cache = NewCache();
  Must(cache->Start({{"delays", "champion"}}));
  Must(env_.registry().DeleteRegisteredModelAlias("delays", "champion"));
  cache->CheckNow();
  ASSERT_NE(cache->Find("delays", "champion"), nullptr);
  EXPECT_EQ(cache->Find("delays", "champion")->version(), v1_);
  EXPECT_EQ(cache->reload_errors(), 1);
  EXPECT_THAT(cache->last_error(), StartsWith("delays@champion: "));
  EXPECT_THAT(cache->last_error(), HasSubstr("alias champion not found"));
}

TEST_F(ModelCacheTest, WatcherPicksUpAMoveAndRunsTickCallbacks) {
  env_.SetAlias("delays", "champion", v1_);
  ModelCache cache(env_.registry(), env_.artifacts(),
                   ModelCacheOptions{.reload_interval = std::chrono::milliseconds(1)});
  std::mutex mutex;
  std::condition_variable ticked;
  int64_t ticks = 0;
  cache.OnTick([&] {
    std::lock_guard lock(mutex);
    ++ticks;
    ticked.notify_all();
  });
  Must(cache.Start({{"delays", "champion"}}));
  env_.SetAlias("delays", "champion", v2_);
  // Every tick runs CheckNow before the callbacks: after two ticks that
  // began after the move, the move is seen. The wait bound only stops a
  // broken watcher from hanging the test.
  {
    std::unique_lock lock(mutex);
    const int64_t target = ticks + 2;
    ASSERT_TRUE(ticked.wait_for(lock, std::chrono::seconds(60), [&] { return ticks >= target; }));
  }
  EXPECT_EQ(cache.Find("delays", "champion")->version(), v2_);
  EXPECT_GE(cache.reloads(), 1);
  cache.Stop();
  cache.Stop();  // idempotent
}

// --- ServedModel ---

TEST_F(ModelCacheTest, FastPredictorMatchesXGBoostOnEveryRow) {
  std::shared_ptr<const ServedModel> served = LoadServed(env_, "delays", v2_);
  training::LoadedModel xgboost = LoadDirectly(env_, "delays", v2_);
  EXPECT_EQ(served->predictor(), "fast");
  EXPECT_EQ(served->fallback_reason(), "");
  EXPECT_EQ(served->name(), "delays");
  EXPECT_EQ(served->version(), v2_);
  EXPECT_FALSE(served->run_id().empty());
  EXPECT_EQ(*served->feature_names(), kFeatures);
  EXPECT_FALSE(served->has_feature_service());

  // Unseen rows, one value in seven missing, predicted as one batch (all
  // cores) and row by row.
  const Dataset test = MakeDataset(3000, kFeatures, 99, /*missing_every=*/7);
  std::vector<float> batch(test.rows);
  Must(served->Predict(test.values.data(), test.rows, batch.data()));
  size_t rows_with_missing = 0;
  for (size_t r = 0; r < test.rows; ++r) {
    const float* row = test.values.data() + r * kFeatures.size();
    rows_with_missing += std::any_of(row, row + kFeatures.size(), [](float v) { return std::isnan(v); });
    const float expected = Must(xgboost.PredictRow(row, kFeatures.size()));
    ASSERT_FLOAT_EQ(batch[r], expected) << "row " << r;
    float single = -1;
    Must(served->Predict(row, 1, &single));
    ASSERT_FLOAT_EQ(single, expected) << "row " << r;
  }
  EXPECT_GT(rows_with_missing, 1000u);
}

TEST_F(ModelCacheTest, DartModelFallsBackToXGBoostAndStillPredicts) {
  const std::string dart = TrainModelBytes(data_, {.booster = "dart", .rounds = 8});
  const int64_t version = env_.Register("delays", dart, MakeModelInfo(kFeatures, "binary:logistic", {}, 8));
  std::shared_ptr<const ServedModel> served = LoadServed(env_, "delays", version);
  training::LoadedModel xgboost = LoadDirectly(env_, "delays", version);
  EXPECT_EQ(served->predictor(), "xgboost");
  EXPECT_THAT(served->fallback_reason(), HasSubstr("dart"));

  const Dataset test = MakeDataset(50, kFeatures, 5, /*missing_every=*/4);
  std::vector<float> out(test.rows);
  Must(served->Predict(test.values.data(), test.rows, out.data()));
  for (size_t r = 0; r < test.rows; ++r) {
    const float expected =
        Must(xgboost.PredictRow(test.values.data() + r * kFeatures.size(), kFeatures.size()));
    EXPECT_FLOAT_EQ(out[r], expected) << "row " << r;
    EXPECT_GT(out[r], 0.0f);
    EXPECT_LT(out[r], 1.0f);
  }
}

TEST_F(ModelCacheTest, MultiOutputModelIsRefusedAtLoadNotAtEveryRequest) {
  const Dataset classes = MakeDataset(300, kFeatures, 3, 0, /*classes=*/3);
  const std::string bytes =
      TrainModelBytes(classes, {.objective = "multi:softprob", .rounds = 4, .num_class = 3});
  const int64_t version = env_.Register("delays", bytes, MakeModelInfo(kFeatures, "multi:softprob", {}, 4));
  tracking::ModelVersion registered = Must(env_.registry().GetModelVersion("delays", version));
  Result<std::shared_ptr<const ServedModel>> served = ServedModel::Load(
      env_.artifacts(), "delays", version, registered.run_id.value_or(""), registered.storage_location);
  ASSERT_FALSE(served.ok());
  EXPECT_EQ(served.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(served.status().message(), StartsWith("delays v" + std::to_string(version) + " "));
  EXPECT_THAT(served.status().message(), HasSubstr("3 values per row"));
  EXPECT_THAT(served.status().message(), HasSubstr("multi:softprob"));

  // Through the cache: the alias keeps its loadable version.
  env_.SetAlias("delays", "champion", v1_);
  auto cache = NewCache();
  Must(cache->Start({{"delays", "champion"}}));
  env_.SetAlias("delays", "champion", version);
  cache->CheckNow();
  EXPECT_EQ(cache->Find("delays", "champion")->version(), v1_);
  EXPECT_THAT(cache->last_error(), HasSubstr("3 values per row"));
}

TEST_F(ModelCacheTest, LoadErrorsNameTheModelAndVersion) {
  const int64_t broken = env_.RegisterBroken("delays", bytes_v1_, MakeModelInfo(kFeatures));
  tracking::ModelVersion registered = Must(env_.registry().GetModelVersion("delays", broken));
  Result<std::shared_ptr<const ServedModel>> served = ServedModel::Load(
      env_.artifacts(), "delays", broken, registered.run_id.value_or(""), registered.storage_location);
  ASSERT_FALSE(served.ok());
  EXPECT_THAT(served.status().message(), StartsWith("cannot load delays v" + std::to_string(broken) + ": "));

  Result<std::shared_ptr<const ServedModel>> elsewhere =
      ServedModel::Load(env_.artifacts(), "delays", 7, "", "s3://bucket/model");
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_THAT(elsewhere.status().message(), HasSubstr("delays v7"));
  EXPECT_THAT(elsewhere.status().message(), HasSubstr("outside Kiln's artifact store"));
}

}  // namespace
}  // namespace kiln::serving
