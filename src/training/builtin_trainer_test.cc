#include "training/builtin_trainer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "training/builtin_trainer_testing.h"
#include "training/evaluation.h"

namespace kiln::training {
namespace {

using trainer_testing::ReadText;
using trainer_testing::TempDir;
using trainer_testing::Unwrap;

std::vector<Json> MetricLines(const std::string& path) {
  std::vector<Json> lines;
  std::istringstream in(ReadText(path));
  for (std::string line; std::getline(in, line);) lines.push_back(Json::parse(line));
  return lines;
}

const Json* FindLine(const std::vector<Json>& lines, const std::string& key, int64_t step) {
  for (const Json& line : lines) {
    if (line["key"] == key && line["step"] == step) return &line;
  }
  return nullptr;
}

TEST(BuiltinTrainerTest, TrainsABinaryModelAndWritesEveryOutput) {
  TempDir dir;
  trainer_testing::WriteSyntheticCsv(dir.Path("data.csv"), 2000, trainer_testing::LabelKind::kSignal);
  TrainerJob job = trainer_testing::SyntheticJob(dir.Path("data.csv"));
  TrainerSummary summary = Unwrap(RunBuiltinTrainer(job, dir.Path("out"), /*quiet=*/true));

  EXPECT_GT(summary.metrics.at("auc"), 0.9);
  EXPECT_GT(summary.metrics.at("holdout.auc"), 0.9);
  EXPECT_TRUE(summary.metrics.count("logloss") && summary.metrics.count("error"));
  EXPECT_EQ(summary.early_stopping_metric, "valid.logloss");
  EXPECT_EQ(summary.train_rows, 1400);
  EXPECT_EQ(summary.validation_rows, 400);
  EXPECT_EQ(summary.holdout_rows, 200);
  for (const std::string& file : summary.files)
    EXPECT_TRUE(std::filesystem::exists(dir.Path("out/" + file))) << file;
  EXPECT_EQ(summary.files.size(), 7u);

  std::vector<Json> lines = MetricLines(dir.Path("out/metrics.jsonl"));
  for (const char* key : {"train.auc", "valid.auc", "train.logloss", "valid.error"}) {
    EXPECT_NE(FindLine(lines, key, 0), nullptr) << key;
    EXPECT_NE(FindLine(lines, key, summary.rounds_trained - 1), nullptr) << key;
  }
  // The final metric is the validation metric of the best iteration.
  ASSERT_NE(FindLine(lines, "auc", 0), nullptr);
  EXPECT_EQ((*FindLine(lines, "auc", 0))["value"],
            (*FindLine(lines, "valid.auc", summary.best_iteration))["value"]);
  EXPECT_EQ((*FindLine(lines, "best_iteration", 0))["value"], summary.best_iteration);
  EXPECT_EQ((*FindLine(lines, "train_rows", 0))["value"], 1400);
  EXPECT_NE(FindLine(lines, "holdout.logloss", 0), nullptr);

  Json info = Json::parse(ReadText(dir.Path("out/model/kiln-model.json")));
  EXPECT_EQ(info["format_version"], 1);
  EXPECT_EQ(info["best_iteration"], summary.best_iteration);
  EXPECT_EQ(info["rounds"], summary.best_iteration + 1);
  EXPECT_EQ(info["num_trees"], summary.best_iteration + 1);
  EXPECT_EQ(info["signature"]["features"][3], (Json{{"name", "flag"}, {"type", "bool"}}));
  EXPECT_EQ(info["signature"]["features"][2], (Json{{"name", "count"}, {"type", "int64"}}));
  EXPECT_EQ(info["signature"]["label"], (Json{{"name", "y"}, {"type", "int64"}}));
  EXPECT_EQ(info["signature"]["training_set_digest"], "abc123");
  EXPECT_EQ(info["model_sha256"], summary.model_sha256);

  Json importance = Json::parse(ReadText(dir.Path("out/feature_importance.json")));
  ASSERT_EQ(importance["features"].size(), 4u);
  EXPECT_EQ(importance["features"][0]["name"], "x1");
  // x1 carries the signal: it has the largest total gain.
  for (int j = 1; j < 4; ++j) {
    EXPECT_GT(importance["features"][0]["total_gain"].get<double>(),
              importance["features"][j]["total_gain"].get<double>());
  }
  Json shap = Json::parse(ReadText(dir.Path("out/shap_importance.json")));
  EXPECT_EQ(shap["rows"], 400);
  EXPECT_TRUE(shap.contains("bias"));
  EXPECT_GT(shap["features"][0]["mean_abs_shap"].get<double>(),
            shap["features"][1]["mean_abs_shap"].get<double>());

  Json profile = Json::parse(ReadText(dir.Path("out/baseline-profile.json")));
  EXPECT_EQ(profile["format_version"], 1);
  ASSERT_EQ(profile["columns"].size(), 6u);  // 4 features, the label, the prediction
  for (const Json& column : profile["columns"]) {
    for (const char* split : {"train", "validation"}) {
      int64_t total = column[split]["null_count"].get<int64_t>();
      for (const Json& count : column[split]["histogram"]) total += count.get<int64_t>();
      EXPECT_EQ(total, split == std::string("train") ? 1400 : 400) << column["name"] << " " << split;
    }
  }
  EXPECT_EQ(profile["columns"][1]["name"], "x2");
  EXPECT_GT(profile["columns"][1]["train"]["null_count"].get<int64_t>(), 0);  // every 17th x2 is empty
  EXPECT_EQ(profile["columns"][5]["role"], "prediction");
}

TEST(BuiltinTrainerTest, IdenticalTrainingsWriteIdenticalFiles) {
  TempDir dir;
  trainer_testing::WriteSyntheticCsv(dir.Path("data.csv"), 2000, trainer_testing::LabelKind::kSignal);
  TrainerJob job = trainer_testing::SyntheticJob(dir.Path("data.csv"));
  job.xgboost.params["subsample"] = "0.8";  // randomness inside XGBoost, fixed by the seed
  TrainerSummary first = Unwrap(RunBuiltinTrainer(job, dir.Path("one"), true));
  TrainerSummary second = Unwrap(RunBuiltinTrainer(job, dir.Path("two"), true));
  EXPECT_EQ(first.model_sha256, second.model_sha256);
  for (const std::string& file : first.files) {
    EXPECT_EQ(ReadText(dir.Path("one/" + file)), ReadText(dir.Path("two/" + file))) << file;
  }
  job.xgboost.seed = 6;
  TrainerSummary reseeded = Unwrap(RunBuiltinTrainer(job, dir.Path("three"), true));
  EXPECT_NE(reseeded.model_sha256, first.model_sha256);
}

TEST(BuiltinTrainerTest, EarlyStoppingStopsOnNoise) {
  TempDir dir;
  trainer_testing::WriteSyntheticCsv(dir.Path("data.csv"), 2000, trainer_testing::LabelKind::kNoise);
  TrainerJob job = trainer_testing::SyntheticJob(dir.Path("data.csv"));
  job.xgboost.params["max_depth"] = "6";
  TrainerSummary summary = Unwrap(RunBuiltinTrainer(job, dir.Path("out"), true));
  EXPECT_LT(summary.rounds_trained, 100);
  EXPECT_EQ(summary.rounds_trained, summary.best_iteration + 1 + 10);
  Json info = Json::parse(ReadText(dir.Path("out/model/kiln-model.json")));
  EXPECT_EQ(info["rounds"], summary.best_iteration + 1);  // trees after the best are cut
}

TEST(BuiltinTrainerTest, RegressionWithAnEvalMetricOverride) {
  TempDir dir;
  trainer_testing::WriteSyntheticCsv(dir.Path("data.csv"), 2000, trainer_testing::LabelKind::kRegression);
  TrainerJob job = trainer_testing::SyntheticJob(dir.Path("data.csv"), "reg:squarederror");
  TrainerSummary summary = Unwrap(RunBuiltinTrainer(job, dir.Path("out"), true));
  EXPECT_EQ(summary.early_stopping_metric, "valid.rmse");
  EXPECT_LT(summary.metrics.at("rmse"), 0.5);  // y's own deviation is about 2.5
  EXPECT_LT(summary.metrics.at("mae"), summary.metrics.at("rmse"));
  EXPECT_TRUE(summary.metrics.count("holdout.rmse"));

  job.xgboost.params["eval_metric"] = "rmse, mae";  // stop on mae
  summary = Unwrap(RunBuiltinTrainer(job, dir.Path("out2"), true));
  EXPECT_EQ(summary.early_stopping_metric, "valid.mae");
}

TEST(BuiltinTrainerTest, TimeSplitOnIsoDates) {
  TempDir dir;
  trainer_testing::WriteSyntheticCsv(dir.Path("data.csv"), 560, trainer_testing::LabelKind::kSignal);
  TrainerJob job = trainer_testing::SyntheticJob(dir.Path("data.csv"));
  job.split.kind = SplitKind::kTime;
  job.split.time_column = "day";
  job.split.holdout_fraction = 0;
  job.split.validation_start_micros = 1705968000000000;  // 2024-01-23: days 23–28 validate
  TrainerSummary summary = Unwrap(RunBuiltinTrainer(job, dir.Path("out"), true));
  EXPECT_EQ(summary.validation_rows, 6 * 20);
  EXPECT_EQ(summary.train_rows, 22 * 20);
}

TEST(BuiltinTrainerTest, BadInputsGetClearErrors) {
  TempDir dir;
  trainer_testing::WriteText(dir.Path("data.csv"), "x,name,y\n1.5,a,1\n2.5,b,2\n3.5,,0\n");
  TrainerJob job = trainer_testing::SyntheticJob(dir.Path("data.csv"));
  job.features = {"x", "name"};
  EXPECT_EQ(RunBuiltinTrainer(job, dir.Path("out"), true).status().message(),
            "feature 'name' is a string column; the built-in trainer takes numbers and booleans");
  job.features = {"x"};
  EXPECT_EQ(RunBuiltinTrainer(job, dir.Path("out"), true).status().message(),
            "label 'y' is 2 in row 2; binary:logistic needs labels 0/1 or true/false");
  job.label = "delayed";
  EXPECT_EQ(RunBuiltinTrainer(job, dir.Path("out"), true).status().message(),
            "label 'delayed' is not a column of " + dir.Path("data.csv") + " (columns: x, name, y)");
  job.label = "name";
  EXPECT_EQ(RunBuiltinTrainer(job, dir.Path("out"), true).status().message(),
            "label 'name' is a string column; the built-in trainer takes numbers and booleans");
  job.label = "y";
  job.features = {"x", "missing"};
  EXPECT_EQ(RunBuiltinTrainer(job, dir.Path("out"), true).status().message(),
            "feature 'missing' is not a column of " + dir.Path("data.csv") + " (columns: x, name, y)");

  trainer_testing::WriteText(dir.Path("nulls.csv"), "x,y\n1,1\n2,\n3,0\n4,\n");
  job.data_file = dir.Path("nulls.csv");
  job.features = {"x"};
  EXPECT_EQ(RunBuiltinTrainer(job, dir.Path("out"), true).status().message(),
            "label 'y' is null in row 2 (2 rows in all); the built-in trainer needs a label on every row");
  EXPECT_FALSE(std::filesystem::exists(dir.Path("out")));  // nothing written on failure
}

}  // namespace
}  // namespace kiln::training
