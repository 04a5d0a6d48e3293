#include "training/builtin_trainer_job.h"

#include <gtest/gtest.h>

#include <functional>

#include "training/builtin_trainer_testing.h"

namespace kiln::training {
namespace {

using trainer_testing::Unwrap;

TEST(BuiltinTrainerJobTest, JsonRoundTripKeepsEveryField) {
  TrainerJob job = trainer_testing::SyntheticJob("/data/train.csv");
  job.split.kind = SplitKind::kTime;
  job.split.time_column = "event_timestamp";
  job.split.validation_start_micros = 1700000000000000;
  job.split.seed = 18446744073709551615ULL;  // uint64 max survives
  job.xgboost.params["eval_metric"] = "auc,logloss";
  job.origin.feature_project = "flights";
  job.origin.feature_service = "delays";
  job.origin.feature_service_version = 3;
  job.origin.repository_version = 7;
  Json json = TrainerJobToJson(job);
  EXPECT_EQ(json["format_version"], 1);
  TrainerJob back = Unwrap(TrainerJobFromJson(Json::parse(json.dump())));
  EXPECT_EQ(TrainerJobToJson(back), json);
  EXPECT_EQ(back.split.seed, job.split.seed);
  EXPECT_EQ(*back.split.validation_start_micros, 1700000000000000);
  EXPECT_EQ(back.origin.feature_service_version, 3);
  EXPECT_EQ(back.features, job.features);
}

TEST(BuiltinTrainerJobTest, FileRoundTrip) {
  trainer_testing::TempDir dir;
  TrainerJob job = trainer_testing::SyntheticJob("/data/train.csv");
  ASSERT_TRUE(WriteTrainerJobFile(job, dir.Path("job.json")).ok());
  TrainerJob back = Unwrap(ReadTrainerJobFile(dir.Path("job.json")));
  EXPECT_EQ(TrainerJobToJson(back), TrainerJobToJson(job));
  EXPECT_EQ(ReadTrainerJobFile(dir.Path("none.json")).status().message(),
            dir.Path("none.json") + ": no such file");
}

TEST(BuiltinTrainerJobTest, ErrorsNameTheField) {
  Json good = TrainerJobToJson(trainer_testing::SyntheticJob("/data/train.csv"));
  auto error = [&](const std::function<void(Json&)>& change) {
    Json json = good;
    change(json);
    return TrainerJobFromJson(json).status().message();
  };
  EXPECT_EQ(error([](Json& j) { j.erase("format_version"); }), "trainer job: format_version is required");
  EXPECT_EQ(error([](Json& j) { j["format_version"] = 2; }),
            "trainer job: format_version: 2 is not one this Kiln reads (1)");
  EXPECT_EQ(error([](Json& j) { j["split"]["kind"] = "weekly"; }),
            "trainer job: split.kind: expected 'random' or 'time', got 'weekly'");
  EXPECT_EQ(error([](Json& j) { j["split"]["seed"] = -1; }),
            "trainer job: split.seed: expected a non-negative integer, got -1");
  EXPECT_EQ(error([](Json& j) { j["xgboost"]["params"]["max_depth"] = 3; }),
            "trainer job: xgboost.params.max_depth: expected a string, got 3");
  EXPECT_EQ(error([](Json& j) {
              j["features"] = {"x1", "x1"};
            }),
            "trainer job: features: 'x1' is listed twice");
  EXPECT_EQ(error([](Json& j) { j["features"] = {"x1", "y"}; }), "trainer job: features: 'y' is the label");
  EXPECT_EQ(error([](Json& j) { j["features"] = Json::array(); }),
            "trainer job: features: at least one feature is required");
  EXPECT_EQ(error([](Json& j) { j["threads"] = 0; }),
            "trainer job: threads: must be between 1 and 4096, got 0");
  EXPECT_EQ(
      error([](Json& j) { j["xgboost"]["objective"] = "rank:pairwise"; }),
      "trainer job: xgboost.objective: objective 'rank:pairwise' is not supported by the built-in trainer "
      "(use binary:logistic or a reg: objective)");
  EXPECT_EQ(error([](Json& j) { j["signature"]["feature_service_version"] = "3"; }),
            "trainer job: signature.feature_service_version: expected an integer, got \"3\"");
  EXPECT_EQ(error([](Json& j) { j.erase("label"); }), "trainer job: label is required");
}

}  // namespace
}  // namespace kiln::training
